"""`DeviceBuffers`: parameters or optimizer state kept on the kernels' device.

The session reads and writes its tables (``env.params``, ``env.state``) as a mapping of
NumPy arrays, for every backend. For the Triton backends the arrays live on the device as
torch tensors: the host ops read them with `tensor` and write with `set_tensor`, so a
training step moves no parameter or state across the bus; a NumPy copy is made only when
the session (or the user, through ``sess.params``, a checkpoint, ``state_bytes``) reads an
entry, and kept until the entry changes. Tensors are never written in place (kernels make
new results and the host op swaps them in), so a `snapshot` shares them safely.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import numpy as np

from scalc.runtime.backends.triton.convert import to_numpy, to_torch


class DeviceBuffers(MutableMapping[str, np.ndarray]):
    """Name -> tensor on ``device``, seen as name -> read-only NumPy array."""

    def __init__(self, device: Any) -> None:
        self.device = device
        self._tensors: dict[str, Any] = {}
        self._arrays: dict[str, np.ndarray] = {}

    # --- the kernels' side ----------------------------------------------------------

    def tensor(self, name: str) -> Any:
        """The device tensor of ``name`` (`KeyError` if there is none)."""
        return self._tensors[name]

    def set_tensor(self, name: str, tensor: Any) -> None:
        """Replace ``name`` by ``tensor`` (the caller gives up writing into it)."""
        self._tensors[name] = tensor
        self._arrays.pop(name, None)

    # --- the session's side -----------------------------------------------------------

    def __getitem__(self, name: str) -> np.ndarray:
        array = self._arrays.get(name)
        if array is None:
            array = np.array(to_numpy(self._tensors[name]), copy=True)
            array.flags.writeable = False
            self._arrays[name] = array
        return array

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        array = np.array(value, copy=True)
        self._tensors[name] = to_torch(array, self.device)
        array.flags.writeable = False
        self._arrays[name] = array

    def __delitem__(self, name: str) -> None:
        del self._tensors[name]
        self._arrays.pop(name, None)

    def __contains__(self, name: object) -> bool:
        # Mapping's default would call __getitem__, copying the tensor to the host.
        return name in self._tensors

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)

    def clear(self) -> None:
        self._tensors.clear()
        self._arrays.clear()

    def copy(self) -> DeviceBuffers:
        """A snapshot sharing the tensors (never written in place): no transfer."""
        other = DeviceBuffers(self.device)
        other._tensors = dict(self._tensors)
        other._arrays = dict(self._arrays)
        return other

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        if isinstance(other, DeviceBuffers):
            self._tensors.update(other._tensors)
            for name in other._tensors:
                self._arrays.pop(name, None)
            self._arrays.update(other._arrays)
            other = ()
        items = other.items() if isinstance(other, Mapping) else other
        for name, value in [*items, *kwargs.items()]:
            self[name] = value

    def freeze(self) -> None:
        """Arrays given out are read-only already; nothing to do (and nothing to copy)."""

    def nbytes(self) -> int:
        """Bytes of the device tensors."""
        return sum(t.numel() * t.element_size() for t in self._tensors.values())
