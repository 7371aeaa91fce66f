"""`DeviceBuffers` (runtime/backends/triton/buffers.py): the session's view of parameters
and state kept on the kernels' device. Asking whether a name is there must not copy the
tensor to the host (``Mapping.__contains__`` would, through ``__getitem__``)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from scalc.runtime.backends.triton import buffers


def test_membership_does_not_copy_to_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    table = buffers.DeviceBuffers("cpu")
    table.set_tensor("w", torch.ones(3))
    copies = []
    original = buffers.to_numpy
    monkeypatch.setattr(buffers, "to_numpy", lambda t: copies.append(t) or original(t))
    assert "w" in table and "v" not in table
    assert copies == []
    np.testing.assert_array_equal(table["w"], np.ones(3, np.float32))  # a read does copy
    assert len(copies) == 1
