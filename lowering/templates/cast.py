"""FP8 cast template: dynamic per-tensor scaling of one tensor into f8E4M3FN / f8E5M2
(docs/scaled.md, NUMERICS.md §5), optionally writing the transposed (K-major) copy.

Implements the IR sequence scalify emits in front of every FP8 matmul operand:

    %amax = scaled.amax %x : !scaled.tensor<MxNxbf16>                       (pass 1)
    %r    = scaled.rescale %x, %amax {target = F8_MAX, margin = m} : ...     (pass 2)
    %q    = scaled.cast %r : !scaled.tensor<MxNxbf16> -> !scaled.tensor<MxNxf8E4M3FN>

with the same numbers as the reference (runtime/backends/reference/scaled.py):

    amax  = max |x.data| * x.scale                                   (fp32)
    s     = 2^(ceil(log2(max(amax, 1e-30) / target)) + margin)      (exponent clamped to [-126, 127])
    q     = round_to(fmt, x.data * (x.scale / s))                    (RNE, saturated to ±max)

The rescale's intermediate rounding into x's own format is the identity: ``x.scale / s``
is a power of two, so ``data * ratio`` is exact in bf16/fp32 (bf16 has fp32's exponent range).

Two kernels, three launches, no host synchronisation:
1. `amax_kernel`: each program writes ``max |x.data|`` of its tile (NaN if the tile holds
   a NaN) to one fp32 slot; ``torch.amax`` over the slots reduces them on the device.
2. `rescale_cast_kernel`: every program reads the reduced amax and the input scale and
   computes ``s`` itself (a few scalar integer ops, redundant across programs but free next
   to the tile), multiplies its tile by ``x.scale / s`` and converts with ``.to(fp8)``;
   program 0 also stores ``s``.

**Where the scale is computed, and how.** On the device, from the exponent bits, not on
the host: a host-side scale would need ``amax.item()``, a device-to-host sync per cast,
which stalls the stream and breaks CUDA-graph capture. And not with ``log2``/``ceil`` in
fp32, which can misround at powers of two. With ``ref = 2^E_r * 1.m_r`` and ``target =
2^E_t * 1.m_t`` (both normal fp32), ``ref / target = 2^(E_r - E_t) * (1.m_r / 1.m_t)``
with the last factor in (1/2, 2), so

    ceil(log2(ref / target)) = E_r - E_t + (m_r > m_t)        (mantissa fields compared as integers)

exactly. ``target``'s exponent and mantissa are split on the host (constexprs); so is
the floor's exponent ``ceil(log2(1e-30 / target))`` (in float64 like the reference), used
when ``ref < 1e-30`` (an all-zero tensor gets a finite scale). A NaN reference gives scale
NaN and an infinite one scale inf, as the reference; the data then goes through
``(x.data * x.scale) / s`` (NaN, or 0 for finite values), as does any case where
``x.scale / s`` leaves fp32's normal range (never with scales from this pipeline).

**Saturation.** ``.to(tl.float8e4nv)`` / ``.to(tl.float8e5)`` from fp32 compile on sm_90 to
``cvt.rn.satfinite.e4m3x2.f32`` / ``cvt.rn.satfinite.e5m2x2.f32``: round to nearest even,
finite overflow and ±inf to ±max, NaN kept, which is ``round_to`` exactly
(tests/lowering/test_cast_cross_compile.py checks the PTX). No explicit clamp: a
``tl.minimum``/``tl.maximum`` clamp would turn NaN into ±max on the GPU (``min.f32``).
(Triton 3.9's CPU interpreter truncates instead: runtime/backends/triton/interpreter_patch.py.)

**Transpose.** With ``transpose=True`` the output is the (N, M) contiguous array holding
``qᵀ``: for a GEMM's B operand (K, N) that is the K-major (N, K) copy Hopper's FP8
``wgmma`` wants (lowering/templates/gemm.py takes it as ``b_q_t``). The kernel loads a row-
major tile and stores it through swapped strides; on the GPU Triton converts the layout
through shared memory so both the load and the store are coalesced.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import torch
import triton
import triton.language as tl

FLOOR = 1e-30
"""The reference floor on the amax (docs/scaled.md ``scaled.rescale``)."""
MIN_EXP, MAX_EXP = -126, 127
"""The scale's exponent stays in fp32's normal range (the reference clamps likewise)."""


@dataclass(frozen=True)
class Fp8Format:
    name: str  # the IR spelling
    torch_dtype: torch.dtype
    triton_dtype: object
    max: float  # scaled.F8_MAX: the rescale target


FP8_FORMATS = {
    "f8E4M3FN": Fp8Format("f8E4M3FN", torch.float8_e4m3fn, tl.float8e4nv, 448.0),
    "f8E5M2": Fp8Format("f8E5M2", torch.float8_e5m2, tl.float8e5, 57344.0),
}


def split_fp32(x: float) -> tuple[int, int]:
    """(unbiased exponent, 23-bit mantissa field) of a normal fp32 number."""
    bits = struct.unpack("<I", struct.pack("<f", x))[0]
    exponent = (bits >> 23) & 0xFF
    if not 0 < exponent < 255:
        raise ValueError(f"{x} is not a normal fp32 number")
    return exponent - 127, bits & 0x7FFFFF


def ceil_log2(q: float) -> int:
    """``ceil(log2(q))`` exactly for a positive float64 (from ``frexp``, as the reference)."""
    mantissa, exponent = math.frexp(q)
    return exponent - 1 if mantissa == 0.5 else exponent


# Implements: scaled.amax (in data units; the cast kernel multiplies by x.scale).
@triton.jit
def amax_kernel(
    x_ptr,
    partial_ptr,  # x (M, N) fp32 | bf16; one fp32 per program
    M,
    N,
    stride_xm,
    stride_xn,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    mask = (offs_m[:, None] < M) & (offs_n[None, :] < N)
    x = tl.load(
        x_ptr + offs_m[:, None] * stride_xm + offs_n[None, :] * stride_xn, mask=mask, other=0.0
    )
    x = x.to(tl.float32)
    tile_max = tl.max(tl.max(tl.abs(x), axis=1), axis=0)
    # The GPU's max ignores NaN (max.f32); the reference's amax is NaN if any element is.
    has_nan = tl.max(tl.max((x != x).to(tl.int32), axis=1), axis=0)  # noqa: PLR0124
    tile_max = tl.where(has_nan > 0, float("nan"), tile_max)
    tl.store(partial_ptr + pid_m * tl.num_programs(1) + pid_n, tile_max)


# Implements: scaled.rescale {target = F8_MAX, margin} + scaled.cast to f8E4M3FN | f8E5M2,
# optionally storing the transpose.
@triton.jit
def rescale_cast_kernel(
    x_ptr,
    out_ptr,  # x (M, N) fp32 | bf16; out fp8, (M, N) or (N, M) by the strides
    amax_ptr,  # 0-d fp32: max |x.data| (data units)
    in_scale_ptr,  # 0-d fp32: x.scale (a power of two)
    scale_out_ptr,  # 0-d fp32: the new scale s (written by program 0)
    M,
    N,
    stride_xm,
    stride_xn,
    stride_om,
    stride_on,  # out[m, n] at out_ptr + m * stride_om + n * stride_on
    TARGET_EXP: tl.constexpr,
    TARGET_MANT: tl.constexpr,  # target = 2^TARGET_EXP * 1.TARGET_MANT
    FLOOR_EXP: tl.constexpr,  # ceil(log2(1e-30 / target)), float64 as the reference
    MARGIN: tl.constexpr,
    OUT_DTYPE: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    # --- The new scale s = 2^(ceil(log2(max(ref, 1e-30) / target)) + margin), exactly. ---
    in_scale = tl.load(in_scale_ptr)
    ref = tl.load(amax_ptr) * in_scale  # scaled.amax: max |data| * scale, in fp32
    ref_bits = ref.to(tl.int32, bitcast=True)
    ref_exp = ((ref_bits >> 23) & 0xFF) - 127
    ref_mant = ref_bits & 0x7FFFFF
    e = ref_exp - TARGET_EXP + (ref_mant > TARGET_MANT).to(tl.int32)
    e = tl.where(ref < 1e-30, FLOOR_EXP, e)  # fp32 ref < fp32(1e-30) <=> ref < 1e-30 exactly
    e = tl.minimum(tl.maximum(e + MARGIN, -126), 127)
    finite = (ref == ref) & (tl.abs(ref) != float("inf"))  # noqa: PLR0124
    s = tl.where(finite, ((e + 127) << 23).to(tl.float32, bitcast=True), ref)  # NaN / inf kept

    # Data factor x.scale / s, a power of two: from the exponents when it is a normal fp32.
    in_exp = ((in_scale.to(tl.int32, bitcast=True) >> 23) & 0xFF) - 127
    ratio_exp = in_exp - e
    direct = finite & (ratio_exp >= -126) & (ratio_exp <= 127)
    ratio = ((tl.where(direct, ratio_exp, 0) + 127) << 23).to(tl.float32, bitcast=True)

    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    if pid_m == 0 and pid_n == 0:
        tl.store(scale_out_ptr, s)

    # --- The tile: rescale (exact multiply) and cast (RNE, saturating). ---
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    mask = (offs_m[:, None] < M) & (offs_n[None, :] < N)
    x = tl.load(
        x_ptr + offs_m[:, None] * stride_xm + offs_n[None, :] * stride_xn, mask=mask, other=0.0
    )
    x = x.to(tl.float32)
    if direct:
        y = x * ratio
    else:  # through the value, as the reference: (data * scale) / s, IEEE division
        y = tl.div_rn(x * in_scale, tl.zeros_like(x) + s)
    q = y.to(OUT_DTYPE)  # sm_90: cvt.rn.satfinite.{e4m3,e5m2}x2.f32
    tl.store(out_ptr + offs_m[:, None] * stride_om + offs_n[None, :] * stride_on, q, mask=mask)


@dataclass(frozen=True)
class CastConfig:
    BLOCK_M: int = 64
    BLOCK_N: int = 64
    num_warps: int = 4


def fp8_constexprs(fmt: Fp8Format, margin: int) -> dict:
    """The rescale's constants as the kernel takes them."""
    target_exp, target_mant = split_fp32(fmt.max)
    return {
        "TARGET_EXP": target_exp,
        "TARGET_MANT": target_mant,
        "FLOOR_EXP": ceil_log2(FLOOR / fmt.max),
        "MARGIN": margin,
        "OUT_DTYPE": fmt.triton_dtype,
    }


def amax_rescale_cast(
    x: torch.Tensor,
    in_scale: float | torch.Tensor = 1.0,
    fmt: str = "f8E4M3FN",
    transpose: bool = False,
    margin: int = 0,
    config: CastConfig | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``scaled.amax`` -> ``scaled.rescale {target = F8_MAX[fmt], margin}`` -> ``scaled.cast``
    of the scaled tensor ``(x, in_scale)``; ``x`` 2-D fp32 or bf16, any strides.

    Returns ``(data, scale, amax)``: ``data`` in ``fmt``, (M, N) or, with ``transpose``,
    the contiguous (N, M) ``dataᵀ``; ``scale`` the new scale and ``amax`` the value's amax
    (``max |x| * in_scale``), both 0-d fp32 tensors on ``x``'s device (no host sync)."""
    if x.dim() != 2 or x.dtype not in (torch.float32, torch.bfloat16):
        raise TypeError(f"expected a 2-D fp32 or bf16 tensor, got {x.dtype} {tuple(x.shape)}")
    f = FP8_FORMATS[fmt]
    config = config or CastConfig()
    M, N = x.shape
    grid = (triton.cdiv(M, config.BLOCK_M), triton.cdiv(N, config.BLOCK_N))
    partial = torch.empty(grid[0] * grid[1], dtype=torch.float32, device=x.device)
    amax_kernel[grid](
        x,
        partial,
        M,
        N,
        x.stride(0),
        x.stride(1),
        BLOCK_M=config.BLOCK_M,
        BLOCK_N=config.BLOCK_N,
        num_warps=config.num_warps,
    )
    amax_data = partial.amax()  # on the device; NaN propagates
    if not isinstance(in_scale, torch.Tensor):
        in_scale = torch.tensor(float(in_scale), dtype=torch.float32, device=x.device)
    in_scale = in_scale.to(torch.float32).reshape(())
    out = torch.empty((N, M) if transpose else (M, N), dtype=f.torch_dtype, device=x.device)
    stride_om, stride_on = (out.stride(1), out.stride(0)) if transpose else out.stride()
    scale = torch.empty((), dtype=torch.float32, device=x.device)
    rescale_cast_kernel[grid](
        x,
        out,
        amax_data,
        in_scale,
        scale,
        M,
        N,
        x.stride(0),
        x.stride(1),
        stride_om,
        stride_on,
        **fp8_constexprs(f, margin),
        BLOCK_M=config.BLOCK_M,
        BLOCK_N=config.BLOCK_N,
        num_warps=config.num_warps,
    )
    return out, scale, amax_data * in_scale
