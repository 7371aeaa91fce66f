"""Low-precision optimizer arithmetic (docs/collage.md, NUMERICS.md §6): multi-component
floats (``nn.fast2sum``, ``nn.grow``), the intended updates of SGD and AdamW in f32 or
emulated bf16 (``nn.sgd_delta``, ``nn.adamw_delta``) and their statistics
(``nn.update_stats``).

Emulation is exact: every elementary operation (``+ - * / sqrt``) is computed in float64
from its rounded inputs and rounded once to the working type, to nearest even, by
`Arith.round`.  Scalars (lr, betas, eps, weight decay) are f32; quantities made of
scalars only (``1 - β``, bias corrections, ``lr * wd``) are computed in float64 from the
f64 hyper-parameters, as PyTorch does in Python floats, and rounded to f32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import BFloat16Type, TensorType

from scalc.dialects import nn
from scalc.runtime.backends.reference.env import RefEnv
from scalc.runtime.backends.reference.formats import round_to
from scalc.runtime.backends.reference.registry import reference


def round_to_odd_f32(x: np.ndarray) -> np.ndarray:
    """``x`` (float64) rounded to float32 toward zero, with the last bit set when inexact.

    Rounding to odd with 16 spare bits makes the later float32 -> bf16 rounding of
    `round_to` give the correctly rounded bf16 of ``x`` (no double-rounding error).
    """
    x = np.asarray(x, np.float64)
    with np.errstate(over="ignore"):
        y = x.astype(np.float32)
    too_far = np.abs(y.astype(np.float64)) > np.abs(x)
    y = np.where(too_far, np.nextafter(y, np.float32(0)), y)
    inexact = (y.astype(np.float64) != x) & np.isfinite(x)
    bits = y.view(np.uint32) | np.where(inexact, np.uint32(1), np.uint32(0))
    return bits.view(np.float32)


@dataclass(frozen=True)
class Arith:
    """Arithmetic in ``precision`` (``"f32"`` or ``"bf16"``): each method is one
    elementary operation, computed in float64 and rounded once (`round`)."""

    precision: str

    def round(self, x: np.ndarray | float) -> np.ndarray:
        """``x`` rounded to nearest even into the working type (bf16 via `round_to`)."""
        if self.precision == "bf16":
            return round_to(round_to_odd_f32(np.asarray(x, np.float64)), "bf16")
        # 53 >= 2 * 24 + 2 bits: one float64 operation then float32 is correctly rounded.
        return np.asarray(x, np.float64).astype(np.float32)

    def add(self, a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
        return self.round(wide(a) + wide(b))

    def sub(self, a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
        return self.round(wide(a) - wide(b))

    def mul(self, a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
        return self.round(wide(a) * wide(b))

    def div(self, a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
        return self.round(wide(a) / wide(b))

    def sqrt(self, a: np.ndarray) -> np.ndarray:
        return self.round(np.sqrt(wide(a)))

    def fast2sum(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``s = a + b; e = b - (s - a)`` (NUMERICS.md §6), each step rounded."""
        s = self.add(a, b)
        return s, self.sub(b, self.sub(s, a))

    def grow(self, hi: np.ndarray, lo: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The MCF ``hi + lo`` plus ``b``: ``Fast2Sum(hi, b)``, the error into ``lo``,
        then ``Fast2Sum`` again to renormalise."""
        s, e = self.fast2sum(hi, b)
        return self.fast2sum(s, self.add(lo, e))


def wide(x: np.ndarray | float) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def f32(x: float) -> float:
    """A scalar as the f32 the kernels compute with."""
    return float(np.float32(x))


def arith_of(value_type: TensorType) -> Arith:
    """The arithmetic of MCF components of ``value_type`` (bf16 or f32, verified)."""
    return Arith("bf16" if isinstance(value_type.get_element_type(), BFloat16Type) else "f32")


@reference(nn.Fast2SumOp)
def fast2sum(
    op: nn.Fast2SumOp, env: RefEnv, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    return arith_of(op.a.type).fast2sum(a, b)


@reference(nn.GrowOp)
def grow(
    op: nn.GrowOp, env: RefEnv, hi: np.ndarray, lo: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    return arith_of(op.hi.type).grow(hi, lo, b)


@reference(nn.SgdDeltaOp)
def sgd_delta(
    op: nn.SgdDeltaOp, env: RefEnv, w: np.ndarray, g: np.ndarray, buf: np.ndarray, lr: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(Δ, buf')``: PyTorch SGD's step, each operation rounded (module docstring)."""
    x = Arith(op.precision.data)
    momentum, weight_decay = f32(op.momentum.value.data), f32(op.weight_decay.value.data)
    if weight_decay != 0:
        g = x.add(g, x.mul(weight_decay, w))
    if momentum == 0:
        return x.mul(f32(float(lr)), g), buf
    buf = x.add(x.mul(momentum, buf), g)
    direction = x.add(g, x.mul(momentum, buf)) if op.nesterov.value.data else buf
    return x.mul(f32(float(lr)), direction), buf


@reference(nn.AdamWDeltaOp)
def adamw_delta(op: nn.AdamWDeltaOp, env: RefEnv, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(Δ, m', v' [, v_lo'])`` of AdamW step ``t``, each operation rounded; with
    ``mcf_v`` the second moment is the MCF ``v + v_lo``, grown by ``(1 - β2) g²``."""
    x = Arith(op.precision.data)
    if op.mcf_v is not None:
        w, g, m, v, v_lo, lr, t = operands
    else:
        (w, g, m, v, lr, t), v_lo = operands, None
    beta1, beta2 = op.beta1.value.data, op.beta2.value.data
    eps, weight_decay = f32(op.eps.value.data), op.weight_decay.value.data
    step, count = f32(float(lr)), float(t)
    m = x.add(x.mul(f32(beta1), m), x.mul(f32(1.0 - beta1), g))
    square = x.mul(f32(1.0 - beta2), x.mul(g, g))
    if v_lo is None:
        v = x.add(x.mul(f32(beta2), v), square)
        root = x.sqrt(v)
    else:
        v, v_lo = x.grow(x.mul(f32(beta2), v), x.mul(f32(beta2), v_lo), square)
        # One operation on the exact MCF value: rounding v + v_lo first would drop v_lo.
        root = x.round(np.sqrt(wide(v) + wide(v_lo)))
    step_size = f32(step / (1.0 - beta1**count))
    correction2_sqrt = f32(math.sqrt(1.0 - beta2**count))
    denominator = x.add(x.div(root, correction2_sqrt), eps)
    update = x.mul(step_size, x.div(m, denominator))
    delta = x.add(x.mul(f32(step * weight_decay), w), update)
    return (delta, m, v) if v_lo is None else (delta, m, v, v_lo)


@reference(nn.UpdateStatsOp)
def update_stats(
    op: nn.UpdateStatsOp, env: RefEnv, old: np.ndarray, new: np.ndarray, delta: np.ndarray
) -> np.ndarray:
    """``[⟨new - old, -Δ⟩, ‖Δ‖², #(Δ ≠ 0 and new == old), #(Δ ≠ 0)]`` in float64,
    returned as float32."""
    old64, new64, delta64 = wide(old), wide(new), wide(delta)
    moved = new64 - old64  # exact: old and new have at most 24 significant bits
    nonzero = delta64 != 0
    return np.array(
        [
            np.sum(moved * -delta64),
            np.sum(delta64 * delta64),
            np.count_nonzero(nonzero & (new64 == old64)),
            np.count_nonzero(nonzero),
        ],
        dtype=np.float32,
    )
