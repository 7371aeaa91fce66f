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
    a, b = _blas_ready(wide(lhs)), _blas_ready(wide(rhs))
    if b.ndim == 2 and a.ndim > 2:
        # One GEMM over all rows instead of one per batch entry.
        rows = np.ascontiguousarray(a).reshape(-1, a.shape[-1])
        out = np.empty((*a.shape[:-1], b.shape[-1]), dtype=np.result_type(a, b))
        np.matmul(rows, b, out=out.reshape(rows.shape[0], b.shape[-1]))
        return narrow(out, lhs.dtype)
    return narrow(np.matmul(a, b), lhs.dtype)


def _blas_ready(x: np.ndarray) -> np.ndarray:
    """A layout NumPy hands to BLAS. Transposes arrive as strided views, and NumPy's
    batched matmul over such views falls back to a loop ~25x slower than a copy + GEMM."""
    if x.flags.c_contiguous or (x.ndim == 2 and x.flags.f_contiguous):
        return x
    return np.ascontiguousarray(x)
