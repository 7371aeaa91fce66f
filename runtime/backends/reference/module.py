"""Module-level ops: parameter declarations and reads, scalar constants, and (in the train
module, docs/train.md) optimizer state and the writes that end an optimizer step.

Declarations (``nn.param``, ``nn.state``) have no operands: their kernel returns the
initial value, which the executor stores in ``env.params`` / ``env.state``. Writes return
``None`` and store a copy, so an array the executor handed in is never aliased.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import TensorType

from scalc.dialects import nn
from scalc.runtime.backends.reference.dtypes import numpy_dtype
from scalc.runtime.backends.reference.env import RefEnv
from scalc.runtime.backends.reference.formats import round_to
from scalc.runtime.backends.reference.registry import reference


def static_shape(tensor: TensorType) -> tuple[int, ...]:
    """The shape of a parameter or state buffer (the verifiers make it static)."""
    return tuple(tensor.get_shape())


def store(table: dict[str, np.ndarray], what: str, name: str, value: np.ndarray) -> None:
    """``table[name] = copy(value)``, refusing a value of another shape than the stored one."""
    old = table.get(name)
    if old is not None and old.shape != value.shape:
        raise ValueError(f"{what} @{name} has shape {old.shape}, cannot store {value.shape}")
    table[name] = np.array(value, copy=True)


def read(table: dict[str, np.ndarray], what: str, name: str) -> np.ndarray:
    if name not in table:
        raise KeyError(f"{what} @{name} has no value in the environment")
    return table[name]


@reference(nn.ParamOp)
def param(op: nn.ParamOp, env: RefEnv) -> np.ndarray:
    """The initial value: ``normal`` draws ``mean + std * N(0, 1)`` from ``env.rng``."""
    shape, dtype = static_shape(op.type), numpy_dtype(op.type.get_element_type())
    match op.init.data:
        case "normal":
            assert op.std is not None, "verified: init normal has a std"
            mean = op.mean.value.data if op.mean is not None else 0.0
            return (mean + op.std.value.data * env.rng.standard_normal(shape)).astype(dtype)
        case "zeros":
            return np.zeros(shape, dtype)
        case "ones":
            return np.ones(shape, dtype)
        case "constant":
            assert op.value is not None, "verified: init constant has a value"
            return np.full(shape, op.value.value.data, dtype)
        case other:
            raise ValueError(f"nn.param @{op.sym_name.data}: unknown init {other!r}")


@reference(nn.GetParamOp)
def get_param(op: nn.GetParamOp, env: RefEnv) -> np.ndarray:
    return read(env.params, "parameter", op.param.string_value())


@reference(nn.ConstantOp)
def constant(op: nn.ConstantOp, env: RefEnv) -> np.ndarray:
    return np.asarray(op.value.value.data, dtype=numpy_dtype(op.result.type.get_element_type()))


@reference(nn.StateOp)
def state(op: nn.StateOp, env: RefEnv) -> np.ndarray:
    """The initial value of optimizer state: zeros (docs/train.md), or with
    ``init = "param"`` its parameter's value rounded to nearest even into the state's type
    (the executor initialises parameters first)."""
    element = op.type.get_element_type()
    if op.init is None:
        return np.zeros(static_shape(op.type), numpy_dtype(element))
    assert op.param is not None, 'verified: init = "param" has a param'
    value = read(env.params, "parameter", op.param.string_value())
    return np.array(round_to(value, element), dtype=numpy_dtype(element), copy=True)


@reference(nn.GetStateOp)
def get_state(op: nn.GetStateOp, env: RefEnv) -> np.ndarray:
    return read(env.state, "state buffer", op.state.string_value())


@reference(nn.SetParamOp)
def set_param(op: nn.SetParamOp, env: RefEnv, value: np.ndarray) -> None:
    store(env.params, "parameter", op.param.string_value(), value)


@reference(nn.SetStateOp)
def set_state(op: nn.SetStateOp, env: RefEnv, value: np.ndarray) -> None:
    store(env.state, "state buffer", op.state.string_value(), value)
