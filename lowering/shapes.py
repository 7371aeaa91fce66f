"""Symbolic shapes of every value of a scaled (or train) entry point: which run-time
sizes (``B``, ``B*T``) each ``?`` of its type stands for.

The kernel code generators need them to allocate results whose shape no single input
gives (the ``slice_grad`` of ``pos_emb[0:T]`` is ``[MAX_T, D]``; a ``broadcast`` of it
is ``[B, T, D]``): `value_dims` extends the ``nn`` rules of ``scalc.passes.shapes`` (which
autodiff uses) to the gradient ops, the scaled mirrors and the scaling ops. A generated
kernel evaluates them with the sizes the runtime bound from the inputs (`dims_expr`).
"""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.dialects.builtin import DYNAMIC_INDEX, IntegerAttr, ModuleOp, TensorType
from xdsl.ir import Operation, SSAValue

from scalc.dialects import nn, scaled
from scalc.dialects.nn.attrs import DimsAttr
from scalc.dialects.nn.dims import Dim
from scalc.dialects.scaled.types import ScaledTensorType
from scalc.passes.shapes import _RULES as NN_RULES  # pyright: ignore[reportPrivateUsage]

Dims = tuple[Dim, ...]

_NN_OF: dict[type[Operation], type[Operation]] = {m: n for n, m in scaled.MIRROR.items()}

# Ops whose (first) result has the dims of operand N.
_LIKE_OPERAND: dict[type[Operation], int] = {
    nn.SoftmaxGradOp: 1,  # (y, dy)
    nn.CrossEntropyGradOp: 0,  # (logits, labels, dloss)
    nn.CausalMaskGradOp: 0,
    nn.MaxGradOp: 0,  # (x, y, dy)
    nn.LayerNormGradOp: 0,  # (x, gamma, dy) -> dx, dgamma, dbeta
    scaled.AmaxOp: 0,
    scaled.RescaleOp: 0,
    scaled.CastOp: 0,
    scaled.FromTensorOp: 0,
    scaled.ToTensorOp: 0,
}


def _shape_of(t: object) -> tuple[int, ...] | None:
    if isinstance(t, TensorType | ScaledTensorType):
        return tuple(t.get_shape())
    return None


def module_dims(module: ModuleOp) -> dict[SSAValue, Dims]:
    """`value_dims` of every entry point of ``module``; ``@train_backward``'s arguments
    (the values ``@train_forward`` saved, ``nn.saved = i``) get the dims of the value
    ``@train_forward`` returned for them."""
    dims: dict[SSAValue, Dims] = {}
    functions = [f for f in module.ops if isinstance(f, func.FuncOp)]
    saved: dict[int, Dims] = {}
    for fn in functions:  # train_forward comes before train_backward
        dims.update(value_dims(fn, saved))
        ret = fn.body.block.last_op
        if fn.res_attrs is None or not isinstance(ret, func.ReturnOp):
            continue
        for value, attrs in zip(ret.operands, fn.res_attrs.data):
            index = attrs.data.get("nn.saved")
            if isinstance(index, IntegerAttr) and value in dims:
                saved[index.value.data] = dims[value]
    return dims


def value_dims(fn: func.FuncOp, saved: dict[int, Dims] | None = None) -> dict[SSAValue, Dims]:
    """The symbolic dims of every tensor value of entry point ``fn``; a value whose type
    is static gets its static dims, an argument ``nn.saved = i`` gets ``saved[i]``.
    Raises ``AssertionError`` for an op with a symbolic result and no rule (a compiler
    bug: every op the pipeline emits has one)."""
    dims: dict[SSAValue, Dims] = {}
    arg_attrs = fn.arg_attrs.data if fn.arg_attrs is not None else ()
    for arg, attrs in zip(fn.body.block.args, arg_attrs):
        named = attrs.data.get("nn.dims")
        index = attrs.data.get("nn.saved")
        shape = _shape_of(arg.type)
        if isinstance(named, DimsAttr):
            dims[arg] = named.dims
        elif shape is not None and DYNAMIC_INDEX not in shape:
            dims[arg] = tuple(Dim(s) for s in shape)
        elif isinstance(index, IntegerAttr) and saved and index.value.data in saved:
            dims[arg] = saved[index.value.data]
    for op in fn.body.block.ops:
        for i, result in enumerate(op.results):
            shape = _shape_of(result.type)
            if shape is None:
                continue
            if DYNAMIC_INDEX not in shape:
                dims[result] = tuple(Dim(s) for s in shape)
                continue
            dims[result] = _rule(op, i, [dims.get(o, ()) for o in op.operands])
    return dims


def _rule(op: Operation, index: int, operands: list[Dims]) -> Dims:
    kind = type(op)
    base = _NN_OF.get(kind, kind)
    if isinstance(op.properties.get("dims"), DimsAttr) and not isinstance(
        op, nn.TransposeOp | scaled.TransposeOp
    ):
        return op.properties["dims"].dims  # type: ignore[attr-defined,no-any-return]
    if base in _LIKE_OPERAND or kind in _LIKE_OPERAND:
        return operands[_LIKE_OPERAND.get(base, _LIKE_OPERAND.get(kind, 0))]
    if issubclass(base, nn.ElementwiseGradOp):
        return operands[0]
    rule = NN_RULES.get(base)
    if rule is None:
        raise AssertionError(f"no shape rule for {op.name} with a symbolic result")
    return rule(op, operands) if index == 0 else operands[index]


def dims_expr(dims: Dims, sizes: str = "sizes") -> str:
    """Python source of the shape tuple ``dims`` evaluates to, reading the symbols from
    the dict named ``sizes``: ``(sizes['B'] * sizes['T'], 64)``."""
    parts = []
    for d in dims:
        if d.is_static:
            parts.append(str(d.value))
        else:
            factors = ([str(d.coeff)] if d.coeff != 1 else []) + [
                f"{sizes}[{s!r}]" for s in d.symbols
            ]
            parts.append(" * ".join(factors))
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
