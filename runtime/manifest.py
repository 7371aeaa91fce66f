"""The manifest fields an artifact derives from its train module (docs/train.md).

`describe_module` reads the module header (``scalc.model``, ``scalc.symbols``,
``scalc.optimizer``), the ``nn.param`` / ``nn.state`` declarations and the entry points'
argument and result attributes, and returns them as plain JSON values. Writing an
artifact stores them in ``manifest.json``; loading one recomputes them from
``train.mlir`` and compares, so the manifest can never describe another module.
"""

from __future__ import annotations

from typing import Any

from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    i1,
)
from xdsl.ir import Attribute

from scalc.dialects import nn
from scalc.dialects.nn.attrs import DimsAttr

DERIVED = ("model", "symbols", "optimizer", "inputs", "outputs", "params", "state", "entry_points")
"""The manifest fields `describe_module` computes."""


def describe_module(train: ModuleOp) -> dict[str, Any]:
    """The manifest fields that the train module determines (`DERIVED`), as JSON values."""
    attrs = train.attributes
    entries = [op for op in train.body.block.ops if isinstance(op, func.FuncOp)]
    forward = next((fn for fn in entries if fn.sym_name.data == "forward"), None)
    return {
        "model": _json(attrs["scalc.model"]) if "scalc.model" in attrs else None,
        "symbols": _json(attrs["scalc.symbols"]) if "scalc.symbols" in attrs else [],
        "optimizer": _json(attrs["scalc.optimizer"]) if "scalc.optimizer" in attrs else None,
        "inputs": _model_inputs(entries),
        "outputs": [] if forward is None else _outputs(forward),
        "params": [_param(op) for op in train.body.block.ops if isinstance(op, nn.ParamOp)],
        "state": [_state(op) for op in train.body.block.ops if isinstance(op, nn.StateOp)],
        "entry_points": [_entry_point(fn) for fn in entries],
    }


def _json(attr: Attribute) -> Any:
    """A plain JSON value for an attribute of the train module's header."""
    if isinstance(attr, StringAttr):
        return attr.data
    if isinstance(attr, FloatAttr):
        return float(attr.value.data)
    if isinstance(attr, IntegerAttr):
        value = int(attr.value.data)
        return bool(value) if attr.type == i1 else value
    if isinstance(attr, ArrayAttr):
        return [_json(a) for a in attr.data]
    if isinstance(attr, DictionaryAttr):
        return {k: _json(v) for k, v in attr.data.items()}
    return str(attr)


def _tensor(t: Attribute) -> tuple[str, list[int | str]]:
    assert isinstance(t, TensorType), "verified: scalc values are tensors"
    return str(t.get_element_type()), [s if s >= 0 else "?" for s in t.get_shape()]


def _arg_attrs(fn: func.FuncOp) -> list[dict[str, Attribute]]:
    count = len(fn.function_type.inputs.data)
    return [dict(d.data) for d in fn.arg_attrs.data] if fn.arg_attrs else [{}] * count


def _res_attrs(fn: func.FuncOp) -> list[dict[str, Attribute]]:
    count = len(fn.function_type.outputs.data)
    return [dict(d.data) for d in fn.res_attrs.data] if fn.res_attrs else [{}] * count


def _model_inputs(entries: list[func.FuncOp]) -> list[dict[str, Any]]:
    """The inputs of every entry point, merged so each keeps its relative order."""
    merged: list[dict[str, Any]] = []
    for fn in entries:
        previous = -1
        for attrs, t in zip(_arg_attrs(fn), fn.function_type.inputs.data):
            dims = attrs.get("nn.dims")
            if "nn.input" not in attrs or not isinstance(dims, nn.DimsAttr):
                continue  # lr, saved values and gradients are not model inputs
            name = _json(attrs["nn.input"])
            names = [entry["name"] for entry in merged]
            if name in names:
                previous = names.index(name)
                continue
            dtype, _ = _tensor(t)
            entry = {"name": name, "dtype": dtype, "dims": [_dim(d) for d in dims.dims]}
            previous += 1
            merged.insert(previous, entry)
    return merged


def _dim(d: Any) -> int | str:
    return d.value if d.is_static else str(d)


def _outputs(forward: func.FuncOp) -> list[dict[str, Any]]:
    # Result types spell symbolic sizes `?`; each result's `nn.dims` names them.
    outputs = []
    for attrs, t in zip(_res_attrs(forward), forward.function_type.outputs.data):
        dtype, dims = _tensor(t)
        named = attrs.get("nn.dims")
        if isinstance(named, DimsAttr):
            dims = [_dim(d) for d in named.dims]
        outputs.append({"name": _json(attrs["nn.output"]), "dtype": dtype, "dims": dims})
    return outputs


def _param(op: nn.ParamOp) -> dict[str, Any]:
    dtype, shape = _tensor(op.type)
    init = {
        "kind": op.init.data,
        **{k: (None if a is None else float(a.value.data)) for k, a in _init_numbers(op)},
    }
    return {"name": op.sym_name.data, "dtype": dtype, "shape": shape, "init": init}


def _init_numbers(op: nn.ParamOp) -> list[tuple[str, FloatAttr | None]]:
    return [("std", op.std), ("mean", op.mean), ("value", op.value)]


def _state(op: nn.StateOp) -> dict[str, Any]:
    dtype, shape = _tensor(op.type)
    param = None if op.param is None else op.param.string_value()
    init = "zeros" if op.init is None else op.init.data
    return {"name": op.sym_name.data, "dtype": dtype, "shape": shape, "param": param, "init": init}


def _entry_point(fn: func.FuncOp) -> dict[str, Any]:
    inputs = [_json(a["nn.input"]) for a in _arg_attrs(fn) if "nn.input" in a]
    outputs = [_json(a["nn.output"]) for a in _res_attrs(fn) if "nn.output" in a]
    return {"name": fn.sym_name.data, "inputs": inputs, "outputs": outputs}
