"""`ScaledArray`: the run-time value of a ``!scaled.tensor`` (docs/scaled.md).

Low-precision ``data`` (a NumPy array in its format's dtype: ``ml_dtypes.float8_e4m3fn``,
``float8_e5m2``, ``bfloat16``, ``float16`` or ``float32``) times an fp32 scalar ``scale``,
a power of two whenever it comes from a scale rule or ``scaled.rescale``::

    x = ScaledArray(np.array([1.5, -2.0], ml_dtypes.bfloat16), 2.0**-8)
    x.value()        # float32 [1.5 * 2^-8, -2 * 2^-8]

Frozen: kernels make new ones and never write into ``data``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalc.runtime.backends.reference.formats import value_of


@dataclass(frozen=True)
class ScaledArray:
    data: np.ndarray
    scale: float
    """An fp32 number (stored as the Python float of that fp32 value)."""

    def __post_init__(self) -> None:
        if not isinstance(self.data, np.ndarray):
            object.__setattr__(self, "data", np.asarray(self.data))
        object.__setattr__(self, "scale", float(np.float32(self.scale)))

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the data."""
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def value(self) -> np.ndarray:
        """``data * scale`` in float32 (exact for a power-of-two scale unless it leaves the
        float32 range)."""
        data = value_of(self.data)
        if self.scale == 1.0:
            return data
        return data * np.float32(self.scale)

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(x)`` is the value (float32), so comparisons in tests read naturally."""
        value = self.value()
        return value if dtype is None else value.astype(dtype)

    def __repr__(self) -> str:
        return f"ScaledArray(shape={self.shape}, dtype={self.dtype.name}, scale={self.scale!r})"
