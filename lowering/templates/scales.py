"""Scale arithmetic on the device: ``@triton.jit`` helpers that compute a scaled op's result
scale inside the kernel that makes the result, from its input scales (loaded from device
buffers), bit for bit as the reference's rules do on the host (dialects/scaled/rules.py,
NUMERICS.md §2-§5). lowering/codegen/scales.py writes the expressions that call them, one
per op, with every static factor (``p(sqrt K)`` for a static ``K``) folded into a literal.

Every helper works on fp64 values, as the reference's rules work on Python floats, and
rounds nothing itself: the generated code rounds each op's scale to fp32 (`fp32`), where the
reference's ``ScaledArray`` does. The helpers read exponents from the bits (no ``log2``,
whose rounding the host and the GPU need not share), so the results are exact:

- `pow2`: ``p(x) = 2^round(log2 x)``, ties up (``rules.pow2``);
- `pow2_sqrt`: ``p(sqrt x)`` from the exponent (``rules.pow2_sqrt``);
- `rescale_scale`: ``2^(ceil(log2(max(ref, 1e-30) / target)) + margin)`` kept in fp32's
  normal range, NaN for NaN, inf for inf (``rules.rescale_scale``);
- `add_scale`: ``p(hi * sqrt(1 + (lo/hi)^2))`` (``rules.scale_rule_add``), with fp64's
  correctly rounded ``sqrt`` and division, as Python's;
- `valid`, `pick`, `div`, `f64`, `count1`: the guards and conversions the expressions use.

A bad operand (NaN, inf, zero or negative: the helpers never raise) gives NaN, as
``abi.result_scales`` does; `pick(valid(a) & ..., value, NAN)` says so in the expressions.
fp64 arguments only (a scale is fp32 in memory: ``.to(tl.float64)`` first); the inputs are
never fp64 subnormals (a product of fp32 scales is at least ``2^-298``).
tests/lowering/test_device_scales.py runs each helper under the interpreter against the
host functions, and each generated expression against ``SCALE_RULES``.
"""

from __future__ import annotations

import triton
import triton.language as tl

# fp64 bit patterns (a float literal in a jit function is fp32); jit functions read only
# constexpr globals.
_SQRT2_BITS = tl.constexpr(0x3FF6A09E667F3BCD)  # 2 * float(sqrt(0.5)): p(x)'s tie (rules.pow2)
_TINY_BITS = tl.constexpr(0x39B4484BFEEBC2A0)  # float(1e-30): rescale_scale's amax floor
_FRACTION = tl.constexpr(0xFFFFFFFFFFFFF)
_ONE_BITS = tl.constexpr(0x3FF0000000000000)


@triton.jit
def f64(x):
    """An integer size (or an fp32 value) as fp64, exactly."""
    return x.to(tl.float64)


@triton.jit
def fp32(x):
    """An fp64 scale rounded to the fp32 the scale buffers hold (RNE; overflow to inf)."""
    return x.to(tl.float32).to(tl.float64)


@triton.jit
def valid(s):
    """A scale the rules accept: positive and finite."""
    return (s > 0) & (s < float("inf"))


@triton.jit
def pick(condition, a, b):
    return tl.where(condition, a, b)


@triton.jit
def div(a, b):
    """``a / b`` in fp64 (IEEE, correctly rounded)."""
    return a / b


@triton.jit
def count1(n):
    """``max(n, 1)``: an empty reduction counts one element (``rules.count``)."""
    return tl.maximum(n, 1)


@triton.jit
def _exponent(x):
    """The unbiased binary exponent ``e`` of a positive normal fp64 ``x = 1.f * 2^e``."""
    return ((x.to(tl.int64, bitcast=True) >> 52) & 0x7FF) - 1023


@triton.jit
def _exp2i(k):
    """``2^k`` as fp64 for an integer ``k`` in ``[-1022, 1023]``."""
    return ((k + 1023) << 52).to(tl.float64, bitcast=True)


@triton.jit
def pow2(x):
    """``2^round(log2 x)`` (ties up), NaN unless ``0 < x < inf``."""
    bits = x.to(tl.int64, bitcast=True)
    e = _exponent(x)
    mantissa = ((bits & _FRACTION) | _ONE_BITS).to(tl.float64, bitcast=True)  # in [1, 2)
    sqrt2 = tl.full(x.shape, _SQRT2_BITS, tl.int64).to(tl.float64, bitcast=True)
    out = _exp2i(tl.where(mantissa >= sqrt2, e + 1, e))
    return tl.where(valid(x), out, float("nan"))


@triton.jit
def pow2_sqrt(x):
    """``p(sqrt x) = 2^floor((e + 1) / 2)`` for ``x = 1.f * 2^e``; NaN unless valid."""
    out = _exp2i((_exponent(x) + 1) >> 1)
    return tl.where(valid(x), out, float("nan"))


@triton.jit
def rescale_scale(ref, target, margin):
    """The power of two a dynamic rescale (or an FP8 cast) gives ``ref`` (an amax or a
    history's max) for a format of largest value ``target``, kept in 2^-126 ... 2^127."""
    tiny = tl.full(ref.shape, _TINY_BITS, tl.int64).to(tl.float64, bitcast=True)
    q = tl.maximum(ref, tiny) / target
    bits = q.to(tl.int64, bitcast=True)
    e = _exponent(q)
    ceil_log2 = tl.where((bits & _FRACTION) == 0, e, e + 1)
    k = tl.minimum(tl.maximum(ceil_log2 + margin, -126), 127)
    out = tl.where(tl.abs(ref) == float("inf"), float("inf"), _exp2i(k))  # as the host: ±inf
    return tl.where(ref != ref, float("nan"), out)  # noqa: PLR0124 (NaN test)


@triton.jit
def add_scale(a, b):
    """The scale of ``a ± b``: ``p(sqrt(a^2 + b^2))`` written with the ratio."""
    hi = tl.maximum(a, b)
    lo = tl.minimum(a, b)
    ratio = lo / hi
    return pow2(hi * tl.sqrt(1.0 + ratio * ratio))
