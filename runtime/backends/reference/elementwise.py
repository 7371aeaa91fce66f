"""Elementwise ops (docs/ir.md, unary and binary rows) and their gradient ops
(docs/train.md): each computes in `wide` precision and rounds back to the operand type."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from scalc.dialects import nn
from scalc.runtime.backends.reference.dtypes import narrow, wide
from scalc.runtime.backends.reference.env import RefEnv
from scalc.runtime.backends.reference.formats import round_to
from scalc.runtime.backends.reference.registry import reference

# Python floats are "weak" under NumPy 2 promotion (NEP 50): they keep float32 float32.
_SQRT_HALF = math.sqrt(0.5)


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """``Phi(x) = (1 + erf(x / sqrt 2)) / 2``, the standard normal CDF (exact, not the tanh
    estimate), written ``erfc(-x / sqrt 2) / 2``: the same function without the cancellation
    of ``1 + erf`` for negative ``x``, which would cost float32 GELU ~1e-6 relative error."""
    # scipy's erfc has float32 and float64 loops; `narrow` undoes any other promotion.
    return narrow(0.5 * special.erfc(x * -_SQRT_HALF), x.dtype)


@reference(nn.NegOp)
def neg(op: nn.NegOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    return np.negative(x)


@reference(nn.ReluOp)
def relu(op: nn.ReluOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


@reference(nn.GeluOp)
def gelu(op: nn.GeluOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    """``x * Phi(x)``, as ``torch.nn.functional.gelu(approximate="none")``."""
    w = wide(x)
    return narrow(w * normal_cdf(w), x.dtype)


@reference(nn.TanhOp)
def tanh(op: nn.TanhOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    return narrow(np.tanh(wide(x)), x.dtype)


@reference(nn.SigmoidOp)
def sigmoid(op: nn.SigmoidOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` without overflow for large ``|x|`` (scipy's ``expit``)."""
    return narrow(special.expit(wide(x)), x.dtype)


@reference(nn.ExpOp)
def exp(op: nn.ExpOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    return narrow(np.exp(wide(x)), x.dtype)


@reference(nn.LogOp)
def log(op: nn.LogOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    return narrow(np.log(wide(x)), x.dtype)


@reference(nn.SqrtOp)
def sqrt(op: nn.SqrtOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    return narrow(np.sqrt(wide(x)), x.dtype)


@reference(nn.AddOp)
def add(op: nn.AddOp, env: RefEnv, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return narrow(wide(lhs) + wide(rhs), lhs.dtype)


@reference(nn.SubOp)
def sub(op: nn.SubOp, env: RefEnv, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return narrow(wide(lhs) - wide(rhs), lhs.dtype)


@reference(nn.MulOp)
def mul(op: nn.MulOp, env: RefEnv, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return narrow(wide(lhs) * wide(rhs), lhs.dtype)


@reference(nn.DivOp)
def div(op: nn.DivOp, env: RefEnv, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return narrow(wide(lhs) / wide(rhs), lhs.dtype)


@reference(nn.CastOp)
def cast(op: nn.CastOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    """``x`` in the result's element type, rounded to nearest even and saturated to the
    format's largest finite value (NUMERICS.md §1: casts saturate)."""
    return round_to(x, op.result.type.get_element_type())
