"""Scale propagation rules, one per mirrored op: ``@scale_rule(scaled.XOp)``
(docs/scaled.md, "Scale rules"; NUMERICS.md §2-§3).

A scaled op computes ``value_out = nn_op(value_in...)`` in fp32 and stores it as
``data_out = value_out / scale_out``; the rule picks ``scale_out`` from the input scales
alone, so that ``data_out`` is near unit magnitude when the inputs' data are, and no
data-dependent work is needed (dynamic rescales correct the drift, NUMERICS.md §4).

A rule receives the op (for its properties: ``axes`` ...), one input scale per operand
(``None`` for an integer operand such as ``ids``) and the operands' concrete run-time
shapes, and returns one scale per result::

    SCALE_RULES[scaled.MatmulOp](op, [2.0**-3, 0.5], [(32, 784), (784, 256)])
    # -> (2.0**-3 * 0.5 * 32,): p(sqrt(784)) = p(28) = 32

Every scale is an exact power of two (the runtime's invariant, NUMERICS.md §2), so the
products and quotients below are exact and rescaling never rounds. Rules are pure and
cheap: the runtime calls one per op per step. As in Scalify the rules come in three
groups: exact scale arithmetic (the op is homogeneous in its inputs: the scale follows
exactly), L2 estimates (sums of independent unit-variance terms grow like sqrt of their
count) and non-homogeneous functions (evaluated on the value, scale 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from xdsl.ir import Operation

from scalc.dialects import scaled

Shape = tuple[int, ...]
Scales = Sequence[float | None]
Rule = Callable[[Any, Scales, Sequence[Shape]], tuple[float, ...]]
"""``rule(op, scales, shapes) -> one scale per result``; typed loosely (``Any`` op)
because each rule reads its own op class's properties."""

SCALE_RULES: dict[type[Operation], Rule] = {}
"""Scaled op class -> its scale rule. Filled when this module is imported."""

_R = TypeVar("_R", bound=Rule)

# float(sqrt(1/2)) is above the real number, so `m >= _SQRT_HALF` rounds a mantissa equal
# to it up: p(sqrt 2) = 2, the tie-break `pow2_sqrt` uses too.
_SQRT_HALF = math.sqrt(0.5)


class DuplicateScaleRuleError(ValueError):
    """An op class was given a second scale rule (a bug in scalc, not user input)."""


def scale_rule(*op_classes: type[Operation]) -> Callable[[_R], _R]:
    """Register the decorated function as the scale rule of each of ``op_classes``.

    Raises `DuplicateScaleRuleError` if one already has a rule, so two modules can never
    silently disagree about an op's scale.
    """

    def register(rule: _R) -> _R:
        for op_class in op_classes:
            if op_class in SCALE_RULES:
                existing = SCALE_RULES[op_class]
                raise DuplicateScaleRuleError(
                    f"{op_class.name} already has a scale rule: "
                    f"{existing.__module__}.{existing.__qualname__}"
                )
            SCALE_RULES[op_class] = rule
        return rule

    return register


# `rescale` keeps its scale a normal fp32 number: 2^-126 ... 2^127.
MIN_SCALE_EXP, MAX_SCALE_EXP = -126, 127


def rescale_scale(ref: float, target: float, margin: int) -> float:
    """``2^(ceil(log2(max(ref, 1e-30) / target)) + margin)``, exactly (from the binary
    exponent, no ``log2`` rounding), kept within the normal fp32 range; NaN for a NaN
    reference, inf for an infinite one."""
    if math.isnan(ref):
        return math.nan
    if math.isinf(ref):
        return math.inf
    q = max(ref, 1e-30) / target
    mantissa, exponent = math.frexp(q)  # q = mantissa * 2^exponent, mantissa in [1/2, 1)
    ceil_log2 = exponent - 1 if mantissa == 0.5 else exponent
    return math.ldexp(1.0, min(max(ceil_log2 + margin, MIN_SCALE_EXP), MAX_SCALE_EXP))


# ----------------------------------------------------------------------------- helpers
def pow2(x: float) -> float:
    """``p(x) = 2^round(log2 x)``, the power of two nearest ``x`` in log space (ties, which
    only a computed ``2^(k + 1/2)`` such as ``sqrt 2`` can hit, go up: the larger scale,
    the smaller data, the safe side for range).

    >>> pow2(3.0), pow2(2.5), pow2(0.3)
    (4.0, 2.0, 0.25)
    """
    if not x > 0.0 or x == math.inf:
        raise ValueError(f"a scale must be positive and finite, got {x!r}")
    mantissa, exponent = math.frexp(x)  # x = mantissa * 2^exponent, mantissa in [1/2, 1)
    return math.ldexp(1.0, exponent if mantissa >= _SQRT_HALF else exponent - 1)


def pow2_sqrt(x: float) -> float:
    """``p(sqrt x)``, computed exactly from the exponent of ``x`` (ties go up, as in `pow2`).

    With ``x = m * 2^e``, ``m`` in [1/2, 1), ``log2 sqrt x`` lies in ``[(e-1)/2, e/2)``,
    which rounds to ``floor(e / 2)``.

    >>> pow2_sqrt(784.0), pow2_sqrt(128.0), pow2_sqrt(2.0**-7)
    (32.0, 16.0, 0.125)
    """
    if not x > 0.0 or x == math.inf:
        raise ValueError(f"pow2_sqrt needs a positive finite number, got {x!r}")
    return math.ldexp(1.0, math.frexp(x)[1] >> 1)


def first_float_scale(op: Operation, scales: Scales) -> float:
    """The scale of the op's first float (scaled) operand."""
    for scale in scales:
        if scale is not None:
            return scale
    raise ValueError(f"{op.name} has no scaled operand, so its result has no scale")


def count(shape: Shape, axes: Sequence[int]) -> int:
    """The number of elements ``shape`` has along ``axes`` (at least 1: an empty reduction
    is all zeros, which any scale represents)."""
    return max(math.prod(shape[a] for a in axes), 1)


def rows(shape: Shape) -> int:
    """The number of rows of a last-axis op (layernorm): every axis but the last."""
    return max(math.prod(shape[:-1]), 1)


def _scale_of(scale: float | None) -> float:
    """An operand the op's contract makes float: a missing scale is our bug."""
    assert scale is not None, "a float operand of a scaled op has a scale"
    return scale


# ------------------------------------------------------------ exact scale arithmetic
# The value is homogeneous of degree 1 in the scaled operand (or a product/quotient of
# operands), so the data rule is the nn op on the data and the scale follows exactly
# (NUMERICS.md §3: "scale passes through", "scales multiply", "scales divide").


@scale_rule(
    scaled.NegOp,
    scaled.ReluOp,
    scaled.ReshapeOp,
    scaled.BroadcastOp,
    scaled.TransposeOp,
    scaled.SliceOp,
    scaled.IndexOp,
    scaled.EmbeddingOp,
    scaled.CausalMaskOp,
    scaled.MaxOp,
)
def scale_rule_pass_through(op: Operation, scales: Scales, shapes: Sequence[Shape]) -> tuple[float]:
    """``s_out = s_in`` of the first float operand (``embedding``: the table's; its ids
    have none). Sign flips, ``max(x, 0)``, moving, copying, gathering, masking to ``-inf``
    and taking maxima never change a value's magnitude, so the data needs no new scale."""
    return (first_float_scale(op, scales),)


@scale_rule(
    scaled.ReluGradOp,
    scaled.GeluGradOp,
    scaled.TanhGradOp,
    scaled.SigmoidGradOp,
    scaled.SoftmaxGradOp,
    scaled.CausalMaskGradOp,
    scaled.MaxGradOp,
    scaled.SliceGradOp,
    scaled.IndexGradOp,
    scaled.EmbeddingGradOp,
)
def scale_rule_grad_pass_through(
    op: Operation, scales: Scales, shapes: Sequence[Shape]
) -> tuple[float]:
    """``s_out = s_dy`` (``dy`` is the last operand of each). These gradients are ``dy``
    times a scale-free factor (a mask, ``gelu'``, ``1 - y^2``, a probability) or ``dy``
    moved into zeros, so ``dy``'s scale carries over."""
    return (_scale_of(scales[-1]),)


@scale_rule(scaled.MulOp)
def scale_rule_mul(op: Operation, scales: Scales, shapes: Sequence[Shape]) -> tuple[float]:
    """``s_out = s_a * s_b``: ``(da sa)(db sb) = (da db)(sa sb)``, exactly."""
    return (_scale_of(scales[0]) * _scale_of(scales[1]),)


@scale_rule(scaled.DivOp)
def scale_rule_div(op: Operation, scales: Scales, shapes: Sequence[Shape]) -> tuple[float]:
    """``s_out = s_a / s_b``: ``(da sa)/(db sb) = (da/db)(sa/sb)``, exactly."""
    return (_scale_of(scales[0]) / _scale_of(scales[1]),)


@scale_rule(scaled.SqrtOp)
def scale_rule_sqrt(op: Operation, scales: Scales, shapes: Sequence[Shape]) -> tuple[float]:
    """``s_out = p(sqrt s)``: ``sqrt(d s) = sqrt(d) sqrt(s)`` (sqrt of both parts); the
    scale is rounded to a power of two, the data takes the factor ``sqrt(s) / p(sqrt s)``
    in [1/sqrt 2, sqrt 2]."""
    return (pow2_sqrt(_scale_of(scales[0])),)


@scale_rule(scaled.SqrtGradOp)
def scale_rule_sqrt_grad(op: Operation, scales: Scales, shapes: Sequence[Shape]) -> tuple[float]:
    """``s_out = s_dy / s_y`` (operands ``y, dy``): ``dy / (2 y)`` is homogeneous of degree
    1 in ``dy`` and -1 in ``y``."""
    return (_scale_of(scales[1]) / _scale_of(scales[0]),)


@scale_rule(scaled.MeanGradOp)
def scale_rule_mean_grad(op: Any, scales: Scales, shapes: Sequence[Shape]) -> tuple[float]:
    """``s_out = s_dy / p(N)``, ``N`` the number of reduced elements: ``dy`` broadcast and
    divided by ``N``; the data takes ``p(N) / N`` in [1/sqrt 2, sqrt 2].

    ``N`` is the product of the result's sizes (``dims``) on ``axes``; ``dy`` has 1 there,
    so no operand shape tells a symbolic size: only the static factor of ``N`` is used
    (``B`` counts 1, ``4*B`` counts 4). The data then keeps the ``1/B``: a small value,
    which bf16 holds without loss and the next fp8 cast rescales away.
    """
    dims = op.dims.dims
    static = math.prod(dims[a].coeff for a in op.axes.get_values())
    return (_scale_of(scales[0]) / pow2(max(static, 1)),)


@scale_rule(scaled.CrossEntropyGradOp)
def scale_rule_cross_entropy_grad(
    op: Operation, scales: Scales, shapes: Sequence[Shape]
) -> tuple[float]:
    """``s_out = s_dloss / p(N)``, ``N`` the positions (elements of ``labels``): the value
    is ``dloss * (softmax - onehot) / N``: every entry is within ``|dloss| / N`` and each
    row's L2 norm is about ``|dloss| / N`` (the label's entry dominates)."""
    return (_scale_of(scales[2]) / pow2(max(math.prod(shapes[1]), 1)),)


# ----------------------------------------------------------------------- L2 estimates
# A sum of n independent unit-variance terms has variance n: dividing its data by
# p(sqrt n) keeps unit variance, with an exact power-of-two scale (the unit-scaling rule,
# NUMERICS.md §3). Correlated terms drift from it; dynamic rescales correct that (§4).


@scale_rule(scaled.MatmulOp)
def scale_rule_matmul(op: Operation, scales: Scales, shapes: Sequence[Shape]) -> tuple[float]:
    """``s_out = s_a * s_b * p(sqrt K)``, ``K`` the contracting size (``lhs``'s last axis):
    each output is a sum of ``K`` products of unit-variance data."""
    k = max(shapes[0][-1], 1)
    return (_scale_of(scales[0]) * _scale_of(scales[1]) * pow2_sqrt(k),)


@scale_rule(scaled.AddOp, scaled.SubOp)
def scale_rule_add(op: Operation, scales: Scales, shapes: Sequence[Shape]) -> tuple[float]:
    """``s_out = p(max * sqrt(1 + (min/max)^2))`` of the two scales, i.e. ``p(sqrt(sa^2 +
    sb^2))``: the standard deviation of ``da sa ± db sb`` for independent unit ``da, db``
    (written with the ratio so that it neither overflows nor underflows)."""
    a, b = _scale_of(scales[0]), _scale_of(scales[1])
    hi, lo = max(a, b), min(a, b)
    return (pow2(hi * math.sqrt(1.0 + (lo / hi) ** 2)),)


@scale_rule(scaled.SumOp)
def scale_rule_sum(op: Any, scales: Scales, shapes: Sequence[Shape]) -> tuple[float]:
    """``s_out = s * p(sqrt N)``, ``N`` the number of elements summed into each output."""
    n = count(shapes[0], op.axes.get_values())
    return (_scale_of(scales[0]) * pow2_sqrt(n),)


@scale_rule(scaled.MeanOp)
def scale_rule_mean(op: Any, scales: Scales, shapes: Sequence[Shape]) -> tuple[float]:
    """``s_out = s * p(sqrt N) / p(N)``: the sum rule, then the division by ``N`` moved
    into the scale (rounded; the data takes ``p(N) / N`` in [1/sqrt 2, sqrt 2])."""
    n = count(shapes[0], op.axes.get_values())
    return (_scale_of(scales[0]) * pow2_sqrt(n) / pow2(n),)


@scale_rule(scaled.LayerNormGradOp)
def scale_rule_layernorm_grad(
    op: Operation, scales: Scales, shapes: Sequence[Shape]
) -> tuple[float, float, float]:
    """``dx: s_dy * s_gamma / s_x``; ``dgamma``, ``dbeta``: ``s_dy * p(sqrt rows)``
    (operands ``x, gamma, dy``).

    ``dx = gamma / sigma * (dy - ...)`` and the normalisation divides by the input's
    spread ``sigma``, about ``s_x`` for unit data; ``dgamma = sum(dy * xhat)`` and
    ``dbeta = sum(dy)`` add one unit-variance term per row (an L2 estimate).
    """
    s_x, s_gamma, s_dy = _scale_of(scales[0]), _scale_of(scales[1]), _scale_of(scales[2])
    s_params = s_dy * pow2_sqrt(rows(shapes[0]))
    return (s_dy * s_gamma / s_x, s_params, s_params)


# ---------------------------------------------------------------- non-homogeneous
# f(d s) is not a function of d times a function of s: the op evaluates on the unscaled
# value in fp32 and its result gets scale 1 (NUMERICS.md §3). The results are bounded or
# near unit by construction: tanh, sigmoid, softmax in [-1, 1]; layernorm unit variance;
# gelu about its input; exp, log and the loss (~ln V) small for unit-sized inputs.
# Constants carry their value in the data likewise.


@scale_rule(
    scaled.ExpOp,
    scaled.LogOp,
    scaled.TanhOp,
    scaled.SigmoidOp,
    scaled.GeluOp,
    scaled.SoftmaxOp,
    scaled.LayerNormOp,
    scaled.CrossEntropyOp,
    scaled.ConstantOp,
)
def scale_rule_non_homogeneous(
    op: Operation, scales: Scales, shapes: Sequence[Shape]
) -> tuple[float]:
    """``s_out = 1``: the function has no scale to carry (its value is the data); a
    constant (``scaled.constant``, no operands) is its own data too."""
    return (1.0,)
