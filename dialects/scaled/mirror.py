"""The mirrored ops of the ``scaled`` dialect (docs/scaled.md, "Mirrored ops").

For every value op of ``nn`` there is a ``scaled`` op of the same name and class name
(``nn.MatmulOp`` -> ``scaled.MatmulOp``, ``"scaled.matmul"``) with the same operands,
properties, irdl options and assembly format; its float operands and results are
``!scaled.tensor``s and its integer operands (`INTEGER_OPERANDS`) stay ``tensor``s::

    %2 = scaled.matmul %0, %1 : (!scaled.tensor<?x64xf8E4M3FN>,
        !scaled.tensor<64x256xf8E4M3FN>) -> !scaled.tensor<?x256xbf16>

Each class is made by `mirror_op` from its ``nn`` class, one explicit line each below;
`MIRROR` maps ``nn`` classes to their mirrors and `mirror_of` turns an ``nn`` op into
its mirror (what the scalify pass does to every op).  The verifier of a mirror is the
``nn`` op's, applied to the shapes: it runs on a *shadow* ``nn`` op whose scaled values
are ``tensor<...xf32>`` of the same shapes, so that element types are free, except that
f8 data may only feed ``scaled.matmul``.
"""

from __future__ import annotations

import re
from abc import ABC
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    DenseArrayBase,
    Float64Type,
    FloatAttr,
    IntegerAttr,
    TensorType,
    UnitAttr,
    f32,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    OperandDef,
    OptPropertyDef,
    ResultDef,
    VarOperandDef,
    VarResultDef,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from scalc.dialects import nn
from scalc.dialects.nn.base import SameType, fail
from scalc.dialects.scaled.types import ScaledTensorType, is_f8

INTEGER_OPERANDS: dict[type[IRDLOperation], tuple[str, ...]] = {
    nn.EmbeddingOp: ("ids",),
    nn.EmbeddingGradOp: ("ids",),
    nn.CrossEntropyOp: ("labels",),
    nn.CrossEntropyGradOp: ("labels",),
}
"""The operands that the ``nn`` verifier requires to be integer (ids, labels): they stay
``tensor<...xi32>`` in the mirror.  Every other operand and every result is scaled."""

NOT_MIRRORED: tuple[type[IRDLOperation], ...] = (
    nn.ParamOp,
    nn.GetParamOp,
    nn.StateOp,
    nn.GetStateOp,
    nn.SetStateOp,
    nn.SetParamOp,
    nn.SgdOp,
    nn.AdamWOp,
    nn.Fast2SumOp,
    nn.GrowOp,
    nn.SgdDeltaOp,
    nn.AdamWDeltaOp,
    nn.UpdateStatsOp,
    nn.CastOp,
)
"""The ``nn`` ops without a mirror: module-level buffers, their reads and writes, the
optimizers and their low-precision arithmetic (``@optimizer_step`` stays ``nn``,
docs/collage.md) and ``nn.cast`` (``scaled.cast`` is the scaled conversion)."""


def _i64(value: int) -> Attribute:
    return IntegerAttr(value, i64)


def _i64_array(values: Sequence[int]) -> Attribute:
    return DenseArrayBase.from_list(i64, values)


def _f64(value: float) -> Attribute:
    return FloatAttr(value, Float64Type())


def _unit(flag: bool) -> Attribute | None:
    return UnitAttr() if flag else None


PROPERTY_VALUES: dict[str, Callable[..., Attribute | None]] = {
    "axis": _i64,
    "start": _i64,
    "index": _i64,
    "axes": _i64_array,
    "perm": _i64_array,
    "dims": nn.DimsAttr.of,
    "stop": lambda stop: nn.DimsAttr([stop]),
    "eps": _f64,
    "value": _f64,
    "keepdims": _unit,
}
"""How a Python value becomes each property of the mirrored ops, as in the ``nn``
constructors (``axes=[1]``, ``dims=["B", 256]``, ``stop="T"``, ``keepdims=True``); an
`Attribute` is taken as it is, and ``None`` leaves an optional property out."""


class MirroredOp(IRDLOperation, ABC):
    """A ``scaled`` op that mirrors the ``nn`` op `NN_OP` (made by `mirror_op`).

    Built like the ``nn`` ops, with explicit result types: the operands, then the result
    types, then the properties by name as Python values::

        scaled.MatmulOp(lhs, rhs, ScaledTensorType(bf16, [DYNAMIC_INDEX, 256]))
        scaled.SumOp(x, ScaledTensorType(bf16, [DYNAMIC_INDEX, 1]), axes=[1], keepdims=True)
    """

    NN_OP: ClassVar[type[IRDLOperation]]
    """The ``nn`` op this op mirrors."""

    def __init__(self, *values: SSAValue | Operation | Attribute, **properties: object) -> None:
        definition = type(self).get_irdl_definition()
        count = len(definition.operands)
        operands, result_types = values[:count], values[count:]
        if len(result_types) != len(definition.results) or not all(
            isinstance(t, Attribute) for t in result_types
        ):
            raise TypeError(
                f"{self.name} takes {count} operands and {len(definition.results)} result "
                f"types, then properties by name; got {len(values)} values"
            )
        attributes = property_attributes(type(self), properties)
        check_required_properties(type(self), attributes)
        super().__init__(
            operands=[SSAValue.get(v) for v in operands],  # type: ignore[arg-type]
            result_types=list(result_types),
            properties=attributes,
        )

    def verify_(self) -> None:
        check_f8_only_feeds_matmul(self)
        verify_as_nn(self)
        if SameType in type(self).get_irdl_definition().custom_directives.values():
            check_one_type(self)


def property_attributes(
    mirror: type[MirroredOp], values: Mapping[str, object]
) -> dict[str, Attribute]:
    """The properties of a ``mirror`` op from Python values (`PROPERTY_VALUES`); raises
    `TypeError` for a property the op does not have."""
    definition = mirror.get_irdl_definition()
    attributes: dict[str, Attribute] = {}
    for name, value in values.items():
        if name not in definition.properties:
            known = ", ".join(definition.properties) or "none"
            raise TypeError(f"{mirror.name} has no property {name!r} (it has: {known})")
        attribute = value if isinstance(value, Attribute) else PROPERTY_VALUES[name](value)
        if attribute is not None:
            attributes[name] = attribute
    return attributes


def check_required_properties(mirror: type[MirroredOp], attributes: Mapping[str, object]) -> None:
    """Raise `TypeError` when a property that ``mirror`` requires is missing."""
    definition = mirror.get_irdl_definition()
    required = [
        name
        for name, prop in definition.properties.items()
        if not isinstance(prop, OptPropertyDef) and name not in attributes
    ]
    if required:
        raise TypeError(f"{mirror.name} needs the properties {', '.join(required)}")


def check_f8_only_feeds_matmul(op: MirroredOp) -> None:
    """f8 data is only an operand of ``scaled.matmul``: anything else that reads or makes
    it would compute on 2-3 significant bits (docs/scaled.md)."""
    definition = type(op).get_irdl_definition()
    operands = zip((name for name, _ in definition.operands), op.operands, strict=True)
    for name, value in operands:
        if op.NN_OP is not nn.MatmulOp and is_f8(_element_type(value.type)):
            raise fail(
                op, f"{name} has f8 data ({value.type}); f8 data may only feed scaled.matmul"
            )
    for (name, _), result in zip(definition.results, op.results, strict=True):
        if is_f8(_element_type(result.type)):
            raise fail(
                op,
                f"{name} has f8 data ({result.type}); only scaled.cast makes f8 data",
            )


def check_one_type(op: MirroredOp) -> None:
    """Ops printed with one type (``: T``, the ``SameType`` directive) have one type, or
    their custom form would not parse back to them."""
    (expected, *others) = [v.type for v in (*op.operands, *op.results)]
    if any(t != expected for t in others):
        listed = ", ".join(str(v.type) for v in (*op.operands, *op.results))
        raise fail(op, f"operand and result types differ ({listed}); this op has one type")


def verify_as_nn(op: MirroredOp) -> None:
    """Run the ``nn`` verifier of ``op.NN_OP`` on the shapes of ``op``: on a shadow op
    with each scaled value replaced by ``tensor<...xf32>`` of its shape and the same
    properties.  Its messages are given with the op's name and its real types."""
    shadow_of = {t: TensorType(f32, t.get_shape()) for t in _scaled_types(op)}

    def shadow(t: Attribute) -> Attribute:
        return shadow_of.get(t, t)

    arguments = Block(arg_types=[shadow(v.type) for v in op.operands]).args
    nn_op = op.NN_OP.create(
        operands=arguments,
        result_types=[shadow(r.type) for r in op.results],
        properties=dict(op.properties),
    )
    try:
        nn_op.verify_()
    except VerifyException as error:
        raise fail(op, _real_types(str(error).removeprefix(f"{nn_op.name}: "), shadow_of))
    finally:
        nn_op.drop_all_references()


_TENSOR_TYPE = re.compile(r"tensor<[^<>]*>")
_SHADOW_PHRASES = (
    (" and element type f32", ""),  # nn.base.check_result
    (" tensor of f32 (", " tensor ("),  # nn.layers.check_layernorm_operands
)
"""Where ``nn`` messages name the element type they want: the shadow's f32, which does
not apply to scaled values (their element types are free)."""


def _real_types(message: str, shadow_of: Mapping[Attribute, TensorType]) -> str:
    """``message`` with each shadow type written as the scaled type it stands for, where
    that type is unique, and without the shadow's element type (`_SHADOW_PHRASES`)."""
    for phrase, replacement in _SHADOW_PHRASES:
        message = message.replace(phrase, replacement)
    real: dict[str, set[str]] = {}
    for scaled, shadow in shadow_of.items():
        real.setdefault(str(shadow), set()).add(str(scaled))

    def replace(match: re.Match[str]) -> str:
        names = real.get(match[0], set())
        return next(iter(names)) if len(names) == 1 else match[0]

    return _TENSOR_TYPE.sub(replace, message)


def _scaled_types(op: Operation) -> list[ScaledTensorType]:
    values = (*op.operands, *op.results)
    return [v.type for v in values if isinstance(v.type, ScaledTensorType)]


def _element_type(value_type: Attribute) -> Attribute | None:
    return value_type.element_type if isinstance(value_type, ScaledTensorType) else None


def mirror_op(nn_class: type[IRDLOperation]) -> type[MirroredOp]:
    """The ``scaled`` op class mirroring ``nn_class`` (docs/scaled.md): the same class
    name, op name under ``scaled.``, operands, results, properties, irdl options and
    assembly format; Pure; scaled float operands and results."""
    definition = nn_class.get_irdl_definition()
    assert not (definition.attributes or definition.regions or definition.successors), (
        f"{definition.name} has attributes, regions or successors, which mirrors lack"
    )
    integers = INTEGER_OPERANDS.get(nn_class, ())
    fields: dict[str, object] = {}
    for name, operand in definition.operands:
        assert type(operand) is OperandDef and not isinstance(operand, VarOperandDef)
        fields[name] = operand_def(TensorType if name in integers else ScaledTensorType)
    for name, result in definition.results:
        assert type(result) is ResultDef and not isinstance(result, VarResultDef)
        fields[name] = result_def(ScaledTensorType)
    for name, prop in definition.properties.items():
        define = opt_prop_def if isinstance(prop, OptPropertyDef) else prop_def
        fields[name] = define(prop.constr, prop.default_value)
    summary = (nn_class.__doc__ or "").strip().split("\n\n")[0]
    namespace = {
        "__module__": __name__,
        "__qualname__": nn_class.__name__,
        "__doc__": f"The scaled mirror of ``{definition.name}``: {summary}",
        "__annotations__": {"NN_OP": ClassVar[type[IRDLOperation]]},
        "name": "scaled." + definition.name.removeprefix("nn."),
        "NN_OP": nn_class,
        **fields,
        "traits": traits_def(Pure()),
        "irdl_options": tuple(definition.options),
        "custom_directives": tuple(definition.custom_directives.values()),
        "assembly_format": definition.assembly_format,
    }
    return irdl_op_definition(type(nn_class.__name__, (MirroredOp,), namespace))


# One line per mirrored op, so that `grep -rn MatmulOp` finds this one too.
ConstantOp = mirror_op(nn.ConstantOp)
NegOp = mirror_op(nn.NegOp)
ReluOp = mirror_op(nn.ReluOp)
GeluOp = mirror_op(nn.GeluOp)
TanhOp = mirror_op(nn.TanhOp)
SigmoidOp = mirror_op(nn.SigmoidOp)
ExpOp = mirror_op(nn.ExpOp)
LogOp = mirror_op(nn.LogOp)
SqrtOp = mirror_op(nn.SqrtOp)
AddOp = mirror_op(nn.AddOp)
SubOp = mirror_op(nn.SubOp)
MulOp = mirror_op(nn.MulOp)
DivOp = mirror_op(nn.DivOp)
MatmulOp = mirror_op(nn.MatmulOp)
SumOp = mirror_op(nn.SumOp)
MeanOp = mirror_op(nn.MeanOp)
MaxOp = mirror_op(nn.MaxOp)
ReshapeOp = mirror_op(nn.ReshapeOp)
BroadcastOp = mirror_op(nn.BroadcastOp)
TransposeOp = mirror_op(nn.TransposeOp)
SliceOp = mirror_op(nn.SliceOp)
IndexOp = mirror_op(nn.IndexOp)
SoftmaxOp = mirror_op(nn.SoftmaxOp)
LayerNormOp = mirror_op(nn.LayerNormOp)
EmbeddingOp = mirror_op(nn.EmbeddingOp)
CausalMaskOp = mirror_op(nn.CausalMaskOp)
CrossEntropyOp = mirror_op(nn.CrossEntropyOp)
ReluGradOp = mirror_op(nn.ReluGradOp)
GeluGradOp = mirror_op(nn.GeluGradOp)
TanhGradOp = mirror_op(nn.TanhGradOp)
SigmoidGradOp = mirror_op(nn.SigmoidGradOp)
SqrtGradOp = mirror_op(nn.SqrtGradOp)
SoftmaxGradOp = mirror_op(nn.SoftmaxGradOp)
LayerNormGradOp = mirror_op(nn.LayerNormGradOp)
EmbeddingGradOp = mirror_op(nn.EmbeddingGradOp)
CrossEntropyGradOp = mirror_op(nn.CrossEntropyGradOp)
CausalMaskGradOp = mirror_op(nn.CausalMaskGradOp)
MaxGradOp = mirror_op(nn.MaxGradOp)
MeanGradOp = mirror_op(nn.MeanGradOp)
SliceGradOp = mirror_op(nn.SliceGradOp)
IndexGradOp = mirror_op(nn.IndexGradOp)

MIRRORED_OPS: tuple[type[MirroredOp], ...] = (
    ConstantOp,
    NegOp,
    ReluOp,
    GeluOp,
    TanhOp,
    SigmoidOp,
    ExpOp,
    LogOp,
    SqrtOp,
    AddOp,
    SubOp,
    MulOp,
    DivOp,
    MatmulOp,
    SumOp,
    MeanOp,
    MaxOp,
    ReshapeOp,
    BroadcastOp,
    TransposeOp,
    SliceOp,
    IndexOp,
    SoftmaxOp,
    LayerNormOp,
    EmbeddingOp,
    CausalMaskOp,
    CrossEntropyOp,
    ReluGradOp,
    GeluGradOp,
    TanhGradOp,
    SigmoidGradOp,
    SqrtGradOp,
    SoftmaxGradOp,
    LayerNormGradOp,
    EmbeddingGradOp,
    CrossEntropyGradOp,
    CausalMaskGradOp,
    MaxGradOp,
    MeanGradOp,
    SliceGradOp,
    IndexGradOp,
)

MIRROR: dict[type[IRDLOperation], type[MirroredOp]] = {op.NN_OP: op for op in MIRRORED_OPS}
"""``nn`` op class -> its ``scaled`` mirror: ``MIRROR[nn.MatmulOp] is scaled.MatmulOp``."""


def build_mirror(
    nn_op: Operation | type[Operation],
    operands: Sequence[SSAValue | Operation],
    result_types: Sequence[Attribute],
    properties: Mapping[str, object] | None = None,
) -> MirroredOp:
    """The mirror of ``nn_op`` (an ``nn`` op, or an ``nn`` op class) over ``operands``
    with ``result_types``.  An op's properties (and discardable attributes) are copied;
    ``properties`` (Python values or attributes) are added or override them::

        build_mirror(nn.SoftmaxOp, [x], [x.type], {"axis": 3})

    Raises `KeyError` for an op without a mirror (`NOT_MIRRORED`) and `TypeError` for a
    missing or unknown property.
    """
    nn_class = nn_op if isinstance(nn_op, type) else type(nn_op)
    mirror = MIRROR.get(nn_class)
    if mirror is None:
        raise KeyError(f"{nn_class.name} has no scaled mirror")
    copied = {} if isinstance(nn_op, type) else dict(nn_op.properties)
    attributes = {} if isinstance(nn_op, type) else dict(nn_op.attributes)
    merged = copied | property_attributes(mirror, properties or {})
    check_required_properties(mirror, merged)
    op = mirror.create(
        operands=[SSAValue.get(v) for v in operands],
        result_types=list(result_types),
        properties=merged,
        attributes=attributes,
    )
    assert isinstance(op, MirroredOp)
    return op


def mirror_of(
    nn_op: Operation,
    operands: Sequence[SSAValue | Operation],
    result_types: Sequence[Attribute],
) -> MirroredOp:
    """The ``scaled`` op that computes what ``nn_op`` does, over ``operands`` (scaled
    values, and integer tensors for `INTEGER_OPERANDS`) with ``result_types``, with
    ``nn_op``'s properties: what the scalify pass makes of every ``nn`` value op.

    ``mirror_of(matmul, [xq, wq], [ScaledTensorType(bf16, [DYNAMIC_INDEX, 256])])`` is a
    ``scaled.matmul`` of ``xq`` and ``wq``.  The caller verifies the result.
    """
    return build_mirror(nn_op, operands, result_types)
