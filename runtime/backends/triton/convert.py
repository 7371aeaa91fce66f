"""NumPy <-> torch for the Triton backends: the session keeps parameters, state, inputs and
results as NumPy arrays (ml_dtypes for bf16 and fp8), the kernels take torch tensors.

On CPU (``triton-interpret``) the conversions share memory where the dtypes allow; on CUDA
they copy to and from the device.
"""

from __future__ import annotations

import warnings
from typing import Any

import ml_dtypes
import numpy as np
import torch

# ml_dtypes NumPy dtype name -> (same-width integer NumPy dtype, torch dtype)
_VIEWS = {
    "bfloat16": (np.uint16, torch.bfloat16),
    "float8_e4m3fn": (np.uint8, torch.float8_e4m3fn),
    "float8_e5m2": (np.uint8, torch.float8_e5m2),
}
# torch dtype -> (same-width integer torch dtype, ml_dtypes NumPy dtype)
_BACK = {
    torch.bfloat16: (torch.uint16, ml_dtypes.bfloat16),
    torch.float8_e4m3fn: (torch.uint8, ml_dtypes.float8_e4m3fn),
    torch.float8_e5m2: (torch.uint8, ml_dtypes.float8_e5m2),
}


def to_torch(array: Any, device: Any) -> torch.Tensor:
    """``array`` as a torch tensor on ``device`` (no copy on CPU when it can be avoided).
    Kernels never write into an argument, so a read-only array is safe to share."""
    a = np.asarray(array)
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    view = _VIEWS.get(a.dtype.name)
    with warnings.catch_warnings():
        # "The given NumPy array is not writable": the runtime never writes through it.
        warnings.simplefilter("ignore", UserWarning)
        if view is not None:
            raw, dtype = view
            tensor = torch.from_numpy(a.view(raw)).view(dtype)
        else:
            tensor = torch.from_numpy(a)
    return tensor.to(device) if str(device) != "cpu" else tensor


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A tensor as a NumPy array of the matching dtype (a copy from the device; on CPU it
    may share memory: callers that keep it copy it)."""
    t = tensor.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    t = t.contiguous()
    back = _BACK.get(t.dtype)
    if back is not None:
        raw, dtype = back
        return t.view(raw).numpy().view(dtype)
    return t.numpy()



_PLAIN = {
    torch.float32: np.float32,
    torch.float64: np.float64,
    torch.float16: np.float16,
    torch.int32: np.int32,
    torch.int64: np.int64,
    torch.int8: np.int8,
    torch.uint8: np.uint8,
    torch.bool: np.bool_,
}


def numpy_dtype(dtype: torch.dtype) -> np.dtype:
    """The NumPy dtype (ml_dtypes for bf16 and fp8) that `to_numpy` gives a tensor of
    ``dtype``, without making one."""
    back = _BACK.get(dtype)
    return np.dtype(back[1] if back is not None else _PLAIN[dtype])
