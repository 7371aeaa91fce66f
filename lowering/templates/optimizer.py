"""Fused optimizer templates: one launch updates every parameter of the model, held in one
flat fp32 buffer (issue 5), with PyTorch's semantics and the reference's operation order.

Implements, for all parameters at once, the IR ops the training step ends with
(docs/train.md):

    %w2, %m2, %v2 = nn.adamw %w, %g, %m, %v, %lr, %t {beta1, beta2, eps, weight_decay}
    %w2, %buf2    = nn.sgd %w, %g, %buf, %lr {momentum, weight_decay, nesterov}

with the numbers of ``REFERENCE[nn.AdamWOp]`` / ``REFERENCE[nn.SgdOp]``
(runtime/backends/reference/optim.py), which compute the scalars in Python floats
(float64) and apply them to fp32 arrays:

    adamw:  decay     = fp32(1 - lr * wd)                      (float64, then rounded)
            step_size = fp32(lr / (1 - beta1^t))               (float64, then rounded)
            c2        = fp32(sqrt(1 - beta2^t))                (float64, then rounded)
            w = w * decay
            m = fp32(beta1) * m + fp32(1 - beta1) * g
            v = fp32(beta2) * v + fp32(1 - beta2) * (g * g)
            w = w - step_size * (m / (sqrt(v) / c2 + fp32(eps)))
    sgd:    g = g + fp32(wd) * w                               (if wd != 0)
            buf = fp32(momentum) * buf + g                     (if momentum != 0)
            d = g + fp32(momentum) * buf  if nesterov else buf (g if momentum == 0)
            w = w - fp32(lr) * d

every tensor operation an fp32 operation rounded once, in that order. ``lr`` and ``t`` are
runtime scalars: the launcher does the float64 scalar arithmetic on the host exactly as the
reference does and passes the results as fp32 kernel arguments, so a new step or a
learning-rate schedule never recompiles. (``lr`` is a Python float: a device-resident
schedule would need a host sync here, or the float64 scalar math moved onto the device.)

**Division and square root.** ``tl.div_rn`` and ``tl.sqrt_rn``, not ``/`` and ``tl.sqrt``:
for fp32 Triton lowers ``/`` to ``div.full.f32`` (≈2 ulp) and ``tl.sqrt`` to
``sqrt.approx.f32`` on sm_90; the reference (numpy) rounds both correctly. The ``_rn``
forms compile to ``div.rn.f32`` / ``sqrt.rn.f32`` (tests/lowering/test_optimizer_cross_compile.py
checks the PTX).

**Multiply-add contraction.** With ``enable_fp_fusion`` (Triton's default, the
``TRITON_DEFAULT_FP_FUSION`` knob) the backend contracts ``a * b + c`` into one
``fma.rn.f32``: ``beta1 * m + (1 - beta1) * g`` becomes ``fma(1 - beta1, g, beta1 * m)``,
likewise for ``v``, SGD's ``g + wd * w``, ``momentum * buf + g`` and the final
``w - step_size * q``. Each such fma skips one rounding, so it differs from the reference by
at most one rounding of the fused result (≤ 1 ulp per op, errors that can then carry through
a few dependent ops). The launchers therefore pass ``enable_fp_fusion=False`` by default —
the PTX then has no ``fma.rn.f32`` and every op is the reference's — and take
``fp_fusion=True`` for the contracted (one instruction shorter, not measurably faster: the
kernel is memory-bound) variant. Triton's CPU interpreter never contracts, so it checks the
unfused numbers; the cross-compile test counts the fma's either way.

**The flat buffer.** `pack_flat` copies parameters into one contiguous fp32 buffer and
returns views of it shaped like the parameters; the model then uses the views (so a
``w.data`` update by the kernel is seen by the model without copies), and the gradients and
optimizer states get the same layout (`flat_like`). The launchers take the lists of views
(checked to tile one buffer, in order, without gaps) and launch one 1-D kernel over the whole
buffer; a list that is not one flat buffer is updated one contiguous run at a time.
Memory traffic per element: AdamW reads w, g, m, v and writes w, m, v (28 B); SGD with
momentum 20 B.

**Per-element bodies as helpers.** The update of one element is an ``@triton.jit`` helper
(`adamw_update`, `sgd_update`) that the flat kernels here and the generated optimizer
kernels (lowering/codegen/optimizer.py, one launch per parameter) share; so are the
low-precision optimizer modes' ops (docs/collage.md, runtime/backends/reference/mcf.py):
`adamw_delta`, `sgd_delta`, `fast2sum`, `grow`, built on `add_rounded` & co., which compute
each elementary operation in the working precision exactly as the reference does: fp32
operations (correctly rounded, as a float64 operation rounded to fp32 is), or for bf16 a
float64 operation rounded once to bf16 through round-to-odd fp32 (`round_to_precision`;
rounding to odd keeps the later RNE to bf16 free of double-rounding error), saturated as
``round_to`` saturates. `store_update_stats` writes one program's float64 partial sums of
``nn.update_stats``.
"""

from __future__ import annotations

import itertools
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import triton
import triton.language as tl

# --- Per-element updates (fp32, the reference's operation order) ---------------------------


@triton.jit
def adamw_update(
    w, g, m, v, decay, step_size, correction2_sqrt, beta1, one_minus_beta1, beta2,
    one_minus_beta2, eps,
):  # fmt: skip
    """nn.adamw on fp32 values: (new w, new m, new v)."""
    w = w * decay  # decoupled weight decay first
    m = beta1 * m + one_minus_beta1 * g
    v = beta2 * v + one_minus_beta2 * (g * g)
    denominator = tl.div_rn(tl.sqrt_rn(v), correction2_sqrt) + eps
    w = w - step_size * tl.div_rn(m, denominator)
    return w, m, v


@triton.jit
def sgd_update(
    w, g, buf, lr, momentum, weight_decay,
    HAS_WEIGHT_DECAY: tl.constexpr, HAS_MOMENTUM: tl.constexpr, NESTEROV: tl.constexpr,
):  # fmt: skip
    """nn.sgd on fp32 values: (new w, new buf)."""
    if HAS_WEIGHT_DECAY:
        g = g + weight_decay * w
    if HAS_MOMENTUM:
        buf = momentum * buf + g
        if NESTEROV:
            direction = g + momentum * buf
        else:
            direction = buf
    else:  # PyTorch keeps no buffer without momentum; the reference returns it unchanged
        direction = g
    return w - lr * direction, buf


# Implements: nn.adamw over the flat buffer of all parameters (one program per BLOCK slice).
@triton.jit
def adamw_kernel(
    w_ptr,
    g_ptr,
    m_ptr,
    v_ptr,  # flat fp32 buffers of n elements; w, m, v updated in place
    n,
    decay,  # fp32(1 - lr * weight_decay)
    step_size,  # fp32(lr / (1 - beta1^t))
    correction2_sqrt,  # fp32(sqrt(1 - beta2^t))
    beta1,
    one_minus_beta1,
    beta2,
    one_minus_beta2,
    eps,  # fp32 roundings of the float64 hyper-parameters
    BLOCK: tl.constexpr,
):
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    w = tl.load(w_ptr + offs, mask=mask, other=0.0)
    g = tl.load(g_ptr + offs, mask=mask, other=0.0)
    m = tl.load(m_ptr + offs, mask=mask, other=0.0)
    v = tl.load(v_ptr + offs, mask=mask, other=0.0)
    w, m, v = adamw_update(
        w, g, m, v, decay, step_size, correction2_sqrt, beta1, one_minus_beta1, beta2,
        one_minus_beta2, eps,
    )  # fmt: skip
    tl.store(w_ptr + offs, w, mask=mask)
    tl.store(m_ptr + offs, m, mask=mask)
    tl.store(v_ptr + offs, v, mask=mask)


# Implements: nn.sgd over the flat buffer of all parameters.
@triton.jit
def sgd_kernel(
    w_ptr,
    g_ptr,
    buf_ptr,  # flat fp32 buffers of n elements; w and buf updated in place
    n,
    lr,
    momentum,
    weight_decay,  # fp32
    HAS_WEIGHT_DECAY: tl.constexpr,
    HAS_MOMENTUM: tl.constexpr,
    NESTEROV: tl.constexpr,
    BLOCK: tl.constexpr,
):
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    w = tl.load(w_ptr + offs, mask=mask, other=0.0)
    g = tl.load(g_ptr + offs, mask=mask, other=0.0)
    if HAS_MOMENTUM:
        buf = tl.load(buf_ptr + offs, mask=mask, other=0.0)
    else:
        buf = g  # not read: no buffer without momentum
    w, buf = sgd_update(
        w, g, buf, lr, momentum, weight_decay, HAS_WEIGHT_DECAY, HAS_MOMENTUM, NESTEROV
    )
    if HAS_MOMENTUM:
        tl.store(buf_ptr + offs, buf, mask=mask)
    tl.store(w_ptr + offs, w, mask=mask)


# --- Low-precision arithmetic (runtime/backends/reference/mcf.py `Arith`) -------------------


@triton.jit
def saturate_to_bf16(x):
    """fp32 -> the nearest bf16 (ties to even) as fp32, finite values saturated to ±max
    (``round_to(x, "bf16")``; the conversion alone would overflow to ±inf)."""
    largest = 3.3895313892515355e38
    x = tl.where(tl.abs(x) < float("inf"), tl.clamp(x, -largest, largest), x)
    return x.to(tl.bfloat16).to(tl.float32)


@triton.jit
def round_to_precision(x, BF16: tl.constexpr):
    """A float64 result rounded once into the working precision, as fp32: RNE to fp32, or
    to bf16 through round-to-odd fp32 (``round_to(round_to_odd_f32(x), "bf16")``)."""
    y = x.to(tl.float32)
    if BF16:
        wide = y.to(tl.float64)
        bits = y.to(tl.int32, bitcast=True)
        bits = tl.where(tl.abs(wide) > tl.abs(x), bits - 1, bits)  # toward zero
        bits = tl.where((wide != x) & (tl.abs(x) < float("inf")), bits | 1, bits)  # odd if inexact
        y = saturate_to_bf16(bits.to(tl.float32, bitcast=True))
    return y


# a or b may be a scalar argument: a Python float under the interpreter, hence tl.cast,
# which rounds it to fp32 first, as the GPU's fp32 argument is. float64 division and
# square root are IEEE on the GPU (div.rn.f64, sqrt.rn.f64; `tl.div_rn` is fp32 only).
@triton.jit
def add_rounded(a, b, BF16: tl.constexpr):
    if BF16:
        y = round_to_precision(tl.cast(a, tl.float64) + tl.cast(b, tl.float64), BF16)
    else:
        y = a + b
    return y


@triton.jit
def sub_rounded(a, b, BF16: tl.constexpr):
    if BF16:
        y = round_to_precision(tl.cast(a, tl.float64) - tl.cast(b, tl.float64), BF16)
    else:
        y = a - b
    return y


@triton.jit
def mul_rounded(a, b, BF16: tl.constexpr):
    if BF16:
        y = round_to_precision(tl.cast(a, tl.float64) * tl.cast(b, tl.float64), BF16)
    else:
        y = a * b
    return y


@triton.jit
def div_rounded(a, b, BF16: tl.constexpr):
    if BF16:
        y = round_to_precision(tl.cast(a, tl.float64) / tl.cast(b, tl.float64), BF16)
    else:
        y = tl.div_rn(a, b)
    return y


@triton.jit
def sqrt_rounded(a, BF16: tl.constexpr):
    if BF16:
        y = round_to_precision(tl.sqrt(a.to(tl.float64)), BF16)
    else:
        y = tl.sqrt_rn(a)
    return y


@triton.jit
def fast2sum(a, b, BF16: tl.constexpr):
    """nn.fast2sum: s = a + b, e = b - (s - a), each step rounded."""
    s = add_rounded(a, b, BF16)
    return s, sub_rounded(b, sub_rounded(s, a, BF16), BF16)


@triton.jit
def grow(hi, lo, b, BF16: tl.constexpr):
    """nn.grow: the MCF hi + lo plus b (Fast2Sum, the error into lo, Fast2Sum)."""
    s, e = fast2sum(hi, b, BF16)
    return fast2sum(s, add_rounded(lo, e, BF16), BF16)


@triton.jit
def adamw_delta(
    w, g, m, v, v_lo, lr_wd, step_size, correction2_sqrt, beta1, one_minus_beta1, beta2,
    one_minus_beta2, eps, BF16: tl.constexpr, MCF_V: tl.constexpr,
):  # fmt: skip
    """nn.adamw_delta: (Δ, new m, new v, new v_lo); v_lo is only read with MCF_V."""
    m = add_rounded(mul_rounded(beta1, m, BF16), mul_rounded(one_minus_beta1, g, BF16), BF16)
    square = mul_rounded(one_minus_beta2, mul_rounded(g, g, BF16), BF16)
    if MCF_V:
        v, v_lo = grow(mul_rounded(beta2, v, BF16), mul_rounded(beta2, v_lo, BF16), square, BF16)
        # One operation on the exact MCF value: rounding v + v_lo first would drop v_lo.
        root = round_to_precision(tl.sqrt(v.to(tl.float64) + v_lo.to(tl.float64)), BF16)
    else:
        v = add_rounded(mul_rounded(beta2, v, BF16), square, BF16)
        root = sqrt_rounded(v, BF16)
    denominator = add_rounded(div_rounded(root, correction2_sqrt, BF16), eps, BF16)
    update = mul_rounded(step_size, div_rounded(m, denominator, BF16), BF16)
    return add_rounded(mul_rounded(lr_wd, w, BF16), update, BF16), m, v, v_lo


@triton.jit
def sgd_delta(
    w, g, buf, lr, momentum, weight_decay, HAS_WEIGHT_DECAY: tl.constexpr,
    HAS_MOMENTUM: tl.constexpr, NESTEROV: tl.constexpr, BF16: tl.constexpr,
):  # fmt: skip
    """nn.sgd_delta: (Δ, new buf)."""
    if HAS_WEIGHT_DECAY:
        g = add_rounded(g, mul_rounded(weight_decay, w, BF16), BF16)
    if HAS_MOMENTUM:
        buf = add_rounded(mul_rounded(momentum, buf, BF16), g, BF16)
        if NESTEROV:
            direction = add_rounded(g, mul_rounded(momentum, buf, BF16), BF16)
        else:
            direction = buf
    else:  # the buffer is returned unchanged
        direction = g
    return mul_rounded(lr, direction, BF16), buf


@triton.jit
def store_update_stats(stats_ptr, old, new, delta, mask):
    """nn.update_stats of one block, in float64, at stats_ptr[0:4]: sum (new - old) * -Δ,
    sum Δ², #(Δ != 0 and new == old), #(Δ != 0); the launcher adds the blocks up."""
    old = old.to(tl.float64)
    new = new.to(tl.float64)
    delta = delta.to(tl.float64)
    moved = new - old  # exact: old and new have at most 24 significant bits
    nonzero = (delta != 0) & mask
    tl.store(stats_ptr + 0, tl.sum(tl.where(mask, moved * -delta, 0.0), axis=0))
    tl.store(stats_ptr + 1, tl.sum(tl.where(mask, delta * delta, 0.0), axis=0))
    tl.store(stats_ptr + 2, tl.sum((nonzero & (new == old)).to(tl.float64), axis=0))
    tl.store(stats_ptr + 3, tl.sum(nonzero.to(tl.float64), axis=0))


# --- Host scalars (float64, as the reference; the kernels take them as fp32) ----------------


def adamw_scalars(
    lr: float, t: float, beta1: float, beta2: float, eps: float, weight_decay: float
) -> tuple[float, ...]:
    """`adamw_update`'s scalars for step ``t``: decay, step size, sqrt(1 - beta2^t),
    beta1, 1 - beta1, beta2, 1 - beta2, eps (optim.py's Python-float arithmetic)."""
    return (
        1.0 - lr * weight_decay, lr / (1.0 - beta1**t), math.sqrt(1.0 - beta2**t),
        beta1, 1.0 - beta1, beta2, 1.0 - beta2, eps,
    )  # fmt: skip


def adamw_delta_scalars(
    lr: float, t: float, beta1: float, beta2: float, eps: float, weight_decay: float
) -> tuple[float, ...]:
    """`adamw_delta`'s scalars: lr * weight decay, then as `adamw_scalars` (mcf.py)."""
    return (lr * weight_decay, *adamw_scalars(lr, t, beta1, beta2, eps, weight_decay)[1:])


@dataclass(frozen=True)
class OptimizerConfig:
    BLOCK: int = 1024
    num_warps: int = 4


# --- Flat buffers ----------------------------------------------------------------------------


def pack_flat(
    tensors: Sequence[torch.Tensor], dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Copy ``tensors`` into one contiguous 1-D buffer; return ``(flat, views)`` with
    ``views[i]`` shaped like ``tensors[i]`` and aliasing ``flat``."""
    if not tensors:
        raise ValueError("no tensors to pack")
    total = sum(t.numel() for t in tensors)
    flat = torch.empty(total, dtype=dtype, device=tensors[0].device)
    views = flat_views(flat, [t.shape for t in tensors])
    for view, t in zip(views, tensors, strict=True):
        view.copy_(t)
    return flat, views


def flat_views(flat: torch.Tensor, shapes: Sequence[torch.Size]) -> list[torch.Tensor]:
    """Views of the 1-D ``flat`` shaped as ``shapes``, back to back from element 0."""
    views, offset = [], 0
    for shape in shapes:
        numel = math.prod(shape)
        views.append(flat[offset : offset + numel].view(shape))
        offset += numel
    if offset != flat.numel():
        raise ValueError(f"shapes cover {offset} elements, the buffer has {flat.numel()}")
    return views


def flat_like(views: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """A zero flat buffer with ``views``' layout (gradients, optimizer state)."""
    flat = torch.zeros(sum(v.numel() for v in views), dtype=views[0].dtype, device=views[0].device)
    return flat, flat_views(flat, [v.shape for v in views])


def _runs(views: Sequence[torch.Tensor]) -> list[tuple[int, int]]:
    """``[(first, last + 1)]`` index ranges of ``views`` that lie back to back in one storage."""
    runs: list[tuple[int, int]] = []
    for i, v in enumerate(views):
        if v.dtype != torch.float32 or not v.is_contiguous():
            raise TypeError(f"parameter {i}: expected a contiguous fp32 tensor, got {v.dtype}")
        if runs:
            prev = views[i - 1]
            if (
                v.untyped_storage().data_ptr() == prev.untyped_storage().data_ptr()
                and v.storage_offset() == prev.storage_offset() + prev.numel()
            ):
                runs[-1] = (runs[-1][0], i + 1)
                continue
        runs.append((i, i + 1))
    return runs


def _span(views: Sequence[torch.Tensor]) -> torch.Tensor:
    """The 1-D tensor over the back-to-back ``views`` (a view of their storage)."""
    first = views[0]
    total = sum(v.numel() for v in views)
    return first.new_empty(0).set_(first.untyped_storage(), first.storage_offset(), (total,))


def _flat_groups(*lists: Sequence[torch.Tensor]) -> list[list[torch.Tensor]]:
    """Split the parallel lists into runs that are contiguous in every list; one 1-D tensor
    per list per run. Usually (everything packed with `pack_flat` / `flat_like`) one run."""
    n = len(lists[0])
    if n == 0 or any(len(lst) != n for lst in lists):
        raise ValueError("the parameter, gradient and state lists must be non-empty, equal length")
    for i in range(n):
        shapes = {tuple(lst[i].shape) for lst in lists}
        if len(shapes) != 1:
            raise ValueError(f"parameter {i}: shapes differ across w/g/state: {shapes}")
    bounds = sorted({b for lst in lists for run in _runs(lst) for b in run})
    return [[_span(lst[a:b]) for lst in lists] for a, b in itertools.pairwise(bounds)]


# --- Launchers -------------------------------------------------------------------------------


def _fp32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", float(x)))[0]


def adamw_step(
    w: Sequence[torch.Tensor],
    g: Sequence[torch.Tensor],
    m: Sequence[torch.Tensor],
    v: Sequence[torch.Tensor],
    lr: float,
    t: int,
    *,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.01,
    fp_fusion: bool = False,
    config: OptimizerConfig | None = None,
) -> None:
    """``nn.adamw`` step ``t`` (1-based) on every parameter, in place: ``w``, ``m``, ``v``
    are updated through the views. One launch when the lists tile flat buffers."""
    config = config or OptimizerConfig()
    # ``lr`` and ``t`` are tensor<f32> in the IR: the reference sees their fp32 values.
    lr, count = _fp32(lr), _fp32(t)
    # Host scalars in float64, exactly as the reference, then fp32 (the kernel's argument type).
    scalars = adamw_scalars(lr, count, beta1, beta2, eps, weight_decay)
    for fw, fg, fm, fv in _flat_groups(w, g, m, v):
        n = fw.numel()
        adamw_kernel[(triton.cdiv(n, config.BLOCK),)](
            fw,
            fg,
            fm,
            fv,
            n,
            *scalars,
            BLOCK=config.BLOCK,
            num_warps=config.num_warps,
            enable_fp_fusion=fp_fusion,
        )


def sgd_step(
    w: Sequence[torch.Tensor],
    g: Sequence[torch.Tensor],
    buf: Sequence[torch.Tensor],
    lr: float,
    *,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    fp_fusion: bool = False,
    config: OptimizerConfig | None = None,
) -> None:
    """``nn.sgd`` on every parameter, in place (``buf`` untouched when ``momentum == 0``)."""
    if nesterov and not momentum > 0:
        raise ValueError("nesterov needs momentum > 0")
    config = config or OptimizerConfig()
    for fw, fg, fb in _flat_groups(w, g, buf):
        n = fw.numel()
        sgd_kernel[(triton.cdiv(n, config.BLOCK),)](
            fw,
            fg,
            fb,
            n,
            _fp32(lr),
            float(momentum),
            float(weight_decay),
            HAS_WEIGHT_DECAY=weight_decay != 0,
            HAS_MOMENTUM=momentum != 0,
            NESTEROV=bool(nesterov),
            BLOCK=config.BLOCK,
            num_warps=config.num_warps,
            enable_fp_fusion=fp_fusion,
        )
