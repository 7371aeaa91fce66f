"""Cast template: dynamic per-tensor scaling of one tensor into f8E4M3FN / f8E5M2 (or a
unit rescale that stays bf16), docs/scaled.md, NUMERICS.md §5.

Implements the IR sequence scalify emits in front of every FP8 matmul operand:

    %amax = scaled.amax %x : !scaled.tensor<MxNxbf16>                       (kernel 1)
    %r    = scaled.rescale %x, %amax {target = F8_MAX, margin = m} : ...     (host: the scale)
    %q    = scaled.cast %r : !scaled.tensor<MxNxbf16> -> !scaled.tensor<MxNxf8E4M3FN>  (kernel 2)

with the same numbers as the reference (runtime/backends/reference/scaled.py):

    amax  = fp32(max |x.data|) * fp32(x.scale)                      (NaN if any element is)
    s     = rescale_scale(amax, target, margin)                      (host, float64, exact)
    q     = round_to(fmt, x.data * fp32(x.scale / s))                (RNE, saturated to ±max)

**Flat.** Both kernels see the tensor as one flat array of ``n`` elements in its own memory
layout (the launcher makes a strided view contiguous first): amax, rescale and cast are
elementwise or a full reduction, so the shape does not matter, and a transpose in front of
the cast (the K-major operand of an FP8 gemm) needs no data movement at all: the caller
returns the permuted view of the output (lowering/codegen/cast.py).

**Where the scale is computed.** On the host: a ``KernelValue``'s scale is a host float
(lowering/codegen/abi.py), so reading the amax back (``float(amax)``, one device-to-host
sync per dynamic cast) is unavoidable, and `rescale_scale` then is the reference's own
function. Kernel 2 takes the data factor ``x.scale / s`` as an fp32 argument.

**The rescale's rounding.** The reference rounds ``data * ratio`` into the rescale's format
(bf16) and then the cast rounds that into f8. ``ratio`` is a power of two, so for bf16 data
the product is exactly a bf16 value unless it falls below 2^-126, where bf16 and f8 both
round it to a zero of its sign anyway (or overflows, where both saturate): one rounding
straight into the output format gives the same bits.

**The out-of-range path.** When ``x.scale / s`` is not a normal fp32 number (a scale is NaN
or infinite, or the ratio leaves 2^-126 ... 2^127) the reference goes through the value,
``(x.data * x.scale) / s`` with IEEE division; so does kernel 2 with ``DIRECT = False``.

**Saturation.** ``.to(tl.float8e4nv)`` / ``.to(tl.float8e5)`` from fp32 compile on sm_90 to
``cvt.rn.satfinite.e4m3x2.f32`` / ``cvt.rn.satfinite.e5m2x2.f32``: round to nearest even,
finite overflow and ±inf to ±max, NaN kept, which is ``round_to`` exactly
(tests/lowering/test_cast_cross_compile.py checks the PTX). No explicit clamp for fp8: a
``tl.minimum``/``tl.maximum`` clamp would turn NaN into ±max on the GPU (``min.f32``).
bf16 and f16 conversions (``cvt.rn``) overflow to ±inf where ``round_to`` saturates a
finite value: for those the kernel clamps finite values first (``CLAMP``), keeping NaN and
±inf. (Triton 3.9's CPU interpreter truncates instead: runtime/backends/triton/interpreter_patch.py.)
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from scalc.dialects.scaled.rules import rescale_scale

BLOCK = 1024
"""Elements per program of both kernels (the last program is masked)."""
NUM_WARPS = 4

FP8_MAX = {"f8E4M3FN": 448.0, "f8E5M2": 57344.0}
"""``scaled.F8_MAX``: the rescale target in front of a cast to each format."""
TORCH_DTYPE = {"f8E4M3FN": torch.float8_e4m3fn, "f8E5M2": torch.float8_e5m2}


# Implements: scaled.amax, in data units (the launcher multiplies by the scale): the
# NaN-propagating max |x| of each BLOCK slice.
@triton.jit
def amax_kernel(x_ptr, partial_ptr, n, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    block_max = tl.max(tl.abs(x), axis=0)
    # The GPU's max ignores NaN (max.f32); the reference's amax is NaN if any element is.
    has_nan = tl.max((x != x).to(tl.int32), axis=0)  # noqa: PLR0124
    block_max = tl.where(has_nan > 0, float("nan"), block_max)
    tl.store(partial_ptr + pid, block_max)


# Implements: scaled.rescale (data * x.scale / s, exact) and the cast of its result into
# out's type (RNE; saturating); with STATS, the cast's statistics of the same values.
@triton.jit
def rescale_cast_kernel(
    x_ptr,
    out_ptr,  # n elements each, x fp32 | bf16 | f16, out fp8 | bf16 | f16 | fp32
    stats_ptr,  # STATS: int32[6], zeroed: counts of NaN, inf, > FMT_MAX, zero, <= FLUSH_BELOW; amax bits
    n,
    ratio,  # x.scale / s, a normal fp32 power of two (DIRECT)
    in_scale,
    scale,  # x.scale and s, for the path through the value (not DIRECT)
    DIRECT: tl.constexpr,
    CLAMP: tl.constexpr,  # bf16 / f16 out: saturate finite values to ±OUT_MAX
    OUT_MAX: tl.constexpr,
    STATS: tl.constexpr,
    FMT_MAX: tl.constexpr,  # the output format's largest value and flush bound (STATS)
    FLUSH_BELOW: tl.constexpr,
    BLOCK: tl.constexpr,
):
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    if DIRECT:
        y = x * ratio  # a power of two: exact
    else:  # through the value, as the reference: (data * scale) / s, IEEE division
        y = tl.div_rn(x * in_scale, tl.zeros_like(x) + scale)
    if STATS:  # what the cast does to y, as formats.cast_stats counts it
        cast_stats_of(y, mask, stats_ptr, FMT_MAX, FLUSH_BELOW)
    if CLAMP:  # |y| < inf is false for NaN and ±inf, which the conversion keeps
        y = tl.where(tl.abs(y) < float("inf"), tl.clamp(y, -OUT_MAX, OUT_MAX), y)
    q = y.to(out_ptr.dtype.element_ty)  # sm_90 fp8: cvt.rn.satfinite.{e4m3,e5m2}x2.f32
    tl.store(out_ptr + offs, q, mask=mask)


@triton.jit
def cast_stats_of(y, mask, stats_ptr, FMT_MAX: tl.constexpr, FLUSH_BELOW: tl.constexpr):
    """Add this program's counts of the values ``y`` a cast rounds (NaN, infinite, beyond
    the format's max, zero, flushed to zero) to ``stats_ptr[0:5]`` and its NaN-propagating
    max |y| to ``stats_ptr[5]`` (as int32 bits: non-negative floats order as their bits,
    and a NaN's bits are above inf's)."""
    a = tl.abs(y)
    nan = (a != a) & mask  # noqa: PLR0124 (NaN test)
    tl.atomic_add(stats_ptr + 0, tl.sum(nan.to(tl.int32), axis=0))
    tl.atomic_add(stats_ptr + 1, tl.sum(((a == float("inf")) & mask).to(tl.int32), axis=0))
    tl.atomic_add(stats_ptr + 2, tl.sum(((a > FMT_MAX) & mask).to(tl.int32), axis=0))
    tl.atomic_add(stats_ptr + 3, tl.sum(((a == 0.0) & mask).to(tl.int32), axis=0))
    tl.atomic_add(stats_ptr + 4, tl.sum(((a <= FLUSH_BELOW) & mask).to(tl.int32), axis=0))
    top = tl.max(tl.where(mask, a, 0.0), axis=0)  # the GPU's max drops NaN: put it back
    top = tl.where(tl.max(nan.to(tl.int32), axis=0) > 0, float("nan"), top)
    tl.atomic_max(stats_ptr + 5, top.to(tl.int32, bitcast=True))


def amax_of(data: torch.Tensor, scale: float) -> torch.Tensor:
    """``scaled.amax`` of the contiguous ``data`` with ``scale``: ``max |data| * scale`` as a
    0-d fp32 tensor on data's device (NaN if an element is; 0 if there are none), no sync."""
    n = data.numel()
    grid = (max(triton.cdiv(n, BLOCK), 1),)
    partial = torch.empty(grid[0], dtype=torch.float32, device=data.device)
    amax_kernel[grid](data, partial, n, BLOCK=BLOCK, num_warps=NUM_WARPS)
    return partial.amax() * scale  # amax propagates NaN; * a power of two rounds as numpy


def rescale_cast(
    data: torch.Tensor,
    out: torch.Tensor,
    in_scale: float,
    scale: float,
    clamp: float = 0.0,
    stats: torch.Tensor | None = None,
    fmt_limits: tuple[float, float] = (0.0, 0.0),
) -> None:
    """Write ``round(data * in_scale / scale)`` into ``out`` (contiguous, ``data``'s shape),
    as ``scaled.rescale`` then ``scaled.cast``: ``clamp`` > 0 saturates finite values to
    ±clamp first (bf16 / f16 ``out``; fp8 conversions saturate themselves). With ``stats``
    (a zeroed int32[6] tensor), the kernel also counts what the cast does (`cast_stats_of`)
    against ``fmt_limits`` = (largest value, flush bound) of ``out``'s format; nothing is
    read back."""
    n = data.numel()
    finite = math.isfinite(in_scale) and math.isfinite(scale)
    ratio = in_scale / scale if finite else math.nan
    direct = 2.0**-126 <= ratio <= 2.0**127  # False for NaN
    grid = (max(triton.cdiv(n, BLOCK), 1),)
    rescale_cast_kernel[grid](
        data,
        out,
        out if stats is None else stats,  # not read without STATS
        n,
        ratio if direct else 1.0,
        in_scale,
        scale,
        DIRECT=direct,
        CLAMP=clamp > 0,
        OUT_MAX=clamp,
        STATS=stats is not None,
        FMT_MAX=fmt_limits[0],
        FLUSH_BELOW=fmt_limits[1],
        BLOCK=BLOCK,
        num_warps=NUM_WARPS,
    )


def update_history(history: torch.Tensor, amax: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``scaled.update_history`` on the device: ``ref = max(history)`` if it is positive
    (NaN is not) else ``amax``; the new history ``[amax, history[0], ..., history[-2]]``."""
    top = history.max()
    ref = torch.where(top > 0, top, amax)
    return ref, torch.cat([amax.reshape(1), history[:-1]])


def amax_rescale_cast(
    x: torch.Tensor, in_scale: float = 1.0, fmt: str = "f8E4M3FN", margin: int = 0
) -> tuple[torch.Tensor, float, float]:
    """``scaled.amax`` -> ``scaled.rescale {target = F8_MAX[fmt], margin}`` ->
    ``scaled.cast`` of the scaled tensor ``(x, in_scale)``; ``x`` fp32 or bf16, any shape
    and strides. Returns ``(data, scale, amax)``: ``data`` in ``fmt`` with ``x``'s shape
    (contiguous), the new scale and the amax as host floats (one sync, reading the amax)."""
    if x.dtype not in (torch.float32, torch.bfloat16):
        raise TypeError(f"expected an fp32 or bf16 tensor, got {x.dtype}")
    data = x.contiguous()
    amax = float(amax_of(data, in_scale))
    scale = rescale_scale(amax, FP8_MAX[fmt], margin)
    out = torch.empty(data.shape, dtype=TORCH_DTYPE[fmt], device=x.device)
    rescale_cast(data, out, in_scale, scale)
    return out, scale, amax
