"""GEMM template: the pieces every generated gemm kernel is built from (lowering/codegen/gemm.py),
and the plain FP8 ``scaled.matmul`` kernel they are checked with (docs/scaled.md, NUMERICS.md §5).

The IR op ``%c = scaled.matmul %a, %b`` computes, in fp32,

    value_out = (A.data * sA) @ (B.data * sB)
    scale_out = sA * sB * p(sqrt(K))
    data_out  = round_to(out_type, value_out / scale_out)

All three scales are powers of two, so ``value_out / scale_out = (A.data @ B.data) * alpha``
with ``alpha = sA * sB / scale_out``: the kernel multiplies the low-precision data in the
tensor cores with fp32 accumulation and applies ``alpha`` once in the epilogue (exact unless
the product leaves fp32's range).

Pieces (``lowering.codegen.template_function`` copies their source text into each generated
module, so the generated kernels run exactly the code these tests check):
- `grouped_tile`: program id -> output tile, grouped along M (the Triton tutorial's L2 order);
- `matmul_tile`: the K loop, ``acc += A[offs_m, k] @ B[k, offs_n]`` in fp32, any strides;
- `abs_max_bits`: a tile's ``max |x|`` as int32 bits, for the fused ``scaled.amax``;
- `gemm_configs` / `pick_config`: block sizes and launch parameters by operand width;
- `gemm_geometry`: M, the batch and every tensor's strides of one launch (host side).

Layout: any strides. Hopper's FP8 ``wgmma`` wants both operands K-major (NUMERICS.md §5:
the producing cast writes the transposed copy); an N-major FP8 B still compiles to FP8
``wgmma`` (tests/lowering/test_gemm_cross_compile.py). ``scaled_matmul`` below takes B as
Bᵀ, an (N, K) array, to check the K-major form.

Fused amax: ``|x|`` of a float is non-negative, and its bits, read as an int32, order like
the values, with NaN above +inf: ``max`` of the bits is the NaN-propagating ``max |x|``
the reference computes (``tl.max`` on floats drops NaN on the GPU, ``max.f32``). Each
program folds its tile's bits into one int32 with ``tl.atomic_max`` (order-independent, so
deterministic); the host reads the int32 back as the fp32 amax.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

FP8_DTYPES = (torch.float8_e4m3fn, torch.float8_e5m2)


def gemm_configs(operand_bytes: int) -> list[dict[str, int]]:
    """Tile shapes and launch parameters for operands of ``operand_bytes`` bytes, largest
    first. Each compiles for sm_90 without spills (tests/lowering/test_gemm_cross_compile.py):
    FP8 and bf16 run on ``wgmma`` (a 64-row warpgroup tile, K steps of 32 bytes), fp32 with
    ``input_precision="ieee"`` on FMA units, whose operands live in registers: a smaller
    tile over 8 warps, 2 stages (64 x 64 on 4 warps spills with two batch dims)."""
    keys = ("BLOCK_M", "BLOCK_N", "BLOCK_K", "GROUP_M", "num_warps", "num_stages")
    if operand_bytes == 4:
        table = [(128, 64, 32, 8, 8, 2), (32, 32, 32, 8, 4, 2)]
    else:
        table = [(128, 128, 64, 8, 8, 3), (64, 64, 64, 8, 4, 4)]
    return [dict(zip(keys, row)) for row in table]


def pick_config(M: int, N: int, K: int, operand_bytes: int) -> dict[str, int]:
    """The largest config whose output tile fits inside M x N and whose K step fits in K;
    the smallest otherwise (masks cover the ragged edges)."""
    configs = gemm_configs(operand_bytes)
    for config in configs:
        if config["BLOCK_M"] <= M and config["BLOCK_N"] <= N and config["BLOCK_K"] <= K:
            return config
    return configs[-1]


def gemm_geometry(
    a: torch.Tensor, b: torch.Tensor, tiles: tuple[torch.Tensor, ...], nbatch: int
) -> tuple[int, tuple[int, ...], list[tuple[int, ...]]]:
    """``(M, batch, strides)`` of ``a @ b`` (NumPy matmul: ``a`` is ``[*batch, M, K]``, ``b``
    ``[K, N]`` or ``[*batch, K, N]``) and of the ``[*batch, M, N]`` ``tiles`` the kernel reads
    or writes with it, for a kernel with ``nbatch`` batch dims: ``batch`` has ``nbatch``
    sizes (1 for a missing one) and ``strides`` holds, for each of ``a``, ``b``, ``*tiles``,
    its ``nbatch`` batch strides (0 where it has no such dim) and its two matrix strides.

    When ``b`` is one matrix and the batch dims of ``a`` and of every tile fold into their
    rows without a copy (``view`` succeeds: a (B, T, D) activation is one (B*T, D)
    matrix), they are folded: one big GEMM instead of a batch of small ones. Otherwise
    (a transposed or sliced view) the batch goes to the grid. Nothing is ever copied."""
    if b.dim() == 2 and a.dim() > 2:
        try:
            rows = [t.view(-1, t.shape[-1]) for t in (a, *tiles)]
        except RuntimeError:  # a stride forbids folding
            rows = []
        if rows:
            a, tiles = rows[0], tuple(rows[1:])
    batch = (1,) * (nbatch + 2 - a.dim()) + tuple(a.shape[:-2])
    strides = [(0,) * (nbatch + 2 - t.dim()) + tuple(t.stride()) for t in (a, b, *tiles)]
    return a.shape[-2], batch, strides


@triton.jit
def grouped_tile(pid, M, N, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, GROUP_M: tl.constexpr):
    """(pid_m, pid_n) of program ``pid``: tiles are visited GROUP_M rows at a time, so
    neighbouring programs share B tiles in L2."""
    num_pid_m = tl.cdiv(M, BLOCK_M)
    num_pid_n = tl.cdiv(N, BLOCK_N)
    num_pid_in_group = GROUP_M * num_pid_n
    first_pid_m = (pid // num_pid_in_group) * GROUP_M
    group_size_m = min(num_pid_m - first_pid_m, GROUP_M)
    pid_m = first_pid_m + ((pid % num_pid_in_group) % group_size_m)
    pid_n = (pid % num_pid_in_group) // group_size_m
    return pid_m, pid_n


@triton.jit
def matmul_tile(
    a_ptr, b_ptr, offs_m, offs_n, M, N, K,
    stride_am, stride_ak, stride_bk, stride_bn,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
    INPUT_PRECISION: tl.constexpr,
):  # fmt: skip
    """``A[offs_m, :] @ B[:, offs_n]`` accumulated in fp32 (a BLOCK_M x BLOCK_N tile)."""
    # Rows and columns past M, N wrap around (their results are never stored), so the
    # loads in the loop only need the K mask.
    offs_am = offs_m % M
    offs_bn = offs_n % N
    offs_k = tl.arange(0, BLOCK_K)
    a_ptrs = a_ptr + offs_am[:, None] * stride_am + offs_k[None, :] * stride_ak
    b_ptrs = b_ptr + offs_k[:, None] * stride_bk + offs_bn[None, :] * stride_bn
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k in range(tl.cdiv(K, BLOCK_K)):
        k_left = K - k * BLOCK_K
        a = tl.load(a_ptrs, mask=offs_k[None, :] < k_left, other=0.0)
        b = tl.load(b_ptrs, mask=offs_k[:, None] < k_left, other=0.0)
        # FP8 on sm_90: wgmma's own accumulator keeps fewer bits than fp32, so each BLOCK_K
        # step's partial sum is promoted into the fp32 `acc` (NUMERICS.md §5; Triton's
        # default on sm_90 never promotes). No effect on bf16/f32 operands.
        acc = tl.dot(a, b, acc, input_precision=INPUT_PRECISION, max_num_imprecise_acc=BLOCK_K)
        a_ptrs += BLOCK_K * stride_ak
        b_ptrs += BLOCK_K * stride_bk
    return acc


@triton.jit
def abs_max_bits(x, mask):
    """``max |x|`` over the tile where ``mask`` holds, as int32 bits (NaN > inf > finite)."""
    bits = tl.where(mask, tl.abs(x), 0.0).to(tl.int32, bitcast=True)
    return tl.max(tl.max(bits, axis=1), axis=0)


# Implements: scaled.matmul (f8E4M3FN x f8E4M3FN | f8E4M3FN x f8E5M2 -> fp32 data_out),
# with an optional fused amax of |data_out| (feeds the next scaled.amax / dynamic scale).
@triton.jit
def scaled_matmul_kernel(
    # A (M, K) fp8; Bᵀ (N, K) fp8, K-major; out (M, N) fp32; amax: one int32 (fp32 bits)
    a_ptr, b_ptr, out_ptr, amax_ptr,
    alpha,  # fp32: sA * sB / scale_out
    M, N, K,
    stride_am, stride_ak,
    stride_bn, stride_bk,
    stride_om, stride_on,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
    GROUP_M: tl.constexpr,
    WRITE_AMAX: tl.constexpr,
):  # fmt: skip
    pid_m, pid_n = grouped_tile(tl.program_id(axis=0), M, N, BLOCK_M, BLOCK_N, GROUP_M)
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    acc = matmul_tile(
        a_ptr, b_ptr, offs_m, offs_n, M, N, K,
        stride_am, stride_ak, stride_bk, stride_bn,
        BLOCK_M, BLOCK_N, BLOCK_K, "ieee",
    )  # fmt: skip

    # Epilogue: one multiply by the combined scale, the tile's amax, a masked store.
    out = acc * alpha
    mask = (offs_m[:, None] < M) & (offs_n[None, :] < N)
    if WRITE_AMAX:
        tl.atomic_max(amax_ptr, abs_max_bits(out, mask))
    out_ptrs = out_ptr + offs_m[:, None] * stride_om + offs_n[None, :] * stride_on
    tl.store(out_ptrs, out, mask=mask)


def scaled_matmul(
    a_q: torch.Tensor,
    b_q_t: torch.Tensor,
    alpha: float,
    amax: bool = True,
    config: dict[str, int] | None = None,
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
    config = config or pick_config(M, N, K, 1)
    grid = triton.cdiv(M, config["BLOCK_M"]) * triton.cdiv(N, config["BLOCK_N"])
    out = torch.empty((M, N), dtype=torch.float32, device=a_q.device)
    amax_bits = torch.zeros((), dtype=torch.int32, device=a_q.device)
    scaled_matmul_kernel[(grid,)](
        a_q, b_q_t, out, amax_bits,
        float(alpha),
        M, N, K,
        a_q.stride(0), a_q.stride(1),
        b_q_t.stride(0), b_q_t.stride(1),
        out.stride(0), out.stride(1),
        WRITE_AMAX=amax,
        **config,
    )  # fmt: skip
    return out, (amax_bits.view(torch.float32) if amax else None)
