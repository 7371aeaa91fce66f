"""Ops that only move elements: reshape, broadcast, transpose, slice, index.

Sizes named by ``#nn.dims`` attributes are evaluated under ``env.sizes``. Results may be
views of the operand (kernels never write into either).
"""

from __future__ import annotations

import numpy as np

from scalc.dialects import nn
from scalc.runtime.backends.reference.env import RefEnv
from scalc.runtime.backends.reference.registry import reference


def along(axis: int, index: int | slice) -> tuple[slice | int, ...]:
    """The NumPy index that applies ``index`` to ``axis`` and keeps the other axes."""
    return (slice(None),) * axis + (index,)


@reference(nn.ReshapeOp)
def reshape(op: nn.ReshapeOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    shape = env.shape(op.dims)
    if int(np.prod(shape)) != x.size:
        raise ValueError(f"nn.reshape: cannot reshape {x.shape} to {op.dims} = {shape}")
    return x.reshape(shape)


@reference(nn.BroadcastOp)
def broadcast(op: nn.BroadcastOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    return np.broadcast_to(x, env.shape(op.dims))


@reference(nn.TransposeOp)
def transpose(op: nn.TransposeOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    return np.transpose(x, op.perm.get_values())


@reference(nn.SliceOp)
def slice_(op: nn.SliceOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    axis, start = op.axis.value.data, op.start.value.data
    (stop,) = env.shape(op.stop)
    # NumPy clips out-of-range slices silently; the IR promises the range exists.
    if not 0 <= start <= stop <= x.shape[axis]:
        raise IndexError(
            f"nn.slice: [{start}:{stop}] is out of range for axis {axis} of size {x.shape[axis]}"
        )
    return x[along(axis, slice(start, stop))]


@reference(nn.IndexOp)
def index(op: nn.IndexOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
    axis, i = op.axis.value.data, op.index.value.data
    if not 0 <= i < x.shape[axis]:
        raise IndexError(f"nn.index: {i} is out of range for axis {axis} of size {x.shape[axis]}")
    return np.asarray(x[along(axis, i)])  # a 0-d array, not a NumPy scalar, at rank 1
