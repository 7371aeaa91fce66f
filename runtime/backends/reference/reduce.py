"""Reductions ``nn.sum``, ``nn.mean``, ``nn.max`` over the op's ``axes``."""

from __future__ import annotations

import numpy as np

from scalc.dialects import nn
from scalc.runtime.backends.reference.dtypes import narrow, wide
from scalc.runtime.backends.reference.env import RefEnv
from scalc.runtime.backends.reference.registry import reference


def reduce_args(op: nn.ReduceOp) -> tuple[tuple[int, ...], bool]:
    """``(axes, keepdims)`` of a reduction op."""
    return tuple(op.axes.get_values()), op.keepdims is not None


@reference(nn.SumOp)
def sum_(op: nn.SumOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    axes, keepdims = reduce_args(op)
    return narrow(np.sum(wide(x), axis=axes, keepdims=keepdims), x.dtype)


@reference(nn.MeanOp)
def mean(op: nn.MeanOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    axes, keepdims = reduce_args(op)
    return narrow(np.mean(wide(x), axis=axes, keepdims=keepdims), x.dtype)


@reference(nn.MaxOp)
def max_(op: nn.MaxOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    axes, keepdims = reduce_args(op)
    return narrow(np.max(x, axis=axes, keepdims=keepdims), x.dtype)
