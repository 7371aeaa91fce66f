"""The mirrored ops: exactly one per ``nn`` value op, defined like it, built from Python
or from an ``nn`` op through `mirror_of`, with ids and labels kept as plain tensors."""

import re
from collections.abc import Callable, Sequence
from io import StringIO
from pathlib import Path

import pytest
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    TensorType,
    bf16,
    f8E4M3FN,
    f8E5M2,
    f32,
    i32,
)
from xdsl.ir import Attribute, Block, BlockArgument, Operation
from xdsl.irdl import IRDLOperation, OperandDef, OptPropertyDef, ResultDef
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from scalc.dialects import nn, scaled
from scalc.dialects.context import parse_module
from scalc.dialects.scaled import (
    INTEGER_OPERANDS,
    MIRROR,
    MIRRORED_OPS,
    NOT_MIRRORED,
    SCALED,
    SCALING_OPS,
    ScaledTensorType,
    build_mirror,
    mirror_of,
)

NN_GOLDEN = sorted((Path(__file__).parents[1] / "golden").glob("*.mlir"))


def s(*shape: int, element: Attribute = bf16) -> ScaledTensorType:
    """``s(-1, 64)`` is ``!scaled.tensor<?x64xbf16>`` (``-1`` stands for ``?``)."""
    return ScaledTensorType(element, [d if d >= 0 else DYNAMIC_INDEX for d in shape])


def text_of(op: Operation) -> str:
    stream = StringIO()
    Printer(stream=stream).print_op(op)
    return stream.getvalue()


def nn_golden_ops() -> list[Operation]:
    return [op for path in NN_GOLDEN for op in parse_module(path.read_text()).walk()]


# --- the table -------------------------------------------------------------------------


def test_every_nn_op_is_mirrored_or_listed_as_not_mirrored() -> None:
    assert set(MIRROR).isdisjoint(NOT_MIRRORED)
    assert set(MIRROR) | set(NOT_MIRRORED) == set(nn.NN.operations)
    assert len(MIRROR) == len(MIRRORED_OPS) == 41


@pytest.mark.parametrize("nn_op", list(MIRROR), ids=lambda op: op.name)
def test_mirror_has_the_nn_name_and_class_name_under_scaled(nn_op: type[IRDLOperation]) -> None:
    mirror = MIRROR[nn_op]
    assert mirror.name == nn_op.name.replace("nn.", "scaled.", 1)
    assert mirror.__name__ == nn_op.__name__
    assert mirror.NN_OP is nn_op
    assert getattr(scaled, nn_op.__name__) is mirror  # exported by scalc.dialects.scaled


def test_the_dialect_holds_the_mirrors_and_the_scaling_ops() -> None:
    assert list(SCALED.operations) == [*MIRRORED_OPS, *SCALING_OPS]
    assert list(SCALED.attributes) == [ScaledTensorType]


@pytest.mark.parametrize("nn_op", list(MIRROR), ids=lambda op: op.name)
def test_mirror_is_defined_like_its_nn_op(nn_op: type[IRDLOperation]) -> None:
    source, mirror = nn_op.get_irdl_definition(), MIRROR[nn_op].get_irdl_definition()
    integers = INTEGER_OPERANDS.get(nn_op, ())
    assert [name for name, _ in mirror.operands] == [name for name, _ in source.operands]
    assert [name for name, _ in mirror.results] == [name for name, _ in source.results]
    for name, operand in mirror.operands:
        expected = TensorType if name in integers else ScaledTensorType
        assert operand.constr == OperandDef(expected).constr, name
    for _, result in mirror.results:
        assert result.constr == ResultDef(ScaledTensorType).constr
    assert mirror.properties.keys() == source.properties.keys()
    for name, prop in mirror.properties.items():
        assert prop.constr == source.properties[name].constr
        assert isinstance(prop, OptPropertyDef) == isinstance(
            source.properties[name], OptPropertyDef
        )
    assert mirror.options == source.options
    assert mirror.assembly_format == source.assembly_format
    assert mirror.custom_directives == source.custom_directives
    assert MIRROR[nn_op].has_trait(Pure)


def _verifies(op: Operation, types: Sequence[Attribute], result_types: Sequence[Attribute]) -> bool:
    shadow = type(op).create(
        operands=Block(arg_types=types).args,
        result_types=result_types,
        properties=dict(op.properties),
    )
    try:
        shadow.verify_()
    except VerifyException:
        return False
    return True


def _float(t: Attribute) -> Attribute:
    assert isinstance(t, TensorType)
    return TensorType(f32, t.get_shape()) if not nn.base.is_float(t.element_type) else t


def operand_names(op: Operation) -> list[str]:
    assert isinstance(op, IRDLOperation)
    return [name for name, _ in op.get_irdl_definition().operands]


def required_integer_operands(op: Operation) -> set[str]:
    """The operands of ``op`` the nn verifier needs integer: with every integer value
    (operands and results) made f32 the op fails, and keeping just that operand integer
    it passes.  (Shape ops such as ``nn.reshape`` of ids take any element type.)"""
    names = operand_names(op)
    operand_types = [v.type for v in op.operands]
    result_types = [_float(r.type) for r in op.results]
    if _verifies(op, [_float(t) for t in operand_types], result_types):
        return set()
    return {
        name
        for i, name in enumerate(names)
        if _float(operand_types[i]) != operand_types[i]
        and _verifies(
            op, [t if j == i else _float(t) for j, t in enumerate(operand_types)], result_types
        )
    }


def test_integer_operand_table_lists_what_the_nn_verifiers_require() -> None:
    found: dict[type[Operation], set[str]] = {}
    for op in nn_golden_ops():
        if type(op) in MIRROR and (names := required_integer_operands(op)):
            found.setdefault(type(op), set()).update(names)
    assert found == {op: set(names) for op, names in INTEGER_OPERANDS.items()}


# --- mirror_of: every nn op of the golden files -------------------------------------------

FLOAT_TENSOR = re.compile(r"(?<!scaled\.)tensor<((?:[0-9?]+x)*(?:f32|bf16|f16))>")


def scaled_type(t: Attribute) -> Attribute:
    """Float tensors become scaled; ids and labels stay."""
    assert isinstance(t, TensorType)
    return ScaledTensorType.of(t) if nn.base.is_float(t.element_type) else t


def computes_on_floats(op: Operation) -> bool:
    """Whether every value of ``op`` but its ids and labels is a float: the ops the
    scalify pass mirrors (``nn.reshape`` of ids, say, stays ``nn``)."""
    integers = INTEGER_OPERANDS.get(type(op), ())
    names = operand_names(op)
    values = [v for name, v in zip(names, op.operands) if name not in integers]
    values += list(op.results)
    return all(nn.base.is_float(v.type.element_type) for v in values)  # type: ignore[attr-defined]


MIRRORABLE = [op for op in nn_golden_ops() if type(op) in MIRROR and computes_on_floats(op)]


@pytest.mark.parametrize("nn_op", MIRRORABLE, ids=lambda op: op.name)
def test_mirror_of_every_golden_nn_op_prints_as_the_nn_op_with_scaled_types(
    nn_op: Operation,
) -> None:
    operands = Block(arg_types=[scaled_type(v.type) for v in nn_op.operands]).args
    result_types = [scaled_type(r.type) for r in nn_op.results]
    mirror = mirror_of(nn_op, operands, result_types)
    mirror.verify()
    assert isinstance(mirror, MIRROR[type(nn_op)])
    assert mirror.properties == nn_op.properties
    detached = type(nn_op).create(  # over unnamed values, numbered as the mirror's
        operands=Block(arg_types=[v.type for v in nn_op.operands]).args,
        result_types=[r.type for r in nn_op.results],
        properties=dict(nn_op.properties),
    )
    nn_text = text_of(detached)
    expected = FLOAT_TENSOR.sub(r"!scaled.tensor<\1>", nn_text.replace("nn.", "scaled.", 1))
    assert text_of(mirror) == expected


def test_the_mirror_of_a_reshape_of_ids_does_not_verify() -> None:
    reshape = next(
        op for op in nn_golden_ops() if isinstance(op, nn.ReshapeOp) and not computes_on_floats(op)
    )
    operands = Block(arg_types=[v.type for v in reshape.operands]).args
    mirror = mirror_of(reshape, operands, [r.type for r in reshape.results])
    with pytest.raises(VerifyException, match="should be of base attribute scaled.tensor"):
        mirror.verify()


def test_mirror_of_an_op_without_a_mirror_raises() -> None:
    with pytest.raises(KeyError, match="nn.sgd has no scaled mirror"):
        build_mirror(nn.SgdOp, [], [])


def test_build_mirror_from_a_class_takes_properties_as_python_values() -> None:
    (x,) = Block(arg_types=[s(-1, 10)]).args
    op = build_mirror(nn.SumOp, [x], [s(-1, 1)], {"axes": [1], "keepdims": True})
    op.verify()
    assert text_of(op) == (
        "%0 = scaled.sum %1 axes [1] keepdims : !scaled.tensor<?x10xbf16> "
        "-> !scaled.tensor<?x1xbf16>"
    )


def test_build_mirror_overrides_copied_properties() -> None:
    (x,) = Block(arg_types=[TensorType(f32, [4, 8, 8])]).args
    softmax = nn.SoftmaxOp(x, axis=2)
    (y,) = Block(arg_types=[s(4, 8, 8)]).args
    op = build_mirror(softmax, [y], [s(4, 8, 8)], {"axis": 1})
    assert text_of(op) == "%0 = scaled.softmax %1 axis 1 : !scaled.tensor<4x8x8xbf16>"


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"axs": 1}, r"scaled.softmax has no property 'axs' \(it has: axis\)"),
        ({}, "scaled.softmax needs the properties axis"),
    ],
)
def test_missing_or_unknown_properties_are_type_errors(
    properties: dict[str, object], message: str
) -> None:
    (x,) = Block(arg_types=[s(4, 8)]).args
    with pytest.raises(TypeError, match=message):
        build_mirror(nn.SoftmaxOp, [x], [s(4, 8)], properties)
    with pytest.raises(TypeError, match=message):
        scaled.SoftmaxOp(x, s(4, 8), **properties)


def test_constructor_counts_operands_and_result_types() -> None:
    a, b = Block(arg_types=[s(-1, 64), s(64, 8)]).args
    with pytest.raises(TypeError, match="scaled.matmul takes 2 operands and 1 result types"):
        scaled.MatmulOp(a, b)


# --- Python constructors -----------------------------------------------------------------

Build = Callable[[Sequence[BlockArgument]], Operation]
E4M3, E5M2 = f8E4M3FN, f8E5M2

# (id, argument types, constructor call, expected text); arguments print as %1, %2, ...
CASES: list[tuple[str, list[Attribute], Build, str]] = [
    (
        "matmul_fp8",
        [s(-1, 64, element=E4M3), s(64, 256, element=E5M2)],
        lambda a: scaled.MatmulOp(a[0], a[1], s(-1, 256)),
        (
            "%0 = scaled.matmul %1, %2 : (!scaled.tensor<?x64xf8E4M3FN>, "
            "!scaled.tensor<64x256xf8E5M2>) -> !scaled.tensor<?x256xbf16>"
        ),
    ),
    (
        "add",
        [s(-1, 8)] * 2,
        lambda a: scaled.AddOp(a[0], a[1], s(-1, 8)),
        "%0 = scaled.add %1, %2 : !scaled.tensor<?x8xbf16>",
    ),
    (
        "reshape",
        [s(-1, -1, 128)],
        lambda a: scaled.ReshapeOp(a[0], s(-1, 128), dims=["B*T", 128]),
        (
            "%0 = scaled.reshape %1 to #nn.dims<B*T, 128> : !scaled.tensor<?x?x128xbf16> "
            "-> !scaled.tensor<?x128xbf16>"
        ),
    ),
    (
        "slice",
        [s(256, 128)],
        lambda a: scaled.SliceOp(a[0], s(-1, 128), axis=0, start=0, stop="T"),
        (
            "%0 = scaled.slice %1 axis 0 [0 : #nn.dims<T>] : !scaled.tensor<256x128xbf16> "
            "-> !scaled.tensor<?x128xbf16>"
        ),
    ),
    (
        "transpose",
        [s(-1, 4)],
        lambda a: scaled.TransposeOp(a[0], s(4, -1), perm=[1, 0]),
        "%0 = scaled.transpose %1 [1, 0] : !scaled.tensor<?x4xbf16> -> !scaled.tensor<4x?xbf16>",
    ),
    (
        "layernorm",
        [s(-1, 128), s(128), s(128)],
        lambda a: scaled.LayerNormOp(a[0], a[1], a[2], s(-1, 128), eps=1e-5),
        (
            "%0 = scaled.layernorm %1, %2, %3 {eps = 1.000000e-05 : f64} : "
            "(!scaled.tensor<?x128xbf16>, !scaled.tensor<128xbf16>, !scaled.tensor<128xbf16>) "
            "-> !scaled.tensor<?x128xbf16>"
        ),
    ),
    (
        "cross_entropy",
        [s(-1, 10), TensorType(i32, [DYNAMIC_INDEX])],
        lambda a: scaled.CrossEntropyOp(a[0], a[1], s()),
        (
            "%0 = scaled.cross_entropy %1, %2 : (!scaled.tensor<?x10xbf16>, tensor<?xi32>) "
            "-> !scaled.tensor<bf16>"
        ),
    ),
    (
        "constant",
        [],
        lambda a: scaled.ConstantOp(s(), value=0.5),
        "%0 = scaled.constant 5.000000e-01 : !scaled.tensor<bf16>",
    ),
    (
        "from_tensor",
        [TensorType(f32, [DYNAMIC_INDEX, 64])],
        lambda a: scaled.FromTensorOp(a[0], s(-1, 64)),
        "%0 = scaled.from_tensor %1 : tensor<?x64xf32> -> !scaled.tensor<?x64xbf16>",
    ),
    (
        "to_tensor",
        [s(-1, 10)],
        lambda a: scaled.ToTensorOp(a[0], TensorType(f32, [DYNAMIC_INDEX, 10])),
        "%0 = scaled.to_tensor %1 : !scaled.tensor<?x10xbf16> -> tensor<?x10xf32>",
    ),
    (
        "amax",
        [s(-1, 64)],
        lambda a: scaled.AmaxOp(a[0]),
        "%0 = scaled.amax %1 : !scaled.tensor<?x64xbf16>",
    ),
    (
        "rescale",
        [s(-1, 64), TensorType(f32, [])],
        lambda a: scaled.RescaleOp(a[0], a[1], target=448.0, margin=1),
        (
            "%0 = scaled.rescale %1, %2 {target = 4.480000e+02 : f64, margin = 1 : i64} : "
            "!scaled.tensor<?x64xbf16>"
        ),
    ),
    (
        "cast",
        [s(-1, 64)],
        lambda a: scaled.CastOp(a[0], s(-1, 64, element=E4M3)),
        "%0 = scaled.cast %1 : !scaled.tensor<?x64xbf16> -> !scaled.tensor<?x64xf8E4M3FN>",
    ),
    (
        "update_history",
        [TensorType(f32, [16]), TensorType(f32, [])],
        lambda a: scaled.UpdateHistoryOp(a[0], a[1]),
        "%0, %1 = scaled.update_history %2, %3 : tensor<16xf32>",
    ),
]


@pytest.mark.parametrize(
    ("arg_types", "build", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_constructor_builds_a_valid_op(
    arg_types: list[Attribute], build: Build, expected: str
) -> None:
    op = build(Block(arg_types=arg_types).args)
    op.verify()
    assert text_of(op) == expected


def test_scaling_op_constructors_infer_result_types() -> None:
    x, ref, history = Block(arg_types=[s(-1, 64), TensorType(f32, []), TensorType(f32, [16])]).args
    assert scaled.AmaxOp(x).result.type == TensorType(f32, [])
    assert scaled.RescaleOp(x, ref, target=1.0).result.type == x.type
    update = scaled.UpdateHistoryOp(history, ref)
    assert [r.type for r in update.results] == [TensorType(f32, []), history.type]
