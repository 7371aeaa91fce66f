"""Runs one entry point (a ``func.func`` of the train module) on NumPy arrays.

`Executor` compiles the function once into a flat schedule: for each op its kernel, the
slots of its operands and results, and the slots whose last use it is. Those are dropped
right after the op runs, so an intermediate lives only as long as it is needed (the memory
plan; `Executor.peak_live` counts the values alive at once). Running is then a loop over
the schedule with no per-element Python and no IR inspection.

Before running, the symbolic sizes (``B``, ``T``) are bound from the inputs' shapes and
the ``nn.dims`` of the entry's arguments; a shape the entry cannot take is a
`scalc.InputError` naming the input, what was expected and what came, before any kernel
runs. So is a size that makes an ``nn.slice`` reach past its operand (``pos_emb[0:T]``
with ``T`` longer than the position table) and an id or label out of range.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import DYNAMIC_INDEX, TensorType
from xdsl.ir import BlockArgument, Operation, SSAValue

from scalc.diagnostics import InputError
from scalc.dialects import nn, scaled
from scalc.dialects.nn.dims import Dim
from scalc.runtime.backends.reference.dtypes import numpy_dtype

Kernel = Callable[..., Any]
# Ops that only move ids around: an id operand reached through them is still an input's.
_ID_PRESERVING = (nn.ReshapeOp, nn.TransposeOp, nn.BroadcastOp, nn.SliceOp, nn.IndexOp)
# (op class, operand index of the ids, operand index and axis whose size bounds them)
_ID_USERS: tuple[tuple[type[Operation], int, int, int], ...] = (
    (nn.EmbeddingOp, 1, 0, 0),
    (nn.CrossEntropyOp, 1, 0, -1),
    (nn.CrossEntropyGradOp, 1, 0, -1),
)
# The scaled mirrors (docs/scaled.md) move ids and read them the same way.
_ID_PRESERVING += tuple(scaled.MIRROR[c] for c in _ID_PRESERVING)
_ID_USERS += tuple((scaled.MIRROR[c], *rest) for c, *rest in _ID_USERS)
_SLICES = (nn.SliceOp, scaled.SliceOp)


@dataclass(frozen=True)
class ArgSpec:
    """One argument of an entry point: an input (``nn.input``, with ``nn.dims``) or a value
    handed over between entry points (a saved value, a gradient)."""

    name: str
    dtype: np.dtype
    shape: tuple[int | None, ...]
    dims: tuple[Dim, ...] | None
    grad: str | None = None
    """The parameter whose gradient this argument is (``nn.grad``), if it is one."""

    def describe(self) -> str:
        """``f32[B, 64]``."""
        sizes = self.dims or tuple("?" if s is None else s for s in self.shape)
        return f"{_dtype_name(self.dtype)}[{', '.join(str(d) for d in sizes)}]"


@dataclass(frozen=True)
class _SliceBound:
    """An ``nn.slice`` whose stop is symbolic: ``start <= stop <= size`` once bound."""

    stop: Dim
    start: int
    size: int
    axis: int
    operand: str


@dataclass(frozen=True)
class _IdBound:
    """Input ``arg`` holds ids that ``user`` reads: they must lie in ``[0, rows)``."""

    arg: int
    rows: int
    user: str


class Executor:
    """One entry point compiled for a kernel table; ``run(env, args)`` executes it."""

    def __init__(
        self,
        fn: func.FuncOp,
        kernels: Mapping[type[Operation], Kernel],
        units: Sequence[Unit] | None = None,
    ) -> None:
        """``kernels`` gives each op its kernel; a backend that runs groups of ops instead
        (the Triton backends) passes ``units``: (kernel, tag, operands, results) in an
        order that respects data flow, each run as ``kernel(tag, env, *operands)``. Values
        made and used inside a unit get no slot traffic."""
        self.name = fn.sym_name.data
        block = fn.body.block
        self.args = tuple(_arg_spec(fn, i) for i in range(len(block.args)))
        self.result_names = tuple(_result_names(fn))
        self.binds_sizes = any(spec.dims is not None for spec in self.args)
        slot = {value: i for i, value in enumerate(_values(block))}
        self.value_count = len(slot)
        self.arg_slots = tuple(slot[a] for a in block.args)
        ret = block.last_op
        assert isinstance(ret, func.ReturnOp), "verified: a func.func ends with func.return"
        self.return_slots = tuple(slot[v] for v in ret.operands)
        if units is None:
            units = _op_units(block, kernels)
        self._steps = _schedule(block, units, slot, frozenset(self.return_slots))
        self._slices = tuple(_slice_bounds(block))
        self._ids = tuple(_id_bounds(block))
        self.peak_live = _peak_live(len(self.arg_slots), self._steps)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.args if spec.dims is not None)

    def run(self, env: Any, args: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Execute on ``args`` (in argument order); ``env.sizes`` is rebound from inputs."""
        self.prepare(env, args)
        return self.execute(env, args)

    def prepare(self, env: Any, args: Sequence[np.ndarray]) -> None:
        """Bind ``env.sizes`` from the inputs' shapes and check them (`InputError`)."""
        if self.binds_sizes:
            env.sizes = self.bind_sizes(args)
        self.check_sizes(env.sizes)

    def execute(self, env: Any, args: Sequence[Any]) -> list[Any]:
        """Run the schedule on ``args`` under the sizes `prepare` bound."""
        slots: list[Any] = [None] * self.value_count
        for i, value in zip(self.arg_slots, args):
            slots[i] = value
        for kernel, op, operands, results, dead in self._steps:
            out = kernel(op, env, *[slots[i] for i in operands])
            if len(results) == 1:
                slots[results[0]] = out
            else:
                for i, value in zip(results, out or ()):
                    slots[i] = value
            for i in dead:
                slots[i] = None
        return [slots[i] for i in self.return_slots]

    def bind_sizes(self, args: Sequence[np.ndarray]) -> dict[str, int]:
        """The symbolic sizes the inputs' shapes give; `InputError` on any disagreement."""
        if len(args) != len(self.args):
            raise InputError(f"@{self.name} takes {len(self.args)} arguments, got {len(args)}")
        sizes: dict[str, int] = {}
        seen: dict[str, tuple[str, tuple[int, ...]]] = {}
        for spec, array in zip(self.args, args):
            _check_array(spec, array)
            for axis, (dim, n) in enumerate(zip(spec.dims or (), array.shape)):
                if dim.is_static or dim.coeff != 1 or len(dim.symbols) != 1:
                    continue
                (symbol,) = dim.symbols
                if symbol in sizes and sizes[symbol] != n:
                    other, other_shape = seen[symbol]
                    raise InputError(
                        f"inputs disagree on {symbol}: `{other}` has {symbol}={sizes[symbol]} "
                        f"(shape {other_shape}) but `{spec.name}` has {symbol}={n} "
                        f"(shape {tuple(array.shape)})"
                    )
                if n < 1:
                    raise InputError(
                        f"input `{spec.name}`: {symbol}={n} (shape {tuple(array.shape)}), but "
                        "sizes must be at least 1"
                    )
                sizes[symbol] = n
                seen[symbol] = (spec.name, tuple(array.shape))
        for spec, array in zip(self.args, args):
            _check_composite_dims(spec, array, sizes)
        for bound in self._ids:
            _check_ids(self.args[bound.arg].name, args[bound.arg], bound)
        return sizes

    def check_sizes(self, sizes: dict[str, int]) -> None:
        """Every symbolic slice stays within its operand (``T <= MAX_T``)."""
        for b in self._slices:
            stop = b.stop.evaluate(sizes)
            if b.start <= stop <= b.size:
                continue
            bound = f"{b.start} <= {b.stop} <= {b.size}"
            if len(b.stop.symbols) == 1 and b.stop.coeff == 1:
                bound = (
                    f"{b.stop} must be <= {b.size}"
                    if stop > b.size
                    else f"{b.stop} must be >= {b.start}"
                )
            bound_sizes = ", ".join(f"{s}={sizes[s]}" for s in b.stop.symbols)
            raise InputError(
                f"the inputs give {bound_sizes}, but the model takes [{b.start}:{b.stop}] along "
                f"axis {b.axis} of {b.operand}, which has {b.size} entries: {bound}"
            )


def _arg_spec(fn: func.FuncOp, index: int) -> ArgSpec:
    t = fn.function_type.inputs.data[index]
    # A scaled tensor (a saved value between entry points) is checked by its data.
    assert isinstance(t, TensorType | scaled.ScaledTensorType), "verified: arguments are tensors"
    attrs = dict(fn.arg_attrs.data[index].data) if fn.arg_attrs else {}
    dims_attr = attrs.get("nn.dims")
    dims = dims_attr.dims if isinstance(dims_attr, nn.DimsAttr) else None
    grad = attrs["nn.grad"].data if "nn.grad" in attrs else None  # type: ignore[attr-defined]
    if "nn.input" in attrs:
        name = attrs["nn.input"].data  # type: ignore[attr-defined]
    else:
        name = f"gradient of {grad}" if grad is not None else f"argument {index}"
    shape = tuple(None if s == DYNAMIC_INDEX else s for s in t.get_shape())
    return ArgSpec(name, numpy_dtype(t.get_element_type()), shape, dims, grad)


def _result_names(fn: func.FuncOp) -> list[str]:
    count = len(fn.function_type.outputs.data)
    attrs = [dict(d.data) for d in fn.res_attrs.data] if fn.res_attrs else [{}] * count
    names = []
    for i, a in enumerate(attrs):
        label = a.get("nn.output") or a.get("nn.grad")
        names.append(label.data if label is not None else f"result {i}")  # type: ignore[attr-defined]
    return names


def _values(block: Any) -> list[SSAValue]:
    values: list[SSAValue] = list(block.args)
    for op in block.ops:
        values.extend(op.results)
    return values


Step = tuple[Kernel, Any, tuple[int, ...], tuple[int, ...], tuple[int, ...]]
Unit = tuple[Kernel, Any, Sequence[SSAValue], Sequence[SSAValue]]
"""(kernel, tag, operand values, result values): one step of an executor's schedule."""


def _op_units(block: Any, kernels: Mapping[type[Operation], Kernel]) -> list[Unit]:
    """One unit per op (the ``func.return`` aside), with its kernel from ``kernels``."""
    units: list[Unit] = []
    for op in block.ops:
        if isinstance(op, func.ReturnOp):
            continue
        kernel = kernels.get(type(op))
        if kernel is None:
            raise NotImplementedError(f"{op.name} has no kernel in this backend")
        units.append((kernel, op, list(op.operands), list(op.results)))
    return units


def _schedule(
    block: Any,
    units: Sequence[Unit],
    slot: dict[SSAValue, int],
    keep: frozenset[int],
) -> tuple[Step, ...]:
    """The units in order, each with the slots that die once it has run."""
    defined = {slot[a]: -1 for a in block.args}
    last_use: dict[int, int] = {}
    for position, (_, _, operands, results) in enumerate(units):
        for value in operands:
            last_use[slot[value]] = position
        for value in results:
            defined[slot[value]] = position
    dead_after: dict[int, list[int]] = {}
    for s in range(len(slot)):
        if s not in keep and s in defined:
            # A value no unit reads dies where it is made (an unused argument: at the start).
            dead_after.setdefault(last_use.get(s, defined[s]), []).append(s)
    steps: list[Step] = []
    for position, (kernel, tag, operands, results) in enumerate(units):
        dead = list(dead_after.get(position, ()))
        if position == 0:
            dead += dead_after.get(-1, ())
        steps.append(
            (
                kernel,
                tag,
                tuple(slot[v] for v in operands),
                tuple(slot[v] for v in results),
                tuple(sorted(set(dead))),
            )
        )
    return tuple(steps)


def _peak_live(arg_count: int, steps: tuple[Step, ...]) -> int:
    live = peak = arg_count
    for _, _, _, results, dead in steps:
        live += len(results)
        peak = max(peak, live)
        live -= len(dead)
    return peak


def _slice_bounds(block: Any) -> list[_SliceBound]:
    bounds = []
    for op in block.ops:
        if not isinstance(op, _SLICES):
            continue
        (stop,) = op.stop.dims
        size = op.operands[0].type.get_shape()[op.axis.value.data]  # type: ignore[attr-defined]
        if stop.is_static or size == DYNAMIC_INDEX:
            continue
        bounds.append(
            _SliceBound(
                stop, op.start.value.data, size, op.axis.value.data, _describe(op.operands[0])
            )
        )
    return bounds


def _id_bounds(block: Any) -> list[_IdBound]:
    bounds = []
    for op in block.ops:
        for op_class, ids_index, table_index, axis in _ID_USERS:
            if not isinstance(op, op_class):
                continue
            source = _through_shape_ops(op.operands[ids_index])
            rows = op.operands[table_index].type.get_shape()[axis]  # type: ignore[attr-defined]
            if isinstance(source, BlockArgument) and rows != DYNAMIC_INDEX:
                bounds.append(_IdBound(source.index, rows, op.name))
    return bounds


def _through_shape_ops(value: SSAValue) -> SSAValue:
    while isinstance(value.owner, _ID_PRESERVING):
        value = value.owner.operands[0]
    return value


def _describe(value: SSAValue) -> str:
    owner = value.owner
    if isinstance(owner, scaled.FromTensorOp):
        return _describe(owner.input)
    if isinstance(owner, nn.GetParamOp):
        return f"parameter `{owner.param.string_value()}`"
    return f"a {value.type} value"


def _check_array(spec: ArgSpec, array: np.ndarray) -> None:
    expected = spec.describe()
    if array.dtype != spec.dtype:
        raise InputError(f"input `{spec.name}`: expected {expected}, got dtype {array.dtype}")
    if array.ndim != len(spec.shape):
        raise InputError(
            f"input `{spec.name}`: expected {len(spec.shape)} dimensions {expected}, got "
            f"shape {tuple(array.shape)} ({array.ndim} dimensions)"
        )
    for axis, (want, got) in enumerate(zip(spec.shape, array.shape)):
        if want is not None and want != got:
            raise InputError(
                f"input `{spec.name}`: expected {expected}, got shape {tuple(array.shape)}: "
                f"dimension {axis} must be {want}"
            )


def _check_composite_dims(spec: ArgSpec, array: np.ndarray, sizes: dict[str, int]) -> None:
    """Dims such as ``2*B`` once the single symbols are bound."""
    for axis, (dim, n) in enumerate(zip(spec.dims or (), array.shape)):
        if dim.is_static or (dim.coeff == 1 and len(dim.symbols) == 1):
            continue
        unbound = [s for s in dim.symbols if s not in sizes]
        if unbound:
            raise InputError(
                f"input `{spec.name}`: dimension {axis} is {dim}, but no input gives "
                f"{', '.join(unbound)} on its own"
            )
        if dim.evaluate(sizes) != n:
            raise InputError(
                f"input `{spec.name}`: expected {spec.describe()}, got shape {tuple(array.shape)}: "
                f"dimension {axis} must be {dim} = {dim.evaluate(sizes)}"
            )


def _check_ids(name: str, ids: np.ndarray, bound: _IdBound) -> None:
    if ids.size == 0:
        return
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high >= bound.rows:
        raise InputError(
            f"input `{name}`: values must lie in [0, {bound.rows}) ({bound.user} reads them), "
            f"got values in [{low}, {high}]"
        )


def _dtype_name(dtype: np.dtype) -> str:
    names = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16"}
    names |= {"int32": "i32", "int64": "i64"}
    return names.get(dtype.name, dtype.name)
