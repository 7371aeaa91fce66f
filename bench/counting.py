"""Counting what a training step asks of the host, on CPU: host reads of tensor values,
Triton launches, torch ops outside kernels, allocations and bytes across the (would-be)
PCIe bus. For `bench/step_cost.py` and the counting tests (tests/e2e/test_step_counts.py),
on the ``triton-interpret`` backend, where every tensor is a CPU tensor but the code paths
are the ``triton`` backend's: what would be a device-to-host sync on a GPU is a call here.

    with StepCounter() as counts:
        sess.train_step(tokens=..., targets=...)
    counts.host_reads        # [HostRead("item", "runtime/session.py:212"), ...]
    counts.launches          # [Launch("k3_gemm_bf16", grid, args), ...]
    counts.torch_ops         # Counter({"mul": 12, ...}) outside kernels

What counts:
- **host read**: a call that hands a tensor's values to Python or NumPy (``item``,
  ``tolist``, ``numpy``, ``cpu``, ``__float__``, ``__int__``, ``__bool__``, ``__index__``,
  ``__array__``, ``.to("cpu")``): on a GPU each is a device-to-host copy and a sync. Its
  bytes go to ``d2h_bytes``.
- **launch**: one ``@triton.jit`` kernel launched (Triton's interpreter
  ``InterpretedFunction.run``), with its grid and arguments (tensors as pointer, shape,
  strides, dtype; scalars as values): what a CUDA graph would have to replay.
- **torch op**: any torch function or tensor method called outside a launch (the
  interpreter's own copies inside a launch are not the program's), by name, except those
  that only read metadata (`METADATA`: ``shape``, ``stride``, ``data_ptr``...).
- **h2d**: ``torch.from_numpy``, ``torch.tensor``/``as_tensor`` of host data, and
  ``.to(device)`` / ``.cuda()``: host data entering the device, with its bytes.
- **allocation**: a torch op outside kernels whose result owns storage none of its tensor
  arguments had (``empty``, ``zeros``, a new result): what a captured step must not do
  after its first replay.

The counter patches methods for the duration of the ``with`` block and restores them; it
imports torch and triton (the interpreter must already be enabled: ``TRITON_INTERPRET=1``
before triton is imported).
"""

from __future__ import annotations

import collections
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

READS = frozenset({
    "item", "tolist", "numpy", "cpu", "__float__", "__int__", "__bool__", "__index__",
    "__array__", "__complex__",
})  # fmt: skip
"""Tensor methods that give a tensor's values to the host."""

METADATA = frozenset({
    "__get__", "__set__", "stride", "data_ptr", "numel", "dim", "size", "element_size",
    "is_contiguous", "untyped_storage", "storage_offset", "__len__", "__repr__", "__format__",
    "__hash__", "__eq__", "get_device", "is_floating_point", "nelement", "ndimension",
    "_is_view", "__dlpack_device__",
})  # fmt: skip
"""Tensor methods and properties that read metadata only (shape, strides, address): no
device work, not counted as torch ops."""

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class HostRead:
    """One host read: the method and the first scalc source line on the stack."""

    what: str
    where: str
    nbytes: int


@dataclass(frozen=True)
class Launch:
    """One kernel launch: kernel name, grid, and its arguments as a capture would see them."""

    kernel: str
    grid: Any
    args: tuple[Any, ...]


@dataclass
class StepCounter:
    """Counts host reads, launches, torch ops, allocations and transfers in a ``with``."""

    host_reads: list[HostRead] = field(default_factory=list)
    launches: list[Launch] = field(default_factory=list)
    torch_ops: collections.Counter[str] = field(default_factory=collections.Counter)
    allocations: list[str] = field(default_factory=list)
    h2d_bytes: int = 0
    d2h_bytes: int = 0
    h2d_copies: int = 0
    _in_kernel: int = 0
    _patches: list[tuple[Any, str, Any]] = field(default_factory=list)
    _mode: Any = None

    # --- totals -----------------------------------------------------------------------

    def summary(self) -> dict[str, int]:
        """The counts as plain numbers."""
        return {
            "host_reads": len(self.host_reads),
            "launches": len(self.launches),
            "torch_ops": sum(self.torch_ops.values()),
            "allocations": len(self.allocations),
            "h2d_copies": self.h2d_copies,
            "h2d_bytes": self.h2d_bytes,
            "d2h_bytes": self.d2h_bytes,
        }

    def reads_by_place(self) -> collections.Counter[str]:
        """``"item at runtime/session.py:212"`` -> how often."""
        return collections.Counter(f"{r.what} at {r.where}" for r in self.host_reads)

    # --- patching ---------------------------------------------------------------------

    def __enter__(self) -> Self:
        from triton.runtime import interpreter

        counter = self
        run = interpreter.InterpretedFunction.run

        def counted_run(fn_self: Any, *args: Any, grid: Any, warmup: Any, **kwargs: Any) -> Any:
            if not warmup and not counter._in_kernel:
                names = fn_self.arg_names
                values = [*args, *(kwargs[n] for n in names[len(args) :] if n in kwargs)]
                counter.launches.append(
                    Launch(fn_self.fn.__name__, _grid_key(grid), tuple(_arg_key(v) for v in values))
                )
            counter._in_kernel += 1
            try:
                return run(fn_self, *args, grid=grid, warmup=warmup, **kwargs)
            finally:
                counter._in_kernel -= 1

        self._patch(interpreter.InterpretedFunction, "run", counted_run)
        from_numpy = torch.from_numpy

        def counted_from_numpy(array: np.ndarray) -> torch.Tensor:
            if not counter._in_kernel:
                counter.h2d_copies += 1
                counter.h2d_bytes += int(np.asarray(array).nbytes)
            return from_numpy(array)

        self._patch(torch, "from_numpy", counted_from_numpy)
        self._mode = _CountingMode(self)
        self._mode.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._mode.__exit__(*exc)
        for owner, name, original in reversed(self._patches):
            setattr(owner, name, original)
        self._patches.clear()

    def _patch(self, owner: Any, name: str, new: Any) -> None:
        self._patches.append((owner, name, getattr(owner, name)))
        setattr(owner, name, new)

    # --- what the mode sees -----------------------------------------------------------

    def _saw(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
        if name in METADATA:
            return
        self.torch_ops[name] += 1
        first = args[0] if args else None
        if name in READS or (name == "to" and _to_host(args, kwargs)):
            nbytes = _nbytes(first)
            self.host_reads.append(HostRead(name, _caller(), nbytes))
            self.d2h_bytes += nbytes
        elif name in ("tensor", "as_tensor") or (
            name in ("to", "cuda") and _to_device(args, kwargs)
        ):
            self.h2d_copies += 1
            self.h2d_bytes += _nbytes(out)
        if isinstance(out, torch.Tensor) and _new_storage(out, args, kwargs):
            self.allocations.append(f"{name} at {_caller()}")


class _CountingMode(TorchFunctionMode):
    def __init__(self, counter: StepCounter) -> None:
        super().__init__()
        self.counter = counter

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if not self.counter._in_kernel:
            name = getattr(func, "__name__", str(func))
            self.counter._saw(name, tuple(args), kwargs, out)
        return out


def _grid_key(grid: Any) -> Any:
    return tuple(int(g) for g in grid) if isinstance(grid, tuple | list) else repr(grid)


def _arg_key(value: Any) -> Any:
    """A launch argument as a CUDA graph records it: a tensor by address and layout."""
    if isinstance(value, torch.Tensor):
        return (
            "tensor",
            value.data_ptr(),
            tuple(value.shape),
            tuple(value.stride()),
            str(value.dtype),
        )
    if isinstance(value, int | float | bool | str) or value is None:
        return value
    return repr(value)


def _nbytes(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    return 0


def _to_host(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    target = kwargs.get("device", args[1] if len(args) > 1 else None)
    return (
        isinstance(target, str | torch.device)
        and str(target).startswith("cpu")
        and (isinstance(args[0], torch.Tensor) and args[0].device.type != "cpu")
    )


def _to_device(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    target = kwargs.get("device", args[1] if len(args) > 1 else None)
    return isinstance(target, str | torch.device) and not str(target).startswith("cpu")


def _new_storage(out: torch.Tensor, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    try:
        ptr = out.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):
        return False
    if ptr == 0:
        return False
    for a in (*args, *kwargs.values()):
        if isinstance(a, torch.Tensor) and a.untyped_storage().data_ptr() == ptr:
            return False
    return True


def _caller(depth: int = 2) -> str:
    """The innermost ``depth`` stack frames in scalc's own code, innermost first (else the
    innermost frame outside this module)."""
    frames = traceback.extract_stack()[:-3]
    found: list[str] = []
    for frame in reversed(frames):
        path = Path(frame.filename)
        if path == Path(__file__).resolve() or ".venv" in path.parts:
            continue
        if ROOT in path.parents:
            found.append(f"{path.relative_to(ROOT)}:{frame.lineno}")
            if len(found) == depth:
                break
    if found:
        return " < ".join(found)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
