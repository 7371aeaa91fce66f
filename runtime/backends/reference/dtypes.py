"""Element types: IR <-> NumPy, and the precision kernels compute in.

Kernels are dtype-preserving: float32 in, float32 out; float64 in (used by gradient
checks), float64 out. Half-width floats (bf16, f16) are computed in float32 and rounded
back, as the IR promises fp32 accumulation (docs/ir.md, ``nn.matmul``).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
from xdsl.dialects.builtin import TensorType, bf16, f8E4M3FN, f8E5M2, f16, f32, f64, i32, i64
from xdsl.ir import Attribute

_TO_NUMPY: dict[Attribute, np.dtype] = {
    f32: np.dtype(np.float32),
    f64: np.dtype(np.float64),
    f16: np.dtype(np.float16),
    bf16: np.dtype(ml_dtypes.bfloat16),
    # The data of scaled tensors (docs/scaled.md); `formats.round_to` rounds into them.
    f8E4M3FN: np.dtype(ml_dtypes.float8_e4m3fn),
    f8E5M2: np.dtype(ml_dtypes.float8_e5m2),
    i32: np.dtype(np.int32),
    i64: np.dtype(np.int64),
}
_FROM_NUMPY = {dtype: element for element, dtype in _TO_NUMPY.items()}


def numpy_dtype(element_type: Attribute) -> np.dtype:
    """``f32`` -> ``float32``, ``bf16`` -> ``ml_dtypes.bfloat16``, ``i32`` -> ``int32``..."""
    try:
        return _TO_NUMPY[element_type]
    except KeyError:
        raise TypeError(f"no NumPy dtype for the element type {element_type}") from None


def element_type(dtype: np.dtype) -> Attribute:
    """``float32`` -> ``f32``: the inverse of `numpy_dtype`."""
    try:
        return _FROM_NUMPY[np.dtype(dtype)]
    except KeyError:
        raise TypeError(f"no IR element type for the NumPy dtype {dtype}") from None


def tensor_type(array: np.ndarray) -> TensorType:
    """The IR type of ``array``, with its static shape."""
    return TensorType(element_type(array.dtype), array.shape)


def wide(x: np.ndarray) -> np.ndarray:
    """``x`` in the precision to compute with: float32 for half-width floats, else ``x``."""
    if x.dtype.kind in "fV" and x.dtype.itemsize < 4:
        return x.astype(np.float32)
    return x


def narrow(result: np.ndarray | np.generic, dtype: np.dtype) -> np.ndarray:
    """``result`` as an array of ``dtype`` (rounds what `wide` widened; no copy otherwise)."""
    return np.asarray(result).astype(dtype, copy=False)
