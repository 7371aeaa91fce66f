"""Host ops of the Triton backends: the ops of ``host`` kernel groups (docs/lowering.md),
which launch nothing. Parameter and state reads and writes, constants, the conversions at
the scaled boundary, and views (reshape, transpose, slice, index), which are torch views
of the data: the kernels that read them take strides or make them contiguous.

Each kernel is ``kernel(op, env, *operands) -> KernelValue`` like a reference kernel, on
`KernelValue`s; parameters and state are read and written on the device
(`DeviceBuffers`); semantics as the reference's (runtime/backends/reference/module.py,
shape.py, scaled.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from xdsl.ir import Operation

from scalc.dialects import nn, scaled
from scalc.lowering.codegen.abi import (
    LARGEST,
    KernelValue,
    format_of_value,
    result_scales,
    torch_dtype,
)

HostKernel = Callable[..., Any]
HOST: dict[type[Operation], HostKernel] = {}


def host(*ops: type[Operation]) -> Callable[[HostKernel], HostKernel]:
    def register(fn: HostKernel) -> HostKernel:
        for op in ops:
            HOST[op] = fn
        return fn

    return register


def _round(x: torch.Tensor, fmt: str) -> torch.Tensor:
    """fp32 ``x`` rounded to nearest even into ``fmt``, saturating like the reference's
    ``round_to`` (NaN stays NaN)."""
    if fmt in LARGEST:
        top = LARGEST[fmt]
        x = x.clamp(-top, top)
    return x.to(torch_dtype(fmt))


def _read(table: Any, what: str, name: str) -> Any:
    try:
        return table.tensor(name)
    except KeyError:
        raise KeyError(f"{what} @{name} has no value in the environment") from None


def _store(table: Any, what: str, name: str, value: KernelValue) -> None:
    """``table[name] = value`` on the device; the shape must stay the declared one."""
    old = table.tensor(name) if name in table else None
    if old is not None and tuple(old.shape) != tuple(value.data.shape):
        raise ValueError(
            f"{what} @{name} has shape {tuple(old.shape)}, cannot store {tuple(value.data.shape)}"
        )
    table.set_tensor(name, value.data)


@host(nn.GetParamOp)
def get_param(op: nn.GetParamOp, env: Any) -> KernelValue:
    return KernelValue(_read(env.params, "parameter", op.param.string_value()))


@host(nn.GetStateOp)
def get_state(op: nn.GetStateOp, env: Any) -> KernelValue:
    return KernelValue(_read(env.state, "state buffer", op.state.string_value()))


@host(nn.SetParamOp)
def set_param(op: nn.SetParamOp, env: Any, value: KernelValue) -> None:
    _store(env.params, "parameter", op.param.string_value(), value)


@host(nn.SetStateOp)
def set_state(op: nn.SetStateOp, env: Any, value: KernelValue) -> None:
    _store(env.state, "state buffer", op.state.string_value(), value)


def _once(op: Operation, env: Any, make: Callable[[], KernelValue]) -> KernelValue:
    """``make()`` the first time a session runs ``op``; the same device value after."""
    value = env.constants.get(op)
    if value is None:
        value = env.constants[op] = make()
    return value


@host(nn.ConstantOp)
def constant(op: nn.ConstantOp, env: Any) -> KernelValue:
    fmt = format_of_value(op.result)
    return _once(op, env, lambda: KernelValue(
        torch.tensor(op.value.value.data, dtype=torch_dtype(fmt), device=env.device)
    ))  # fmt: skip


@host(scaled.ConstantOp)
def scaled_constant(op: Any, env: Any) -> KernelValue:
    """The value stored with the scale its rule gives (as the reference's ``mirrored``)."""

    def make() -> KernelValue:
        (scale,) = result_scales(op, (), ())
        value = torch.tensor(op.value.value.data, dtype=torch.float32, device=env.device)
        return KernelValue(_round(value / scale, format_of_value(op.result)), scale)

    return _once(op, env, make)


@host(scaled.FromTensorOp)
def from_tensor(op: scaled.FromTensorOp, env: Any, x: KernelValue) -> KernelValue:
    return KernelValue(_round(x.data.float(), format_of_value(op.result)), 1.0)


@host(scaled.ToTensorOp)
def to_tensor(op: scaled.ToTensorOp, env: Any, x: KernelValue) -> KernelValue:
    value = x.data.float()
    if x.scale is not None and x.scale != 1.0:
        value = value * x.scale
    return KernelValue(_round(value, format_of_value(op.result)))


def _view(x: KernelValue, data: torch.Tensor) -> KernelValue:
    return KernelValue(data, x.scale)


@host(nn.ReshapeOp, scaled.ReshapeOp)
def reshape(op: Any, env: Any, x: KernelValue) -> KernelValue:
    return _view(x, x.data.reshape(env.shape(op.dims)))


@host(nn.TransposeOp, scaled.TransposeOp)
def transpose(op: Any, env: Any, x: KernelValue) -> KernelValue:
    return _view(x, x.data.permute(*op.perm.get_values()))


@host(nn.SliceOp, scaled.SliceOp)
def slice_(op: Any, env: Any, x: KernelValue) -> KernelValue:
    axis, start = op.axis.value.data, op.start.value.data
    (stop,) = env.shape(op.stop)
    if not 0 <= start <= stop <= x.data.shape[axis]:
        raise IndexError(
            f"{op.name}: [{start}:{stop}] is out of range for axis {axis} of size "
            f"{x.data.shape[axis]}"
        )
    return _view(x, x.data.narrow(axis, start, stop - start))


@host(nn.IndexOp, scaled.IndexOp)
def index(op: Any, env: Any, x: KernelValue) -> KernelValue:
    axis, i = op.axis.value.data, op.index.value.data
    if not 0 <= i < x.data.shape[axis]:
        raise IndexError(f"{op.name}: {i} is out of range for axis {axis} of size {x.data.shape[axis]}")
    return _view(x, x.data.select(axis, i))
