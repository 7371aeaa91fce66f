"""Composite layers: softmax, layer normalisation, embedding lookup, causal mask.

Shared pieces (`softmax_along`, `normalise`) are also used by the gradient kernels.
"""

from __future__ import annotations

import numpy as np

from scalc.dialects import nn
from scalc.runtime.backends.reference.dtypes import narrow, wide
from scalc.runtime.backends.reference.env import RefEnv
from scalc.runtime.backends.reference.registry import reference


def softmax_along(x: np.ndarray, axis: int) -> np.ndarray:
    """Softmax of ``x`` along ``axis``, shifted by the maximum so ``exp`` cannot overflow."""
    shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def normalise(x: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """``(x_hat, 1 / sqrt(var + eps))`` over the last axis, with the biased variance
    (divide by ``D``), as ``torch.nn.LayerNorm``."""
    centred = x - np.mean(x, axis=-1, keepdims=True)
    inv_std = 1.0 / np.sqrt(np.mean(centred * centred, axis=-1, keepdims=True) + eps)
    return centred * inv_std, inv_std


def check_ids(op_name: str, ids: np.ndarray, rows: int) -> None:
    """Ids index ``rows`` rows; NumPy would wrap negative ids silently."""
    if ids.size and (ids.min() < 0 or ids.max() >= rows):
        raise IndexError(
            f"{op_name}: ids must lie in [0, {rows}), got values in [{ids.min()}, {ids.max()}]"
        )


def causal_keep(n: int) -> np.ndarray:
    """``[n, n]`` booleans, true where ``j <= i`` (a query may attend to itself and the past)."""
    return np.tri(n, dtype=bool)


@reference(nn.SoftmaxOp)
def softmax(op: nn.SoftmaxOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    return narrow(softmax_along(wide(x), op.axis.value.data), x.dtype)


@reference(nn.LayerNormOp)
def layernorm(
    op: nn.LayerNormOp, env: RefEnv, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray
) -> np.ndarray:
    x_hat, _ = normalise(wide(x), op.eps.value.data)
    return narrow(x_hat * wide(gamma) + wide(beta), x.dtype)


@reference(nn.EmbeddingOp)
def embedding(op: nn.EmbeddingOp, env: RefEnv, table: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """``table[ids]``: shape ``ids.shape + [D]``."""
    check_ids(op.name, ids, table.shape[0])
    return np.take(table, ids, axis=0)


@reference(nn.CausalMaskOp)
def causal_mask(op: nn.CausalMaskOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    """``x[..., i, j]`` for ``j <= i``, ``-inf`` above the diagonal."""
    return np.where(causal_keep(x.shape[-1]), x, -np.inf).astype(x.dtype, copy=False)
