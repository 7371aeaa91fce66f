"""The boundary between a user's arrays and the executor's: NumPy or torch in, the same
kind out (DESIGN.md §7), and the dtype policy.

Dtype policy: a value of the expected *kind* is converted (``float64`` pixels -> ``f32``,
``int64`` labels -> ``i32`` when every value fits); a value of another kind is refused
(float ids, integer pixels, booleans), since a silent cast there hides a bug in the data
pipeline. torch is only imported when a torch tensor is given.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from scalc.diagnostics import InputError
from scalc.runtime.executor import ArgSpec


def is_torch_tensor(value: Any) -> bool:
    """True for a ``torch.Tensor``, without importing torch when none was given."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def to_numpy(name: str, value: Any) -> np.ndarray:
    """A NumPy view or copy of ``value``: an array, a torch tensor or nested numbers."""
    if is_torch_tensor(value):
        value = value.detach()
        if value.dtype.is_floating_point and value.dtype.itemsize < 4:
            value = value.float()  # bf16/f16 tensors have no NumPy view; f32 is exact
        return np.asarray(value.cpu().numpy())
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise InputError(f"input `{name}`: not an array: {err}") from None
    if array.dtype.kind not in "biufV":
        raise InputError(
            f"input `{name}`: expected a NumPy array or torch tensor of numbers, got "
            f"{type(value).__name__} with dtype {array.dtype}"
        )
    return array


def convert(spec: ArgSpec, array: np.ndarray) -> np.ndarray:
    """``array`` in the dtype ``spec`` expects, by the dtype policy above."""
    want = spec.dtype
    if array.dtype == want:
        return array
    expected = spec.describe()
    if want.kind in "fV":
        if array.dtype.kind not in "fV":
            raise InputError(
                f"input `{spec.name}`: expected floats {expected}, got dtype {array.dtype}; "
                "convert it explicitly if that is intended"
            )
        return array.astype(want)
    if array.dtype.kind not in "iu":
        raise InputError(
            f"input `{spec.name}`: expected integer ids {expected}, got dtype {array.dtype}"
            + ("; ids must be integers, not floats" if array.dtype.kind in "fV" else "")
        )
    info = np.iinfo(want)
    if array.size and (array.min() < info.min or array.max() > info.max):
        raise InputError(
            f"input `{spec.name}`: expected {expected}, got {array.dtype} values in "
            f"[{array.min()}, {array.max()}], which do not fit {want}"
        )
    return array.astype(want)


def like_torch(values: dict[str, np.ndarray], example: Any) -> dict[str, Any]:
    """``values`` as torch tensors on the device of ``example`` (a torch tensor)."""
    import torch

    return {
        name: torch.from_numpy(_owned(value)).to(example.device) for name, value in values.items()
    }


def _owned(value: np.ndarray) -> np.ndarray:
    """A writable array of its own (torch shares memory, and must not share a parameter's)."""
    if value.base is not None or not value.flags.writeable or not value.flags.c_contiguous:
        return np.array(value, copy=True, order="C")
    return value
