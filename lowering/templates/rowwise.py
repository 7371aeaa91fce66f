"""Row-wise templates: softmax (with the causal mask fused) and its gradient, layer
normalisation and its gradient, cross-entropy and its gradient, embedding lookup and its
gradient, over the last axis (docs/ir.md, docs/train.md, docs/scaled.md).

Implements, over the last axis of a ``[..., N]`` tensor viewed as ``(R, N)`` rows:

    %m = scaled.causal_mask %s                    (optional, fused)  -> softmax_kernel
    %p = scaled.softmax %m axis -1
    %g = scaled.softmax_grad %y, %dy axis -1                         -> softmax_grad_kernel
    %h = scaled.causal_mask_grad %g               (optional, fused)
    %y = scaled.layernorm %x, %gamma, %beta {eps}                    -> layernorm_kernel
    %dx, %dgamma, %dbeta = scaled.layernorm_grad %x, %gamma, %dy     -> layernorm_grad_kernel,
                                                                        layernorm_grad_params_kernel
    %l = scaled.cross_entropy %logits, %labels                       -> cross_entropy_kernel,
                                                                        mean_kernel
    %d = scaled.cross_entropy_grad %logits, %labels, %dloss          -> cross_entropy_grad_kernel
    %e = scaled.embedding %table, %ids                               -> embedding_kernel
    %t = scaled.embedding_grad %ids, %dy                             -> embedding_grad_kernel

and the same ``nn`` ops (fp32, scale 1), with the numbers of the reference kernels
(runtime/backends/reference/layers.py, loss.py, grads.py), in fp32:

    softmax:   e = exp(x - max x);  y = e / sum e            (masked j > i -> -inf -> e = 0)
    grad:      y * (dy - sum(dy * y))                        (masked j > i -> 0)
    layernorm: c = x - mean x;  r = 1 / sqrt(mean(c * c) + eps);  y = c * r * gamma + beta
    grad:      g = dy * gamma;  dx = r * (g - mean g - xhat * mean(g * xhat));
               dgamma = sum over rows of dy * xhat;  dbeta = sum over rows of dy
    CE:        term = (max x + log sum e) - x[label];  loss = mean of the terms
    CE grad:   (e / sum e - onehot(label)) * (dloss / R)
    embedding: out[r] = table[ids[r]];  grad: out[v] = sum of dy[r] over ids[r] == v

**Scaled values.** Every kernel reads its inputs in their storage format and multiplies by
their scale (``value = data.to(fp32) * scale``; 1 for a plain ``nn`` tensor), computes in
fp32 and stores ``(value * inv_scale).to(<output element type>)``: RNE, and saturating for
fp8 (``cvt.rn.satfinite`` on sm_90; the interpreter patch does the same). Scales are powers
of two, so both multiplications are exact; the only rounding is the store, as in the
reference's ``round_to(value / scale)``. The host functions take the scales, never compute
them (the generated launch gets them from the ops' scale rules).

**Shape of the kernels.** One program per block of ``BLOCK_M`` rows; each row lies whole
in registers (``BLOCK_N`` = the next power of two of ``N``, ``N`` ≤ `MAX_COLS`), so every
reduction is a single ``tl.max``/``tl.sum`` along axis 1 and the row is read once and
written once. ``BLOCK_M * BLOCK_N`` is kept at ≤ `TILE_ELEMENTS` elements per program (≤ 32
fp32 registers per thread and tensor at 4 warps). Longer rows need an online (two-level)
variant: not here, the host functions raise. Embedding rows are only copied or summed, so
those kernels tile the columns too and take rows of any length.

**Determinism.** ``layernorm_grad``'s parameter gradients sum over all rows: each program
writes the partial sums of its rows, and a second kernel adds the partials in program order
(no atomics). ``embedding_grad`` sorts the ids (stably) on the device, then one program per
table row adds its ``dy`` rows in position order: the reference's ``np.add.at`` order, so
the sums are bit-identical to it.

**Precision.** The divisions and the square root are the IEEE-rounded ``tl.div_rn`` /
``tl.sqrt_rn`` (plain ``/`` and ``tl.sqrt`` compile to ``div.full.f32`` /
``sqrt.approx.f32`` on sm_90), as the reference's NumPy ops. ``tl.exp`` / ``tl.log``
compile to ``ex2.approx`` / ``lg2.approx`` with a scaling multiply: a few ulps. Sums differ
from NumPy's pairwise order: a few ulps.

**Causal mask.** ``CAUSAL=True`` treats the rows as ``[..., T, T]`` score blocks: flat row
``r`` is query ``i = r mod T`` and columns ``j > i`` are masked (``N`` must equal ``T``).
Column 0 is never masked, so no softmax row is all ``-inf``.

**Ids and labels** (i32 or i64) are not range-checked on the device (the reference raises
`IndexError`): an out-of-range label gives ``term = lse`` and no onehot, an out-of-range id
gathers a zero row and adds its ``dy`` row nowhere.
"""

from __future__ import annotations

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
    out_ptr,  # (R, N), unit column stride
    R,
    N,
    stride_x,
    stride_out,  # row strides
    T,  # CAUSAL: rows per [T, T] score block (T == N); unused otherwise
    x_scale,
    out_inv_scale,  # fp32: value = data * scale; data = value * inv_scale
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
    x = x.to(tl.float32) * x_scale
    if CAUSAL:  # nn.causal_mask: query i = r mod T sees keys j <= i
        query = rows % T
        x = tl.where(cols[None, :] > query[:, None], float("-inf"), x)
    row_max = tl.max(x, axis=1)
    row_max = tl.where(rows < R, row_max, 0.0)  # padding rows: avoid -inf - -inf
    e = tl.exp(x - row_max[:, None])
    denom = tl.where(rows < R, tl.sum(e, axis=1), 1.0)  # padding rows: no 0 / 0
    y = tl.div_rn(e, denom[:, None])
    y = (y * out_inv_scale).to(out_ptr.dtype.element_ty)
    tl.store(out_ptr + rows[:, None] * stride_out + cols[None, :], y, mask=in_bounds)


# Implements: nn.softmax_grad over the last axis + nn.causal_mask_grad (optional).
@triton.jit
def softmax_grad_kernel(
    y_ptr,
    dy_ptr,
    out_ptr,  # (R, N), unit column stride: the softmax output, its gradient, dx
    R,
    N,
    stride_y,
    stride_dy,
    stride_out,
    T,  # CAUSAL: rows per [T, T] score block (T == N); unused otherwise
    y_scale,
    dy_scale,
    out_inv_scale,
    CAUSAL: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.arange(0, BLOCK_N)
    in_bounds = (rows[:, None] < R) & (cols[None, :] < N)
    y = tl.load(y_ptr + rows[:, None] * stride_y + cols[None, :], mask=in_bounds, other=0.0)
    dy = tl.load(dy_ptr + rows[:, None] * stride_dy + cols[None, :], mask=in_bounds, other=0.0)
    y = y.to(tl.float32) * y_scale
    dy = dy.to(tl.float32) * dy_scale
    inner = tl.sum(dy * y, axis=1)
    g = y * (dy - inner[:, None])
    if CAUSAL:  # nn.causal_mask_grad: no gradient reaches the masked scores
        query = rows % T
        g = tl.where(cols[None, :] > query[:, None], 0.0, g)
    g = (g * out_inv_scale).to(out_ptr.dtype.element_ty)
    tl.store(out_ptr + rows[:, None] * stride_out + cols[None, :], g, mask=in_bounds)


# Implements: nn.layernorm over the last axis (biased variance), with gamma and beta.
@triton.jit
def layernorm_kernel(
    x_ptr,
    gamma_ptr,
    beta_ptr,
    out_ptr,  # x, out (R, N), unit column stride; gamma, beta (N,) contiguous
    R,
    N,
    stride_x,
    stride_out,
    eps,  # fp32
    x_scale,
    gamma_scale,
    beta_scale,
    out_inv_scale,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.arange(0, BLOCK_N)
    col_ok = cols < N
    in_bounds = (rows[:, None] < R) & col_ok[None, :]
    x = tl.load(x_ptr + rows[:, None] * stride_x + cols[None, :], mask=in_bounds, other=0.0)
    x = x.to(tl.float32) * x_scale
    n = tl.full([], N, tl.float32)
    mean = tl.div_rn(tl.sum(x, axis=1), n)
    centred = tl.where(in_bounds, x - mean[:, None], 0.0)
    var = tl.div_rn(tl.sum(centred * centred, axis=1), n)
    inv_std = tl.div_rn(tl.full([BLOCK_M], 1.0, tl.float32), tl.sqrt_rn(var + eps))
    gamma = tl.load(gamma_ptr + cols, mask=col_ok, other=0.0).to(tl.float32) * gamma_scale
    beta = tl.load(beta_ptr + cols, mask=col_ok, other=0.0).to(tl.float32) * beta_scale
    y = centred * inv_std[:, None] * gamma[None, :] + beta[None, :]
    y = (y * out_inv_scale).to(out_ptr.dtype.element_ty)
    tl.store(out_ptr + rows[:, None] * stride_out + cols[None, :], y, mask=in_bounds)


# Implements: nn.layernorm_grad, first pass: dx per row, and each program's partial sums
# of dgamma (dy * xhat) and dbeta (dy) over its rows.
@triton.jit
def layernorm_grad_kernel(
    x_ptr,
    gamma_ptr,
    dy_ptr,
    dx_ptr,  # x, dy, dx (R, N), unit column stride; gamma (N,) contiguous
    partial_ptr,  # (programs, 2, N) fp32: [pid, 0] sums dy * xhat, [pid, 1] sums dy
    R,
    N,
    stride_x,
    stride_dy,
    stride_dx,
    eps,  # fp32
    x_scale,
    gamma_scale,
    dy_scale,
    dx_inv_scale,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.arange(0, BLOCK_N)
    col_ok = cols < N
    in_bounds = (rows[:, None] < R) & col_ok[None, :]
    x = tl.load(x_ptr + rows[:, None] * stride_x + cols[None, :], mask=in_bounds, other=0.0)
    dy = tl.load(dy_ptr + rows[:, None] * stride_dy + cols[None, :], mask=in_bounds, other=0.0)
    x = x.to(tl.float32) * x_scale
    dy = dy.to(tl.float32) * dy_scale
    gamma = tl.load(gamma_ptr + cols, mask=col_ok, other=0.0).to(tl.float32) * gamma_scale
    # The forward's normalisation, recomputed (padding rows: x = 0, var = 0, finite).
    n = tl.full([], N, tl.float32)
    mean = tl.div_rn(tl.sum(x, axis=1), n)
    centred = tl.where(in_bounds, x - mean[:, None], 0.0)
    var = tl.div_rn(tl.sum(centred * centred, axis=1), n)
    inv_std = tl.div_rn(tl.full([BLOCK_M], 1.0, tl.float32), tl.sqrt_rn(var + eps))
    x_hat = centred * inv_std[:, None]
    g = dy * gamma[None, :]  # 0 in the padding: dy and gamma load as 0 there
    mean_g = tl.div_rn(tl.sum(g, axis=1), n)
    mean_gx = tl.div_rn(tl.sum(g * x_hat, axis=1), n)
    dx = inv_std[:, None] * (g - mean_g[:, None] - x_hat * mean_gx[:, None])
    dx = (dx * dx_inv_scale).to(dx_ptr.dtype.element_ty)
    tl.store(dx_ptr + rows[:, None] * stride_dx + cols[None, :], dx, mask=in_bounds)
    partial = partial_ptr + pid * 2 * N + cols
    tl.store(partial, tl.sum(dy * x_hat, axis=0), mask=col_ok)
    tl.store(partial + N, tl.sum(dy, axis=0), mask=col_ok)


# Implements: nn.layernorm_grad, second pass: dgamma and dbeta, the partial sums of the
# first pass added in program order (deterministic: no atomics).
@triton.jit
def layernorm_grad_params_kernel(
    partial_ptr,  # (programs, 2, N) fp32
    dgamma_ptr,
    dbeta_ptr,  # (N,) contiguous
    programs,
    N,
    dgamma_inv_scale,
    dbeta_inv_scale,
    BLOCK_N: tl.constexpr,
):
    cols = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    col_ok = cols < N
    dgamma = tl.zeros([BLOCK_N], tl.float32)
    dbeta = tl.zeros([BLOCK_N], tl.float32)
    for p in range(programs):
        dgamma += tl.load(partial_ptr + p * 2 * N + cols, mask=col_ok, other=0.0)
        dbeta += tl.load(partial_ptr + p * 2 * N + N + cols, mask=col_ok, other=0.0)
    dgamma = (dgamma * dgamma_inv_scale).to(dgamma_ptr.dtype.element_ty)
    dbeta = (dbeta * dbeta_inv_scale).to(dbeta_ptr.dtype.element_ty)
    tl.store(dgamma_ptr + cols, dgamma, mask=col_ok)
    tl.store(dbeta_ptr + cols, dbeta, mask=col_ok)


# Shared by cross_entropy_kernel and cross_entropy_grad_kernel: program ``pid``'s rows of
# logits (fp32 values), their labels as a one-hot mask, and the softmax pieces
# exp(x - row max) and their row sums (1 on padding rows: no log(0), no 0 / 0).
@triton.jit
def logit_rows(
    logits_ptr, labels_ptr, R, C, stride_logits, logits_scale,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):  # fmt: skip
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
    x = x.to(tl.float32) * logits_scale
    labels = tl.load(labels_ptr + rows, mask=row_ok, other=0).to(tl.int32)
    onehot = cols[None, :] == labels[:, None]
    row_max = tl.where(row_ok, tl.max(x, axis=1), 0.0)
    e = tl.exp(x - row_max[:, None])
    denom = tl.where(row_ok, tl.sum(e, axis=1), 1.0)
    return rows, cols, row_ok, in_bounds, x, onehot, row_max, e, denom


# Implements: nn.cross_entropy, first pass: the per-row terms logsumexp - logit[label].
@triton.jit
def cross_entropy_kernel(
    logits_ptr,
    labels_ptr,  # logits (R, C), unit column stride; labels (R,) i32 | i64
    terms_ptr,  # (R,) fp32
    R,
    C,
    stride_logits,
    logits_scale,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    rows, cols, row_ok, in_bounds, x, onehot, row_max, e, denom = logit_rows(
        logits_ptr, labels_ptr, R, C, stride_logits, logits_scale, BLOCK_M, BLOCK_N
    )
    lse = row_max + tl.log(denom)
    picked = tl.sum(tl.where(onehot & in_bounds, x, 0.0), axis=1)
    tl.store(terms_ptr + rows, lse - picked, mask=row_ok)


# Implements: nn.cross_entropy, second pass (and any mean of a vector): the mean of the
# terms, one program (deterministic).
@triton.jit
def mean_kernel(
    x_ptr,  # (n,) fp32
    out_ptr,  # 0-d
    n,
    out_inv_scale,
    BLOCK: tl.constexpr,
):
    acc = tl.zeros([BLOCK], tl.float32)
    for start in range(0, n, BLOCK):
        offsets = start + tl.arange(0, BLOCK)
        acc += tl.load(x_ptr + offsets, mask=offsets < n, other=0.0)
    mean = tl.div_rn(tl.sum(acc, axis=0), tl.full([], n, tl.float32))
    tl.store(out_ptr, (mean * out_inv_scale).to(out_ptr.dtype.element_ty))


# Implements: nn.cross_entropy_grad: (softmax(logits) - onehot(label)) * dloss / R.
@triton.jit
def cross_entropy_grad_kernel(
    logits_ptr,
    labels_ptr,  # logits (R, C), unit column stride; labels (R,) i32 | i64
    dloss_ptr,  # 0-d: the incoming gradient of the mean loss
    grad_ptr,  # (R, C), unit column stride
    R,
    C,
    stride_logits,
    stride_grad,
    logits_scale,
    dloss_scale,
    grad_inv_scale,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    rows, cols, row_ok, in_bounds, x, onehot, row_max, e, denom = logit_rows(
        logits_ptr, labels_ptr, R, C, stride_logits, logits_scale, BLOCK_M, BLOCK_N
    )
    dloss = tl.load(dloss_ptr).to(tl.float32) * dloss_scale
    factor = tl.div_rn(dloss, tl.full([], R, tl.float32))  # fp32(dloss / R), as the reference
    g = (tl.div_rn(e, denom[:, None]) - onehot.to(tl.float32)) * factor
    g = (g * grad_inv_scale).to(grad_ptr.dtype.element_ty)
    tl.store(grad_ptr + rows[:, None] * stride_grad + cols[None, :], g, mask=in_bounds)


# Implements: nn.embedding: out[r, :] = table[ids[r], :].
@triton.jit
def embedding_kernel(
    table_ptr,  # (V, D), unit column stride
    ids_ptr,  # (R,) i32 | i64
    out_ptr,  # (R, D) contiguous
    R,
    V,
    D,
    stride_table,
    table_scale,
    out_inv_scale,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    row_ok = rows < R
    col_ok = cols < D
    ids = tl.load(ids_ptr + rows, mask=row_ok, other=0).to(tl.int64)
    id_ok = row_ok & (ids >= 0) & (ids < V)  # never read outside the table
    x = tl.load(
        table_ptr + ids[:, None] * stride_table + cols[None, :],
        mask=id_ok[:, None] & col_ok[None, :],
        other=0.0,
    )
    x = ((x.to(tl.float32) * table_scale) * out_inv_scale).to(out_ptr.dtype.element_ty)
    tl.store(out_ptr + rows[:, None] * D + cols[None, :], x, mask=row_ok[:, None] & col_ok[None, :])


# Implements: nn.embedding_grad: table row v = the sum of the dy rows whose id is v, in
# position order (``order`` lists the positions sorted stably by id; ``bounds[v]`` to
# ``bounds[v + 1]`` are those of id v): deterministic, and NumPy's np.add.at order.
@triton.jit
def embedding_grad_kernel(
    dy_ptr,  # (R, D), unit column stride
    order_ptr,  # (R,) i64: positions sorted by id
    bounds_ptr,  # (V + 1,) i64: where each id's positions start in `order`
    out_ptr,  # (V, D) contiguous
    D,
    stride_dy,
    dy_scale,
    out_inv_scale,
    BLOCK_N: tl.constexpr,
):
    v = tl.program_id(0)
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    col_ok = cols < D
    acc = tl.zeros([BLOCK_N], tl.float32)
    for i in range(tl.load(bounds_ptr + v), tl.load(bounds_ptr + v + 1)):
        position = tl.load(order_ptr + i)
        dy = tl.load(dy_ptr + position * stride_dy + cols, mask=col_ok, other=0.0)
        acc += dy.to(tl.float32) * dy_scale
    acc = (acc * out_inv_scale).to(out_ptr.dtype.element_ty)
    tl.store(out_ptr + v.to(tl.int64) * D + cols, acc, mask=col_ok)


# --- host functions: shared by the template tests and the generated modules -------------


def row_config(n_cols: int) -> tuple[int, int, int]:
    """``(BLOCK_M, BLOCK_N, num_warps)`` holding whole rows of ``n_cols``: BLOCK_N = the
    next power of two of ``n_cols`` (≤ `MAX_COLS`), as many rows as keep the tile at ≤
    `TILE_ELEMENTS` elements (at most 16), 4 warps (8 from 2048 columns)."""
    if not 0 < n_cols <= MAX_COLS:
        raise ValueError(
            f"row-wise kernels hold a row of at most {MAX_COLS} columns in registers, got {n_cols}"
        )
    block_n = triton.next_power_of_2(n_cols)
    block_m = max(1, min(16, TILE_ELEMENTS // block_n))
    return block_m, block_n, 8 if block_n >= 2048 else 4


def as_rows(x: torch.Tensor) -> torch.Tensor:
    """``x`` (rank ≥ 1) as ``(R, N)`` rows with unit column stride: a view when its layout
    allows one (any row stride), else a contiguous copy."""
    n = x.shape[-1]
    rows = x.reshape(x.numel() // max(n, 1), n)
    return rows if rows.stride(-1) == 1 or n <= 1 else rows.contiguous()


def softmax(
    x: torch.Tensor,
    out: torch.Tensor,
    x_scale: float = 1.0,
    out_scale: float = 1.0,
    causal: bool = False,
) -> None:
    """``out = softmax(x)`` over the last axis (of ``causal_mask(x)`` with ``causal``: ``x``
    of shape ``[..., T, T]``); ``out`` contiguous, of ``x``'s shape, any float type."""
    if causal and (x.dim() < 2 or x.shape[-1] != x.shape[-2]):
        raise ValueError(f"causal softmax needs [..., T, T], got {tuple(x.shape)}")
    x2 = as_rows(x)
    R, N = x2.shape
    BLOCK_M, BLOCK_N, num_warps = row_config(N)
    if R:
        softmax_kernel[(triton.cdiv(R, BLOCK_M),)](
            x2, out, R, N, x2.stride(0), N, N, x_scale, 1.0 / out_scale,
            CAUSAL=causal, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, num_warps=num_warps,
        )  # fmt: skip


def softmax_grad(
    y: torch.Tensor,
    dy: torch.Tensor,
    out: torch.Tensor,
    y_scale: float = 1.0,
    dy_scale: float = 1.0,
    out_scale: float = 1.0,
    causal: bool = False,
) -> None:
    """``out = y * (dy - sum(dy * y))`` over the last axis (then ``causal_mask_grad`` with
    ``causal``); ``out`` contiguous, of ``dy``'s shape."""
    if causal and (dy.dim() < 2 or dy.shape[-1] != dy.shape[-2]):
        raise ValueError(f"causal softmax_grad needs [..., T, T], got {tuple(dy.shape)}")
    y2, dy2 = as_rows(y), as_rows(dy)
    R, N = dy2.shape
    BLOCK_M, BLOCK_N, num_warps = row_config(N)
    if R:
        softmax_grad_kernel[(triton.cdiv(R, BLOCK_M),)](
            y2, dy2, out, R, N, y2.stride(0), dy2.stride(0), N, N,
            y_scale, dy_scale, 1.0 / out_scale,
            CAUSAL=causal, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, num_warps=num_warps,
        )  # fmt: skip


def layernorm(
    x: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    out: torch.Tensor,
    eps: float = 1e-5,
    x_scale: float = 1.0,
    gamma_scale: float = 1.0,
    beta_scale: float = 1.0,
    out_scale: float = 1.0,
) -> None:
    """``out = layernorm(x, gamma, beta)`` over the last axis; ``out`` contiguous."""
    x2 = as_rows(x)
    R, N = x2.shape
    if tuple(gamma.shape) != (N,) or tuple(beta.shape) != (N,):
        raise ValueError(
            f"gamma, beta must have shape ({N},), got {tuple(gamma.shape)}, {tuple(beta.shape)}"
        )
    BLOCK_M, BLOCK_N, num_warps = row_config(N)
    if R:
        layernorm_kernel[(triton.cdiv(R, BLOCK_M),)](
            x2, gamma.contiguous(), beta.contiguous(), out, R, N, x2.stride(0), N, float(eps),
            x_scale, gamma_scale, beta_scale, 1.0 / out_scale,
            BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, num_warps=num_warps,
        )  # fmt: skip


def layernorm_grad(
    x: torch.Tensor,
    gamma: torch.Tensor,
    dy: torch.Tensor,
    dx: torch.Tensor,
    dgamma: torch.Tensor,
    dbeta: torch.Tensor,
    eps: float = 1e-5,
    scales: tuple[float, float, float] = (1.0, 1.0, 1.0),
    out_scales: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> None:
    """``dx, dgamma, dbeta`` of ``layernorm(x, gamma, beta)`` given ``dy`` (``scales`` of
    ``x, gamma, dy``; ``out_scales`` of ``dx, dgamma, dbeta``); outputs contiguous."""
    x2, dy2 = as_rows(x), as_rows(dy)
    R, N = x2.shape
    BLOCK_M, BLOCK_N, num_warps = row_config(N)
    programs = triton.cdiv(R, BLOCK_M)
    partial = torch.empty((programs, 2, N), dtype=torch.float32, device=x.device)
    if R:
        layernorm_grad_kernel[(programs,)](
            x2, gamma.contiguous(), dy2, dx, partial, R, N, x2.stride(0), dy2.stride(0), N,
            float(eps), *scales, 1.0 / out_scales[0],
            BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, num_warps=num_warps,
        )  # fmt: skip
    block = min(BLOCK_N, 1024)
    layernorm_grad_params_kernel[(triton.cdiv(N, block),)](
        partial, dgamma, dbeta, programs, N, 1.0 / out_scales[1], 1.0 / out_scales[2],
        BLOCK_N=block,
    )  # fmt: skip


def cross_entropy(
    logits: torch.Tensor,
    labels: torch.Tensor,
    loss: torch.Tensor,
    logits_scale: float = 1.0,
    loss_scale: float = 1.0,
) -> torch.Tensor:
    """``loss`` (0-d) = the mean over positions of ``logsumexp(logits) - logits[label]``;
    returns the per-position terms (fp32, labels' shape)."""
    x2 = as_rows(logits)
    R, C = x2.shape
    labels1 = labels.reshape(R).contiguous()
    BLOCK_M, BLOCK_N, num_warps = row_config(C)
    terms = torch.empty(R, dtype=torch.float32, device=logits.device)
    if R:
        cross_entropy_kernel[(triton.cdiv(R, BLOCK_M),)](
            x2, labels1, terms, R, C, x2.stride(0), logits_scale,
            BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, num_warps=num_warps,
        )  # fmt: skip
    mean_kernel[(1,)](terms, loss, R, 1.0 / loss_scale, BLOCK=1024)
    return terms.reshape(labels.shape)


def cross_entropy_grad(
    logits: torch.Tensor,
    labels: torch.Tensor,
    dloss: torch.Tensor,
    grad: torch.Tensor,
    logits_scale: float = 1.0,
    dloss_scale: float = 1.0,
    grad_scale: float = 1.0,
) -> None:
    """``grad = (softmax(logits) - onehot(labels)) * dloss / R``; ``dloss`` a 0-d tensor
    (read on the device: no sync); ``grad`` contiguous, of ``logits``' shape."""
    x2 = as_rows(logits)
    R, C = x2.shape
    labels1 = labels.reshape(R).contiguous()
    BLOCK_M, BLOCK_N, num_warps = row_config(C)
    if R:
        cross_entropy_grad_kernel[(triton.cdiv(R, BLOCK_M),)](
            x2, labels1, dloss, grad, R, C, x2.stride(0), C,
            logits_scale, dloss_scale, 1.0 / grad_scale,
            BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, num_warps=num_warps,
        )  # fmt: skip


def embedding(
    table: torch.Tensor,
    ids: torch.Tensor,
    out: torch.Tensor,
    table_scale: float = 1.0,
    out_scale: float = 1.0,
) -> None:
    """``out[...] = table[ids[...]]``; ``out`` contiguous, of shape ``ids.shape + (D,)``.
    Rows of any length (the columns are tiled)."""
    table2 = as_rows(table)
    V, D = table2.shape
    ids1 = ids.reshape(-1).contiguous()
    R = ids1.numel()
    BLOCK_M, BLOCK_N, num_warps = row_config(min(D, 1024))
    if R and D:
        embedding_kernel[(triton.cdiv(R, BLOCK_M), triton.cdiv(D, BLOCK_N))](
            table2, ids1, out, R, V, D, table2.stride(0), table_scale, 1.0 / out_scale,
            BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, num_warps=num_warps,
        )  # fmt: skip


def embedding_grad(
    ids: torch.Tensor,
    dy: torch.Tensor,
    out: torch.Tensor,
    dy_scale: float = 1.0,
    out_scale: float = 1.0,
) -> None:
    """``out`` (a ``[V, D]`` table, contiguous) = zeros with each row of ``dy`` added into
    row ``ids[...]``, summed in position order. The ids are sorted on the device (no sync)."""
    V, D = out.shape
    dy2 = as_rows(dy)
    sorted_ids, order = torch.sort(ids.reshape(-1), stable=True)
    every_id = torch.arange(V + 1, dtype=sorted_ids.dtype, device=sorted_ids.device)
    bounds = torch.searchsorted(sorted_ids, every_id)
    _, BLOCK_N, num_warps = row_config(min(D, 1024))
    if V and D:
        embedding_grad_kernel[(V, triton.cdiv(D, BLOCK_N))](
            dy2, order, bounds, out, D, dy2.stride(0), dy_scale, 1.0 / out_scale,
            BLOCK_N=BLOCK_N, num_warps=num_warps,
        )  # fmt: skip
