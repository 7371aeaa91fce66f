"""Symbolic shapes of `nn` values: which run-time sizes (``B``, ``B*T``) each ``?`` stands for.

MLIR types only say ``?``; gradient rules must *produce* such sizes (the gradient of
``reshape [B, T, 4, 32] -> [B, T, 128]`` reshapes back to ``[B, T, 4, 32]``), so they
need the monomial behind each ``?``. Entry-point arguments name theirs (``nn.dims``);
each op's rule below derives its result's dims from its operands'. A fully static result
needs no rule.
"""

from __future__ import annotations

from typing import Callable

from xdsl.dialects import func
from xdsl.dialects.builtin import DYNAMIC_INDEX, TensorType
from xdsl.ir import Attribute, Operation, SSAValue

from scalc.dialects import nn
from scalc.dialects.nn.attrs import DimsAttr
from scalc.dialects.nn.dims import Dim

Dims = tuple[Dim, ...]
_Rule = Callable[[Operation, list[Dims]], Dims]
_RULES: dict[type[Operation], _Rule] = {}


def _rule(*ops: type[Operation]) -> Callable[[_Rule], _Rule]:
    def register(fn: _Rule) -> _Rule:
        for op in ops:
            assert op not in _RULES, f"two shape rules for {op.name}"
            _RULES[op] = fn
        return fn

    return register


def int_prop(op: Operation, name: str) -> int:
    """An integer property (``axis``, ``start``, ``index``) as a Python int."""
    return int(op.properties[name].value.data)  # type: ignore[attr-defined]


def axes_of(op: Operation) -> tuple[int, ...]:
    return tuple(op.properties["axes"].get_values())  # type: ignore[attr-defined]


def perm_of(op: Operation) -> tuple[int, ...]:
    return tuple(op.properties["perm"].get_values())  # type: ignore[attr-defined]


def keepdims_of(op: Operation) -> bool:
    return "keepdims" in op.properties


def reduced_dims(dims: Dims, axes: tuple[int, ...], keepdims: bool) -> Dims:
    """The dims of a reduction over ``axes`` of a value of ``dims``."""
    return tuple(Dim(1) if i in axes else x for i, x in enumerate(dims) if keepdims or i not in axes)


def static_dims(t: TensorType) -> Dims | None:
    shape = t.get_shape()
    return None if DYNAMIC_INDEX in shape else tuple(Dim(s) for s in shape)


def infer_dims(fn: func.FuncOp) -> dict[SSAValue, Dims]:
    """The symbolic dims of every tensor value in ``fn`` (an entry point)."""
    dims: dict[SSAValue, Dims] = {}
    arg_attrs = fn.arg_attrs.data if fn.arg_attrs is not None else ()
    for arg, attrs in zip(fn.body.block.args, arg_attrs):
        named = attrs.data.get("nn.dims")
        if isinstance(named, DimsAttr):
            dims[arg] = named.dims
    for op in fn.body.block.ops:
        operand_dims = [dims.get(o, ()) for o in op.operands]
        for i, result in enumerate(op.results):
            if not isinstance(result.type, TensorType):
                continue
            known = static_dims(result.type)
            if known is not None:
                dims[result] = known
            else:
                rule = _RULES.get(type(op))
                if rule is None:
                    raise AssertionError(f"no shape rule for {op.name} with a symbolic result")
                dims[result] = rule(op, operand_dims) if i == 0 else operand_dims[i]
    return dims


@_rule(nn.SoftmaxOp, nn.CausalMaskOp, nn.LayerNormOp)
def _same_as_input(op: Operation, d: list[Dims]) -> Dims:
    return d[0]


@_rule(nn.MatmulOp)
def _matmul(op: Operation, d: list[Dims]) -> Dims:
    return d[0][:-1] + d[1][-1:]


@_rule(nn.ReshapeOp, nn.BroadcastOp)
def _named(op: Operation, d: list[Dims]) -> Dims:
    return op.dims.dims  # type: ignore[attr-defined,no-any-return]


@_rule(nn.TransposeOp)
def _transpose(op: Operation, d: list[Dims]) -> Dims:
    return tuple(d[0][p] for p in perm_of(op))


@_rule(nn.SumOp, nn.MeanOp, nn.MaxOp)
def _reduce(op: Operation, d: list[Dims]) -> Dims:
    return reduced_dims(d[0], axes_of(op), keepdims_of(op))


@_rule(nn.SliceOp)
def _slice(op: Operation, d: list[Dims]) -> Dims:
    axis, start, stop = int_prop(op, "axis"), int_prop(op, "start"), op.stop.dims[0]  # type: ignore[attr-defined]
    length = Dim(stop.value - start) if stop.is_static else stop
    return d[0][:axis] + (length,) + d[0][axis + 1 :]


@_rule(nn.IndexOp)
def _index(op: Operation, d: list[Dims]) -> Dims:
    axis = int_prop(op, "axis")
    return d[0][:axis] + d[0][axis + 1 :]


@_rule(nn.EmbeddingOp)
def _embedding(op: Operation, d: list[Dims]) -> Dims:
    table = static_dims(op.operands[0].type)  # type: ignore[arg-type]
    assert table is not None
    return d[1] + table[1:]


def _register_elementwise() -> None:
    for op in nn.NN.operations:
        if issubclass(op, (nn.UnaryOp, nn.BinaryOp)) and op not in _RULES:
            _RULES[op] = _same_as_input


_register_elementwise()


def tensor_type(element_type: Attribute, dims: Dims) -> TensorType:
    """The MLIR type of a tensor with ``dims``: symbolic sizes become ``?``."""
    return TensorType(element_type, [d.value if d.is_static else DYNAMIC_INDEX for d in dims])


def element_type_named(name: str) -> Attribute:
    """The MLIR element type spelled ``name`` (``f32``, ``bf16``, ``f8E4M3FN``, ...)."""
    from xdsl.dialects.builtin import (
        BFloat16Type,
        Float8E4M3FNType,
        Float8E5M2Type,
        Float16Type,
        Float32Type,
    )

    types = {
        "f32": Float32Type,
        "bf16": BFloat16Type,
        "f16": Float16Type,
        "f8E4M3FN": Float8E4M3FNType,
        "f8E5M2": Float8E5M2Type,
    }
    return types[name]()
