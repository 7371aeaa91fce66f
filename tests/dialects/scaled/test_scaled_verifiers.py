"""Each scaled verifier rejects invalid IR with a message that names the problem.

Mirrored ops are checked by their ``nn`` op's shape rules, reported with the ``scaled``
name and the real (scaled) types; f8 data may only feed ``scaled.matmul``.  A case is
one function body over typed arguments; forms the custom syntax cannot express use the
generic form.
"""

from pathlib import Path

import pytest
from xdsl.dialects.builtin import f8E4M3FN, f8E5M2
from xdsl.ir import Block, Operation, SSAValue
from xdsl.utils.exceptions import VerifyException

from scalc.dialects.context import parse_module
from scalc.dialects.scaled import (
    SCALED,
    MatmulOp,
    MirroredOp,
    ScaledTensorType,
    build_mirror,
)

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.mlir"))
X = "!scaled.tensor<?x64xbf16>"
SCALAR = "tensor<f32>"
RESCALE = "target = 4.480000e+02 : f64, margin = 0 : i64"


def module_text(args: str, body: str) -> str:
    function = f"  func.func @f({args}) {{\n    {body}\n    func.return\n  }}\n"
    return f"builtin.module {{\n{function}}}\n"


def case(op: str, name: str, args: str, body: str, message: str) -> tuple[str, str, str, str]:
    """An invalid module for ``op`` (named ``name``) and the message its verification gives."""
    return op, name, module_text(args, body), message


CASES = [
    # scaling ops
    case(
        "scaled.from_tensor",
        "integer_operand",
        "%a: tensor<4xi32>",
        "%0 = scaled.from_tensor %a : tensor<4xi32> -> !scaled.tensor<4xbf16>",
        "scaled.from_tensor: operand must have a float element type (f32, bf16, f16), got i32",
    ),
    case(
        "scaled.from_tensor",
        "f8_result",
        "%a: tensor<4xf32>",
        "%0 = scaled.from_tensor %a : tensor<4xf32> -> !scaled.tensor<4xf8E4M3FN>",
        "scaled.from_tensor: result has f8 data (!scaled.tensor<4xf8E4M3FN>); make f8 data "
        "with scaled.cast",
    ),
    case(
        "scaled.from_tensor",
        "shape_changed",
        "%a: tensor<?x64xf32>",
        "%0 = scaled.from_tensor %a : tensor<?x64xf32> -> !scaled.tensor<4x64xbf16>",
        "scaled.from_tensor: result shape [4, 64] differs from the operand shape [?, 64]",
    ),
    case(
        "scaled.to_tensor",
        "integer_result",
        f"%a: {X}",
        f"%0 = scaled.to_tensor %a : {X} -> tensor<?x64xi32>",
        "scaled.to_tensor: the result must have a float element type (f32, bf16, f16), got i32",
    ),
    case(
        "scaled.to_tensor",
        "shape_changed",
        f"%a: {X}",
        f"%0 = scaled.to_tensor %a : {X} -> tensor<64xf32>",
        "scaled.to_tensor: result shape [64] differs from the operand shape [?, 64]",
    ),
    case(
        "scaled.amax",
        "plain_tensor_operand",
        "%a: tensor<4xf32>",
        '%0 = "scaled.amax"(%a) : (tensor<4xf32>) -> tensor<f32>',
        "scaled.tensor",
    ),
    case(
        "scaled.amax",
        "result_not_a_scalar",
        f"%a: {X}",
        f'%0 = "scaled.amax"(%a) : ({X}) -> tensor<1xf32>',
        "tensor<f32>",
    ),
    case(
        "scaled.rescale",
        "target_zero",
        f"%a: {X}, %r: {SCALAR}",
        f"%0 = scaled.rescale %a, %r {{target = 0.0 : f64, margin = 0 : i64}} : {X}",
        "scaled.rescale: target must be positive and finite, got 0.0",
    ),
    case(
        "scaled.rescale",
        "target_infinite",
        f"%a: {X}, %r: {SCALAR}",
        f"%0 = scaled.rescale %a, %r {{target = 0x7FF0000000000000 : f64, margin = 0 : i64}} : {X}",
        "scaled.rescale: target must be positive and finite, got inf",
    ),
    case(
        "scaled.rescale",
        "negative_margin",
        f"%a: {X}, %r: {SCALAR}",
        f"%0 = scaled.rescale %a, %r {{target = 1.0 : f64, margin = -1 : i64}} : {X}",
        "scaled.rescale: margin must be >= 0, got -1",
    ),
    case(
        "scaled.rescale",
        "result_type_changed",
        f"%a: {X}, %r: {SCALAR}",
        f'%0 = "scaled.rescale"(%a, %r) <{{{RESCALE}}}> : ({X}, {SCALAR}) '
        "-> !scaled.tensor<?x64xf32>",
        "!scaled.tensor<?x64xf32>",
    ),
    case(
        "scaled.rescale",
        "reference_not_a_scalar",
        f"%a: {X}, %r: tensor<1xf32>",
        f'%0 = "scaled.rescale"(%a, %r) <{{{RESCALE}}}> : ({X}, tensor<1xf32>) -> {X}',
        "tensor<f32>",
    ),
    case(
        "scaled.cast",
        "shape_changed",
        f"%a: {X}",
        f"%0 = scaled.cast %a : {X} -> !scaled.tensor<4x64xf8E4M3FN>",
        "scaled.cast: result shape [4, 64] differs from the operand shape [?, 64]",
    ),
    case(
        "scaled.update_history",
        "dynamic_history",
        f"%h: tensor<?xf32>, %m: {SCALAR}",
        "%0, %1 = scaled.update_history %h, %m : tensor<?xf32>",
        "scaled.update_history: history must be a static tensor<Hxf32> with H >= 1, "
        "got tensor<?xf32>",
    ),
    case(
        "scaled.update_history",
        "empty_history",
        f"%h: tensor<0xf32>, %m: {SCALAR}",
        "%0, %1 = scaled.update_history %h, %m : tensor<0xf32>",
        "history must be a static tensor<Hxf32> with H >= 1, got tensor<0xf32>",
    ),
    case(
        "scaled.update_history",
        "bf16_history",
        f"%h: tensor<16xbf16>, %m: {SCALAR}",
        "%0, %1 = scaled.update_history %h, %m : tensor<16xbf16>",
        "history must be a static tensor<Hxf32> with H >= 1, got tensor<16xbf16>",
    ),
    case(
        "scaled.update_history",
        "matrix_history",
        f"%h: tensor<4x4xf32>, %m: {SCALAR}",
        "%0, %1 = scaled.update_history %h, %m : tensor<4x4xf32>",
        "history must be a static tensor<Hxf32> with H >= 1, got tensor<4x4xf32>",
    ),
    # mirrored ops: the nn shape rules, with scaled names and types
    case(
        "scaled.matmul",
        "contracting_dims",
        f"%a: {X}, %b: !scaled.tensor<32x16xf8E4M3FN>",
        f"%0 = scaled.matmul %a, %b : ({X}, !scaled.tensor<32x16xf8E4M3FN>) "
        "-> !scaled.tensor<?x16xbf16>",
        "scaled.matmul: contracting dims differ: lhs has K=64, rhs has K=32",
    ),
    case(
        "scaled.matmul",
        "f8_result",
        "%a: !scaled.tensor<?x64xf8E4M3FN>, %b: !scaled.tensor<64x16xf8E4M3FN>",
        "%0 = scaled.matmul %a, %b : (!scaled.tensor<?x64xf8E4M3FN>, "
        "!scaled.tensor<64x16xf8E4M3FN>) -> !scaled.tensor<?x16xf8E4M3FN>",
        "scaled.matmul: result has f8 data (!scaled.tensor<?x16xf8E4M3FN>); only scaled.cast "
        "makes f8 data",
    ),
    case(
        "scaled.add",
        "shapes_differ",
        "%a: !scaled.tensor<3x4xbf16>, %b: !scaled.tensor<3x5xbf16>",
        '%0 = "scaled.add"(%a, %b) : (!scaled.tensor<3x4xbf16>, !scaled.tensor<3x5xbf16>) '
        "-> !scaled.tensor<3x4xbf16>",
        "scaled.add: operand types differ: lhs is !scaled.tensor<3x4xbf16>, "
        "rhs is !scaled.tensor<3x5xbf16>",
    ),
    case(
        "scaled.add",
        "element_types_differ",
        "%a: !scaled.tensor<4xbf16>, %b: !scaled.tensor<4xf32>",
        '%0 = "scaled.add"(%a, %b) : (!scaled.tensor<4xbf16>, !scaled.tensor<4xf32>) '
        "-> !scaled.tensor<4xbf16>",
        "scaled.add: operand and result types differ (!scaled.tensor<4xbf16>, "
        "!scaled.tensor<4xf32>, !scaled.tensor<4xbf16>); this op has one type",
    ),
    case(
        "scaled.relu",
        "f8_operand",
        "%a: !scaled.tensor<4xf8E4M3FN>",
        '%0 = "scaled.relu"(%a) : (!scaled.tensor<4xf8E4M3FN>) -> !scaled.tensor<4xbf16>',
        "scaled.relu: input has f8 data (!scaled.tensor<4xf8E4M3FN>); f8 data may only feed "
        "scaled.matmul",
    ),
    case(
        "scaled.sum",
        "keepdims_shape",
        "%a: !scaled.tensor<?x10xbf16>",
        "%0 = scaled.sum %a axes [1] keepdims : !scaled.tensor<?x10xbf16> "
        "-> !scaled.tensor<?x10xbf16>",
        "scaled.sum: result type !scaled.tensor<?x10xbf16> does not match the expected shape "
        "[?, 1]",
    ),
    case(
        "scaled.softmax",
        "axis_out_of_range",
        "%a: !scaled.tensor<?x10xbf16>",
        "%0 = scaled.softmax %a axis 3 : !scaled.tensor<?x10xbf16>",
        "scaled.softmax: axis 3 is out of range for rank 2",
    ),
    case(
        "scaled.layernorm",
        "gamma_shape",
        "%a: !scaled.tensor<?x128xbf16>, %g: !scaled.tensor<64xbf16>",
        "%0 = scaled.layernorm %a, %g, %g {eps = 1.000000e-05 : f64} : "
        "(!scaled.tensor<?x128xbf16>, !scaled.tensor<64xbf16>, !scaled.tensor<64xbf16>) "
        "-> !scaled.tensor<?x128xbf16>",
        "scaled.layernorm: gamma must be a [128] tensor (the last axis of the input), "
        "got !scaled.tensor<64xbf16>",
    ),
    case(
        "scaled.embedding",
        "float_ids",
        "%t: !scaled.tensor<65x128xbf16>, %i: tensor<?xf32>",
        "%0 = scaled.embedding %t, %i : (!scaled.tensor<65x128xbf16>, tensor<?xf32>) "
        "-> !scaled.tensor<?x128xbf16>",
        "scaled.embedding: ids must have an integer element type (i32, i64), got f32",
    ),
    case(
        "scaled.embedding",
        "scaled_ids",
        "%t: !scaled.tensor<65x128xbf16>, %i: !scaled.tensor<?xf32>",
        '%0 = "scaled.embedding"(%t, %i) : (!scaled.tensor<65x128xbf16>, '
        "!scaled.tensor<?xf32>) -> !scaled.tensor<?x128xbf16>",
        "!scaled.tensor<?xf32>",
    ),
    case(
        "scaled.cross_entropy",
        "labels_shape",
        "%l: !scaled.tensor<?x?x65xbf16>, %y: tensor<?xi32>",
        "%0 = scaled.cross_entropy %l, %y : (!scaled.tensor<?x?x65xbf16>, tensor<?xi32>) "
        "-> !scaled.tensor<bf16>",
        "scaled.cross_entropy: labels shape [?] must be the logits shape [?, ?, 65] without "
        "the class axis: [?, ?]",
    ),
    case(
        "scaled.reshape",
        "element_count",
        "%a: !scaled.tensor<4x8xbf16>",
        "%0 = scaled.reshape %a to #nn.dims<16> : !scaled.tensor<4x8xbf16> "
        "-> !scaled.tensor<16xbf16>",
        "scaled.reshape: element counts differ: input [4, 8] has 32, result [16] has 16",
    ),
    case(
        "scaled.slice_grad",
        "beyond_the_axis",
        "%a: !scaled.tensor<8x128xbf16>",
        "%0 = scaled.slice_grad %a axis 0 [252] to #nn.dims<256, 128> : "
        "!scaled.tensor<8x128xbf16> -> !scaled.tensor<256x128xbf16>",
        "scaled.slice_grad: dy covers [252:260] along axis 0, beyond its size 256",
    ),
    case(
        "scaled.layernorm_grad",
        "dgamma_shape",
        "%x: !scaled.tensor<?x128xbf16>, %g: !scaled.tensor<128xbf16>",
        '%0, %1, %2 = "scaled.layernorm_grad"(%x, %g, %x) <{eps = 1.000000e-05 : f64}> : '
        "(!scaled.tensor<?x128xbf16>, !scaled.tensor<128xbf16>, !scaled.tensor<?x128xbf16>) "
        "-> (!scaled.tensor<?x128xbf16>, !scaled.tensor<64xbf16>, !scaled.tensor<128xbf16>)",
        "scaled.layernorm_grad: dgamma has type !scaled.tensor<64xbf16>, "
        "expected !scaled.tensor<128xbf16>",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [pytest.param(t, m, id=f"{op}:{name}") for op, name, t, m in CASES]
)
def test_scaled_verifier_rejects_invalid_op(text: str, message: str) -> None:
    module = parse_module(text)
    with pytest.raises(VerifyException) as error:
        module.verify()
    assert message in str(error.value)


def golden_mirrors() -> list[MirroredOp]:
    """One op of each mirrored class, from the golden files (they use every one)."""
    found: dict[type[MirroredOp], MirroredOp] = {}
    for path in GOLDEN:
        for op in parse_module(path.read_text()).walk():
            if isinstance(op, MirroredOp):
                found.setdefault(type(op), op)
    return list(found.values())


MIRRORS = golden_mirrors()


def as_f8(value_type: object) -> object:
    """The f8 version of a scaled type; other types unchanged."""
    if isinstance(value_type, ScaledTensorType):
        return value_type.with_element_type(f8E4M3FN)
    return value_type


@pytest.mark.parametrize("op", MIRRORS, ids=lambda op: op.name)
def test_every_mirrored_op_rejects_f8_results(op: MirroredOp) -> None:
    f8 = build_mirror(
        op.NN_OP, op.operands, [as_f8(r.type) for r in op.results], dict(op.properties)
    )
    first = f8.get_irdl_definition().results[0][0]
    with pytest.raises(VerifyException, match=f"{op.name}: {first} has f8 data"):
        f8.verify()


def first_scaled_operand(op: MirroredOp) -> int:
    return next(i for i, v in enumerate(op.operands) if isinstance(v.type, ScaledTensorType))


@pytest.mark.parametrize(
    "op",
    [op for op in MIRRORS if op.operands and not isinstance(op, MatmulOp)],
    ids=lambda op: op.name,
)
def test_every_mirrored_op_but_matmul_rejects_f8_operands(op: MirroredOp) -> None:
    index = first_scaled_operand(op)
    types = [as_f8(v.type) if i == index else v.type for i, v in enumerate(op.operands)]
    operands = Block(arg_types=types).args
    f8 = build_mirror(op.NN_OP, operands, [r.type for r in op.results], dict(op.properties))
    name = f8.get_irdl_definition().operands[index][0]
    with pytest.raises(VerifyException, match=f"{op.name}: {name} has f8 data"):
        f8.verify()


@pytest.mark.parametrize("lhs", [f8E4M3FN, f8E5M2], ids=str)
@pytest.mark.parametrize("rhs", [f8E4M3FN, f8E5M2], ids=str)
def test_matmul_takes_any_pair_of_f8_formats(lhs: object, rhs: object) -> None:
    text = module_text(
        f"%a: !scaled.tensor<?x64x{lhs}>, %b: !scaled.tensor<64x16x{rhs}>",
        f"%0 = scaled.matmul %a, %b : (!scaled.tensor<?x64x{lhs}>, "
        f"!scaled.tensor<64x16x{rhs}>) -> !scaled.tensor<?x16xbf16>",
    )
    module = parse_module(text)
    module.verify()  # raises VerifyException if the pair is refused
    (matmul,) = [op for op in module.walk() if op.name == "scaled.matmul"]
    assert [str(v.type.element_type) for v in matmul.operands] == [str(lhs), str(rhs)]


def test_every_scaled_op_has_an_invalid_case() -> None:
    tested = {op for op, *_ in CASES} | {op.name for op in MIRRORS}
    assert tested >= {op.name for op in SCALED.operations}


def test_verification_leaves_no_uses_on_the_operands() -> None:
    # The shadow nn op of a mirror's verifier must not stay attached to anything.
    module = parse_module(GOLDEN[0].read_text())
    values = [v for op in module.walk() for v in (*op.results, *_arguments(op))]
    before = [sum(1 for _ in v.uses) for v in values]
    module.verify()
    assert [sum(1 for _ in v.uses) for v in values] == before


def _arguments(op: Operation) -> list[SSAValue]:
    return [arg for region in op.regions for block in region.blocks for arg in block.args]
