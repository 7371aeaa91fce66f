"""``nn.cross_entropy``: softmax cross-entropy with integer labels, averaged over positions."""

from __future__ import annotations

import numpy as np

from scalc.dialects import nn
from scalc.runtime.backends.reference.dtypes import wide
from scalc.runtime.backends.reference.env import RefEnv
from scalc.runtime.backends.reference.layers import check_ids
from scalc.runtime.backends.reference.registry import reference


def loss_dtype(logits: np.ndarray) -> np.dtype:
    """The loss is f32 whatever the IR element type (docs/ir.md); float64 logits, which only
    gradient checks use, keep float64 so that finite differences stay exact."""
    return np.dtype(np.float64 if logits.dtype == np.float64 else np.float32)


@reference(nn.CrossEntropyOp)
def cross_entropy(
    op: nn.CrossEntropyOp, env: RefEnv, logits: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """``mean(logsumexp(logits[..., :]) - logits[..., label])`` over every position."""
    check_ids(op.name, labels, logits.shape[-1])
    x = wide(logits).astype(loss_dtype(logits), copy=False)
    picked = np.take_along_axis(x, labels[..., None], axis=-1)[..., 0]
    peak = np.max(x, axis=-1)
    logsumexp = peak + np.log(np.sum(np.exp(x - peak[..., None]), axis=-1))
    return np.asarray(np.mean(logsumexp - picked), dtype=x.dtype)
