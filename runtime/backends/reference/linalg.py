"""``nn.matmul``: NumPy's ``matmul`` already broadcasts a 2-D ``rhs`` over the batch."""

from __future__ import annotations

import numpy as np

from scalc.dialects import nn
from scalc.runtime.backends.reference.dtypes import narrow, wide
from scalc.runtime.backends.reference.env import RefEnv
from scalc.runtime.backends.reference.registry import reference


@reference(nn.MatmulOp)
def matmul(op: nn.MatmulOp, env: RefEnv, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``lhs[..., M, K] @ rhs[K, N]`` or ``@ rhs[..., K, N]`` (same batch dims); half-width
    inputs accumulate in float32 (docs/ir.md)."""
    if rhs.ndim not in (2, lhs.ndim) or (rhs.ndim > 2 and rhs.shape[:-2] != lhs.shape[:-2]):
        raise ValueError(f"nn.matmul: cannot multiply {lhs.shape} by {rhs.shape}")
    return narrow(np.matmul(wide(lhs), wide(rhs)), lhs.dtype)
