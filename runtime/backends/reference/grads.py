"""Gradient ops (docs/train.md, "New ops"): each returns the gradient of one forward
operand (``nn.layernorm_grad``: of x, gamma and beta) given ``dy``, the gradient of the
forward result. Gradients of the other ops are compositions of forward ops and need no
kernel of their own.
"""

from __future__ import annotations

import math

import numpy as np

from scalc.dialects import nn
from scalc.runtime.backends.reference.dtypes import narrow, wide
from scalc.runtime.backends.reference.elementwise import normal_cdf
from scalc.runtime.backends.reference.env import RefEnv
from scalc.runtime.backends.reference.layers import (
    causal_keep,
    check_ids,
    normalise,
    softmax_along,
)
from scalc.runtime.backends.reference.registry import reference
from scalc.runtime.backends.reference.shape import along

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@reference(nn.ReluGradOp)
def relu_grad(op: nn.ReluGradOp, env: RefEnv, x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """``dy * (x > 0)``: the derivative at the kink ``x = 0`` is taken as 0, as PyTorch."""
    return np.where(x > 0, dy, 0).astype(dy.dtype, copy=False)


@reference(nn.GeluGradOp)
def gelu_grad(op: nn.GeluGradOp, env: RefEnv, x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """``dy * (Phi(x) + x * phi(x))``, ``phi`` the standard normal density."""
    w = wide(x)
    density = np.exp(-0.5 * w * w) * _INV_SQRT_2PI
    return narrow(wide(dy) * (normal_cdf(w) + w * density), dy.dtype)


@reference(nn.TanhGradOp)
def tanh_grad(op: nn.TanhGradOp, env: RefEnv, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    w = wide(y)
    return narrow(wide(dy) * (1.0 - w * w), dy.dtype)


@reference(nn.SigmoidGradOp)
def sigmoid_grad(op: nn.SigmoidGradOp, env: RefEnv, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    w = wide(y)
    return narrow(wide(dy) * w * (1.0 - w), dy.dtype)


@reference(nn.SqrtGradOp)
def sqrt_grad(op: nn.SqrtGradOp, env: RefEnv, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    return narrow(wide(dy) / (2.0 * wide(y)), dy.dtype)


@reference(nn.SoftmaxGradOp)
def softmax_grad(op: nn.SoftmaxGradOp, env: RefEnv, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """``y * (dy - sum(dy * y, axis, keepdims))``."""
    w, d = wide(y), wide(dy)
    inner = np.sum(d * w, axis=op.axis.value.data, keepdims=True)
    return narrow(w * (d - inner), dy.dtype)


@reference(nn.LayerNormGradOp)
def layernorm_grad(
    op: nn.LayerNormGradOp, env: RefEnv, x: np.ndarray, gamma: np.ndarray, dy: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dx, dgamma, dbeta)``; ``dx`` is the usual closed form
    ``inv_std * (g - mean(g) - x_hat * mean(g * x_hat))`` with ``g = dy * gamma``."""
    d = wide(dy)
    x_hat, inv_std = normalise(wide(x), op.eps.value.data)
    leading = tuple(range(x.ndim - 1))
    g = d * wide(gamma)
    dx = inv_std * (
        g - np.mean(g, axis=-1, keepdims=True) - x_hat * np.mean(g * x_hat, axis=-1, keepdims=True)
    )
    dgamma = np.sum(d * x_hat, axis=leading)
    dbeta = np.sum(d, axis=leading)
    return narrow(dx, x.dtype), narrow(dgamma, gamma.dtype), narrow(dbeta, gamma.dtype)


@reference(nn.EmbeddingGradOp)
def embedding_grad(
    op: nn.EmbeddingGradOp, env: RefEnv, ids: np.ndarray, dy: np.ndarray
) -> np.ndarray:
    """A zero ``[V, D]`` table (V, D from the result type) with each ``dy`` row added into
    row ``ids[...]``; repeated ids accumulate."""
    rows, width = op.result.type.get_shape()
    check_ids(op.name, ids, rows)
    table = np.zeros((rows, width), wide(dy).dtype)
    np.add.at(table, ids.reshape(-1), wide(dy).reshape(-1, width))
    return narrow(table, dy.dtype)


@reference(nn.CrossEntropyGradOp)
def cross_entropy_grad(
    op: nn.CrossEntropyGradOp,
    env: RefEnv,
    logits: np.ndarray,
    labels: np.ndarray,
    dloss: np.ndarray,
) -> np.ndarray:
    """``dloss * (softmax(logits) - onehot(labels)) / N``, N the number of positions."""
    check_ids(op.name, labels, logits.shape[-1])
    onehot = np.zeros(logits.shape, bool)
    np.put_along_axis(onehot, labels[..., None], True, axis=-1)
    # max(..., 1): with no positions the result is empty anyway; avoid dividing by zero.
    scale = float(dloss) / max(labels.size, 1)
    return narrow((softmax_along(wide(logits), -1) - onehot) * scale, logits.dtype)


@reference(nn.CausalMaskGradOp)
def causal_mask_grad(op: nn.CausalMaskGradOp, env: RefEnv, dy: np.ndarray) -> np.ndarray:
    return np.where(causal_keep(dy.shape[-1]), dy, 0).astype(dy.dtype, copy=False)


@reference(nn.MaxGradOp)
def max_grad(op: nn.MaxGradOp, env: RefEnv, x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """``dy`` (keepdims shape) split equally among the maxima of each reduced group."""
    axes = tuple(op.axes.get_values())
    is_max = x == np.max(x, axis=axes, keepdims=True)
    ties = np.sum(is_max, axis=axes, keepdims=True).astype(wide(dy).dtype)
    return narrow(np.where(is_max, wide(dy) / ties, 0), dy.dtype)


@reference(nn.MeanGradOp)
def mean_grad(op: nn.MeanGradOp, env: RefEnv, dy: np.ndarray) -> np.ndarray:
    """``dy`` broadcast to ``dims`` over the count of reduced elements at run time."""
    shape = env.shape(op.dims)
    count = math.prod(shape[axis] for axis in op.axes.get_values())
    return np.broadcast_to(narrow(wide(dy) / count, dy.dtype), shape)


@reference(nn.SliceGradOp)
def slice_grad(op: nn.SliceGradOp, env: RefEnv, dy: np.ndarray) -> np.ndarray:
    """Zeros of shape ``dims`` with ``dy`` at ``start : start + len`` along ``axis``."""
    shape, axis, start = env.shape(op.dims), op.axis.value.data, op.start.value.data
    stop = start + dy.shape[axis]
    if stop > shape[axis]:
        raise IndexError(
            f"nn.slice_grad: dy covers [{start}:{stop}] along axis {axis}, "
            f"beyond its size {shape[axis]}"
        )
    dx = np.zeros(shape, dy.dtype)
    dx[along(axis, slice(start, stop))] = dy
    return dx


@reference(nn.IndexGradOp)
def index_grad(op: nn.IndexGradOp, env: RefEnv, dy: np.ndarray) -> np.ndarray:
    """Zeros of shape ``dims`` with ``dy`` at ``index`` along ``axis``."""
    shape, axis, index = env.shape(op.dims), op.axis.value.data, op.index.value.data
    if not 0 <= index < shape[axis]:
        raise IndexError(
            f"nn.index_grad: {index} is out of range for axis {axis} of size {shape[axis]}"
        )
    dx = np.zeros(shape, dy.dtype)
    dx[along(axis, index)] = dy
    return dx
