"""Row-wise templates: softmax (optionally causal-masked), layer normalisation, and
cross-entropy fused with its gradient, each over the last axis (docs/ir.md, docs/train.md).

Implements, over the last axis of a ``[..., N]`` fp32 tensor viewed as ``(R, N)`` rows:

    %m = nn.causal_mask %s : tensor<?x4x?x?xf32>           (optional, fused)
    %p = nn.softmax %m axis 3 : tensor<?x4x?x?xf32>        -> softmax_kernel

    %y = nn.layernorm %x, %g, %b {eps} : ...               -> layernorm_kernel

    %l  = nn.cross_entropy %logits, %labels : ... -> tensor<f32>
    %dl = nn.cross_entropy_grad %logits, %labels, %dloss  -> cross_entropy_kernel (one pass)

with the numbers of the reference kernels (runtime/backends/reference/layers.py, loss.py,
grads.py), in fp32:

    softmax:   e = exp(x - max x);  y = e / sum e            (masked j > i -> -inf -> e = 0)
    layernorm: c = x - mean x;  r = 1 / sqrt(mean(c * c) + eps);  y = c * r * gamma + beta
    CE:        term = (max x + log sum e) - x[label]          (loss = sum terms / R, on the host)
    CE grad:   g = (e / sum e - onehot(label)) * (dloss / R)

**Shape of the kernels.** One program per block of ``BLOCK_M`` rows; each row lies whole
in registers (``BLOCK_N`` = the next power of two of ``N``, ``N`` ≤ 4096), so every
reduction is a single ``tl.max``/``tl.sum`` along axis 1 and the row is read once and
written once. ``BLOCK_M * BLOCK_N`` is kept at ≤ 4096 elements per program (≤ 32 fp32
registers per thread and tensor at 4 warps). Longer rows need an online (two-level)
variant: not here, the launchers raise.

**Precision.** fp32 inputs and outputs, fp32 math. (bf16 I/O, i.e. an fp32 compute on
``.to(tl.float32)`` loads and an RNE ``.to(tl.bfloat16)`` store, is a later change.) The
divisions and the square root are the IEEE-rounded ``tl.div_rn`` / ``tl.sqrt_rn`` (plain
``/`` and ``tl.sqrt`` compile to ``div.full.f32`` / ``sqrt.approx.f32`` on sm_90), as the
reference's NumPy ops. ``tl.exp`` / ``tl.log`` compile to ``ex2.approx`` / ``lg2.approx``
with a scaling multiply: a few ulps (more for very negative ``x - max``, whose ``e`` is
negligible in the sum). Sums differ from NumPy's pairwise order: a few ulps.

**Causal mask.** ``CAUSAL=True`` treats the rows as ``[..., T, T]`` score blocks: flat row
``r`` is query ``i = r mod T`` and columns ``j > i`` read as ``-inf`` (``N`` must equal
``T``). Column 0 is never masked, so no row is all ``-inf``.

**Labels** (i32 or i64) are not range-checked on the device (the reference raises
`IndexError`); an out-of-range label gives ``term = lse`` and no onehot. The launcher
checks them only with ``check_labels=True`` (a device-to-host sync).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import triton
import triton.language as tl

MAX_COLS = 4096
"""The longest row a program holds in registers."""
TILE_ELEMENTS = 4096
"""Most fp32 elements of one program's tile (BLOCK_M * BLOCK_N)."""


# Implements: nn.causal_mask (optional) + nn.softmax over the last axis.
@triton.jit
def softmax_kernel(
    x_ptr,
    out_ptr,  # (R, N) fp32, unit column stride
    R,
    N,
    stride_x,
    stride_out,  # row strides
    T,  # CAUSAL: rows per [T, T] score block (T == N); unused otherwise
    CAUSAL: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.arange(0, BLOCK_N)
    in_bounds = (rows[:, None] < R) & (cols[None, :] < N)
    x = tl.load(
        x_ptr + rows[:, None] * stride_x + cols[None, :], mask=in_bounds, other=float("-inf")
    )
    if CAUSAL:  # nn.causal_mask: query i = r mod T sees keys j <= i
        query = rows % T
        x = tl.where(cols[None, :] > query[:, None], float("-inf"), x)
    row_max = tl.max(x, axis=1)
    row_max = tl.where(rows < R, row_max, 0.0)  # padding rows: avoid -inf - -inf
    e = tl.exp(x - row_max[:, None])
    denom = tl.where(rows < R, tl.sum(e, axis=1), 1.0)  # padding rows: no 0 / 0
    y = tl.div_rn(e, denom[:, None])
    tl.store(out_ptr + rows[:, None] * stride_out + cols[None, :], y, mask=in_bounds)


# Implements: nn.layernorm over the last axis (biased variance), with gamma and beta.
@triton.jit
def layernorm_kernel(
    x_ptr,
    gamma_ptr,
    beta_ptr,
    out_ptr,  # x, out (R, N) fp32; gamma, beta (N,) fp32
    R,
    N,
    stride_x,
    stride_out,
    eps,  # fp32
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.arange(0, BLOCK_N)
    col_ok = cols < N
    in_bounds = (rows[:, None] < R) & col_ok[None, :]
    x = tl.load(x_ptr + rows[:, None] * stride_x + cols[None, :], mask=in_bounds, other=0.0)
    n = N.to(tl.float32)
    mean = tl.div_rn(tl.sum(x, axis=1), tl.zeros_like(tl.sum(x, axis=1)) + n)
    centred = tl.where(in_bounds, x - mean[:, None], 0.0)
    sq = tl.sum(centred * centred, axis=1)
    var = tl.div_rn(sq, tl.zeros_like(sq) + n)
    inv_std = tl.div_rn(tl.zeros_like(var) + 1.0, tl.sqrt_rn(var + eps))
    gamma = tl.load(gamma_ptr + cols, mask=col_ok, other=0.0)
    beta = tl.load(beta_ptr + cols, mask=col_ok, other=0.0)
    y = centred * inv_std[:, None] * gamma[None, :] + beta[None, :]
    tl.store(out_ptr + rows[:, None] * stride_out + cols[None, :], y, mask=in_bounds)


# Implements: nn.cross_entropy (per-row terms; the host takes their mean) fused with
# nn.cross_entropy_grad, one pass over the logits.
@triton.jit
def cross_entropy_kernel(
    logits_ptr,
    labels_ptr,  # logits (R, C) fp32; labels (R,) i32 | i64
    dloss_ptr,  # 0-d fp32: the incoming gradient of the mean loss
    terms_ptr,  # (R,) fp32: logsumexp - logit[label] per row
    grad_ptr,  # (R, C) fp32: (softmax - onehot) * dloss / R
    R,
    C,
    stride_logits,
    stride_grad,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.arange(0, BLOCK_N)
    row_ok = rows < R
    in_bounds = row_ok[:, None] & (cols[None, :] < C)
    x = tl.load(
        logits_ptr + rows[:, None] * stride_logits + cols[None, :],
        mask=in_bounds,
        other=float("-inf"),
    )
    labels = tl.load(labels_ptr + rows, mask=row_ok, other=0).to(tl.int32)
    onehot = cols[None, :] == labels[:, None]

    row_max = tl.where(row_ok, tl.max(x, axis=1), 0.0)
    e = tl.exp(x - row_max[:, None])
    denom = tl.where(row_ok, tl.sum(e, axis=1), 1.0)  # padding rows: no log(0)
    lse = row_max + tl.log(denom)
    picked = tl.sum(tl.where(onehot & in_bounds, x, 0.0), axis=1)
    tl.store(terms_ptr + rows, lse - picked, mask=row_ok)

    scale = tl.div_rn(tl.load(dloss_ptr), R.to(tl.float32))  # fp32(dloss / R), as the reference
    p = tl.div_rn(e, denom[:, None])
    g = (p - onehot.to(tl.float32)) * scale
    tl.store(grad_ptr + rows[:, None] * stride_grad + cols[None, :], g, mask=in_bounds)


@dataclass(frozen=True)
class RowConfig:
    BLOCK_M: int
    BLOCK_N: int
    num_warps: int


def row_config(n_cols: int) -> RowConfig:
    """The whole row in one program: BLOCK_N = next power of two of ``n_cols`` (≤ 4096),
    as many rows as keep the tile at ≤ 4096 elements (at most 16), 4 warps (8 from 2048
    columns)."""
    if not 0 < n_cols <= MAX_COLS:
        raise ValueError(
            f"row-wise kernels hold a row of at most {MAX_COLS} columns in registers, got {n_cols}"
        )
    block_n = triton.next_power_of_2(n_cols)
    block_m = max(1, min(16, TILE_ELEMENTS // block_n))
    return RowConfig(block_m, block_n, 8 if block_n >= 2048 else 4)


def _rows(x: torch.Tensor, name: str) -> torch.Tensor:
    """``x`` as (R, N) fp32 with unit column stride (a view when possible)."""
    if x.dtype != torch.float32 or x.dim() < 1:
        raise TypeError(
            f"{name}: expected an fp32 tensor of rank >= 1, got {x.dtype} {tuple(x.shape)}"
        )
    x2 = x.reshape(-1, x.shape[-1])
    return x2 if x2.stride(-1) == 1 else x2.contiguous()


def softmax(x: torch.Tensor, causal: bool = False, config: RowConfig | None = None) -> torch.Tensor:
    """``nn.softmax`` over the last axis of fp32 ``x``; with ``causal``, of ``nn.causal_mask x``
    (``x`` of shape ``[..., T, T]``)."""
    if causal and (x.dim() < 2 or x.shape[-1] != x.shape[-2]):
        raise ValueError(f"causal softmax needs [..., T, T], got {tuple(x.shape)}")
    x2 = _rows(x, "softmax")
    R, N = x2.shape
    config = config or row_config(N)
    out = torch.empty((R, N), dtype=torch.float32, device=x.device)
    if R:
        softmax_kernel[(triton.cdiv(R, config.BLOCK_M),)](
            x2, out, R, N, x2.stride(0), out.stride(0), N,
            CAUSAL=causal, BLOCK_M=config.BLOCK_M, BLOCK_N=config.BLOCK_N,
            num_warps=config.num_warps,
        )  # fmt: skip
    return out.reshape(x.shape)


def layernorm(
    x: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    eps: float = 1e-5,
    config: RowConfig | None = None,
) -> torch.Tensor:
    """``nn.layernorm x, gamma, beta {eps}`` over the last axis, all fp32."""
    x2 = _rows(x, "layernorm")
    R, N = x2.shape
    if gamma.shape != (N,) or beta.shape != (N,):
        raise ValueError(
            f"gamma, beta must have shape ({N},), got {tuple(gamma.shape)}, {tuple(beta.shape)}"
        )
    gamma, beta = _rows(gamma, "gamma").reshape(N), _rows(beta, "beta").reshape(N)
    config = config or row_config(N)
    out = torch.empty((R, N), dtype=torch.float32, device=x.device)
    if R:
        layernorm_kernel[(triton.cdiv(R, config.BLOCK_M),)](
            x2, gamma, beta, out, R, N, x2.stride(0), out.stride(0), float(eps),
            BLOCK_M=config.BLOCK_M, BLOCK_N=config.BLOCK_N, num_warps=config.num_warps,
        )  # fmt: skip
    return out.reshape(x.shape)


def cross_entropy_with_grad(
    logits: torch.Tensor,
    labels: torch.Tensor,
    dloss: float | torch.Tensor = 1.0,
    check_labels: bool = False,
    config: RowConfig | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``nn.cross_entropy`` and ``nn.cross_entropy_grad`` of fp32 ``logits[..., C]`` and
    integer ``labels[...]`` in one pass. Returns ``(loss, grad, terms)``: the 0-d fp32 mean
    loss (``terms.sum() / R`` on the device, no sync), the gradient (logits' shape) and the
    per-position terms ``logsumexp - logit[label]`` (labels' shape)."""
    if labels.dtype not in (torch.int32, torch.int64) or tuple(labels.shape) != tuple(
        logits.shape[:-1]
    ):
        raise TypeError(
            f"labels must be i32/i64 of shape {tuple(logits.shape[:-1])}, "
            f"got {labels.dtype} {tuple(labels.shape)}"
        )
    x2 = _rows(logits, "cross_entropy")
    R, C = x2.shape
    labels1 = labels.reshape(R).contiguous()
    if check_labels and R and (int(labels1.min()) < 0 or int(labels1.max()) >= C):
        raise IndexError(f"cross_entropy: labels must lie in [0, {C})")
    if not isinstance(dloss, torch.Tensor):
        dloss = torch.tensor(float(dloss), dtype=torch.float32, device=logits.device)
    dloss = dloss.to(torch.float32).reshape(())
    config = config or row_config(C)
    terms = torch.empty(R, dtype=torch.float32, device=logits.device)
    grad = torch.empty((R, C), dtype=torch.float32, device=logits.device)
    if R:
        cross_entropy_kernel[(triton.cdiv(R, config.BLOCK_M),)](
            x2, labels1, dloss, terms, grad, R, C, x2.stride(0), grad.stride(0),
            BLOCK_M=config.BLOCK_M, BLOCK_N=config.BLOCK_N, num_warps=config.num_warps,
        )  # fmt: skip
    loss = terms.sum() / max(R, 1)
    return loss, grad.reshape(logits.shape), terms.reshape(labels.shape)
