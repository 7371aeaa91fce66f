"""FP8 GEMM template: ``scaled.matmul`` with FP8 operands (docs/scaled.md, NUMERICS.md §5).

The IR op ``%c = scaled.matmul %a, %b`` computes, in fp32,

    value_out = (A.data * sA) @ (B.data * sB)
    scale_out = sA * sB * p(sqrt(K))
    data_out  = round_to(out_type, value_out / scale_out)

All three scales are powers of two, so ``value_out / scale_out = (A.data @ B.data) * alpha``
with ``alpha = sA * sB / scale_out``: the kernel multiplies FP8 data in the tensor cores with
fp32 accumulation and applies ``alpha`` once in the epilogue (exact unless the product
leaves fp32's range).

Layout: B arrives **K-major**, as an (N, K) array holding Bᵀ, so both operands are
contiguous along K, which Hopper's FP8 ``wgmma`` requires (NUMERICS.md §5: the producing
cast writes the transposed copy).

Output: fp32 ``data_out`` before its final rounding; the host rounds it to the result
format. (Under ``TRITON_INTERPRET=1`` Triton 3.9 truncates fp32 -> bf16 instead of
rounding to nearest even, so a fused bf16 store could not be checked on CPU; a later change
fuses it on GPU.) Because ``round_to`` is monotone, ``max|round_to(out)| =
round_to(max|out|)``: the fused amax of the fp32 result gives the amax of the rounded one.

Optional fused amax: each program writes ``max |out|`` over its tile to one fp32 slot;
the host takes the max of the slots (data units: multiply by ``scale_out`` for the value's
amax that the next dynamic scale reads).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import triton
import triton.language as tl

FP8_DTYPES = (torch.float8_e4m3fn, torch.float8_e5m2)


@dataclass(frozen=True)
class GemmConfig:
    """One tile shape and its launch parameters."""

    BLOCK_M: int
    BLOCK_N: int
    BLOCK_K: int
    GROUP_M: int
    num_warps: int
    num_stages: int


# Largest first; `pick_config` takes the first whose tile the problem fills.
CONFIGS: tuple[GemmConfig, ...] = (
    GemmConfig(BLOCK_M=128, BLOCK_N=128, BLOCK_K=64, GROUP_M=8, num_warps=8, num_stages=3),
    GemmConfig(BLOCK_M=64, BLOCK_N=64, BLOCK_K=64, GROUP_M=8, num_warps=4, num_stages=4),
)


def pick_config(M: int, N: int, K: int) -> GemmConfig:
    """The largest config whose output tile fits inside M x N and whose K step fits in K;
    the smallest config otherwise (masks cover the ragged edges)."""
    for config in CONFIGS:
        if config.BLOCK_M <= M and config.BLOCK_N <= N and config.BLOCK_K <= K:
            return config
    return CONFIGS[-1]


# Implements: scaled.matmul (f8E4M3FN x f8E4M3FN | f8E4M3FN x f8E5M2 -> fp32 data_out),
# with an optional fused amax of |data_out| (feeds the next scaled.amax / dynamic scale).
@triton.jit
def scaled_matmul_kernel(
    # A (M, K) fp8; Bᵀ (N, K) fp8, K-major; out (M, N) fp32; amax: one fp32 per program
    a_ptr, b_ptr, out_ptr, amax_ptr,
    alpha,  # fp32: sA * sB / scale_out
    M, N, K,
    stride_am, stride_ak,
    stride_bn, stride_bk,
    stride_om, stride_on,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
    GROUP_M: tl.constexpr,
    WRITE_AMAX: tl.constexpr,
):
    # Program id -> output tile, grouped along M so neighbouring programs share B tiles in L2.
    pid = tl.program_id(axis=0)
    num_pid_m = tl.cdiv(M, BLOCK_M)
    num_pid_n = tl.cdiv(N, BLOCK_N)
    num_pid_in_group = GROUP_M * num_pid_n
    group_id = pid // num_pid_in_group
    first_pid_m = group_id * GROUP_M
    group_size_m = min(num_pid_m - first_pid_m, GROUP_M)
    pid_m = first_pid_m + ((pid % num_pid_in_group) % group_size_m)
    pid_n = (pid % num_pid_in_group) // group_size_m

    # Block offsets. Rows and columns past M, N wrap around (their results are never
    # stored), so the loads in the loop only need the K mask.
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_am = offs_m % M
    offs_bn = offs_n % N
    offs_k = tl.arange(0, BLOCK_K)
    # A tile (BLOCK_M, BLOCK_K); B tile (BLOCK_K, BLOCK_N) read from Bᵀ, contiguous along K.
    a_ptrs = a_ptr + offs_am[:, None] * stride_am + offs_k[None, :] * stride_ak
    b_ptrs = b_ptr + offs_k[:, None] * stride_bk + offs_bn[None, :] * stride_bn

    # Main loop: FP8 x FP8 products accumulated in fp32.
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k in range(tl.cdiv(K, BLOCK_K)):
        k_left = K - k * BLOCK_K
        a = tl.load(a_ptrs, mask=offs_k[None, :] < k_left, other=0.0)
        b = tl.load(b_ptrs, mask=offs_k[:, None] < k_left, other=0.0)
        acc = tl.dot(a, b, acc)
        a_ptrs += BLOCK_K * stride_ak
        b_ptrs += BLOCK_K * stride_bk

    # Epilogue: one multiply by the combined scale, the tile's amax, a masked store.
    out = acc * alpha
    mask = (offs_m[:, None] < M) & (offs_n[None, :] < N)
    if WRITE_AMAX:
        tile_amax = tl.max(tl.max(tl.where(mask, tl.abs(out), 0.0), axis=1), axis=0)
        tl.store(amax_ptr + pid, tile_amax)
    out_ptrs = out_ptr + offs_m[:, None] * stride_om + offs_n[None, :] * stride_on
    tl.store(out_ptrs, out, mask=mask)


def scaled_matmul(
    a_q: torch.Tensor,
    b_q_t: torch.Tensor,
    alpha: float,
    amax: bool = True,
    config: GemmConfig | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(a_q @ b_q_t.T) * alpha`` in fp32, and ``max |out|`` (0-d fp32) when ``amax``.

    ``a_q``: (M, K) ``float8_e4m3fn``; ``b_q_t``: (N, K), Bᵀ, ``float8_e4m3fn`` or
    ``float8_e5m2``, K-contiguous; ``alpha = sA * sB / scale_out``."""
    if a_q.dtype != torch.float8_e4m3fn or b_q_t.dtype not in FP8_DTYPES:
        raise TypeError(f"FP8 GEMM takes e4m3 x (e4m3 | e5m2), got {a_q.dtype} x {b_q_t.dtype}")
    (M, K), (N, K_b) = a_q.shape, b_q_t.shape
    if K != K_b:
        raise ValueError(f"contracting dims differ: A is {M}x{K}, Bᵀ is {N}x{K_b}")
    if a_q.stride(1) != 1 or b_q_t.stride(1) != 1:
        raise ValueError("both operands must be K-major (contiguous along K)")
    config = config or pick_config(M, N, K)
    grid = triton.cdiv(M, config.BLOCK_M) * triton.cdiv(N, config.BLOCK_N)
    out = torch.empty((M, N), dtype=torch.float32, device=a_q.device)
    tile_amax = torch.empty((grid,), dtype=torch.float32, device=a_q.device)
    scaled_matmul_kernel[(grid,)](
        a_q, b_q_t, out, tile_amax,
        float(alpha),
        M, N, K,
        a_q.stride(0), a_q.stride(1),
        b_q_t.stride(0), b_q_t.stride(1),
        out.stride(0), out.stride(1),
        BLOCK_M=config.BLOCK_M, BLOCK_N=config.BLOCK_N, BLOCK_K=config.BLOCK_K,
        GROUP_M=config.GROUP_M,
        WRITE_AMAX=amax,
        num_warps=config.num_warps, num_stages=config.num_stages,
    )
    return out, (tile_amax.max() if amax else None)
