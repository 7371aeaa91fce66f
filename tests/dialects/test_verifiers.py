"""Each verifier rejects invalid IR with a message that names the problem.

A case is one function body over typed arguments, after the module's parameters.  Forms
the custom syntax cannot express (operands of different types) use the generic form.
"""

import pytest
from xdsl.dialects.builtin import TensorType, f32
from xdsl.utils.exceptions import VerifyException

from scalc.dialects.context import parse_module
from scalc.dialects.nn import NN, GetParamOp, MatmulOp, UnaryOp

PARAMS = '  nn.param @w : tensor<64x256xf32> {init = "normal", std = 2.000000e-02 : f64}\n'
F = "tensor<?x64xf32>"


def module_text(args: str, body: str, params: str = PARAMS) -> str:
    """``params``, then ``body`` in ``func.func @f(args)``."""
    function = f"  func.func @f({args}) {{\n    {body}\n    func.return\n  }}\n"
    return f"builtin.module {{\n{params}{function}}}\n"


def case(
    name: str, args: str, body: str, message: str, params: str = PARAMS
) -> tuple[str, str, str]:
    """A named invalid module and the message its verification must give."""
    return name, module_text(args, body, params), message


CASES = [
    # nn.param
    case(
        "param_normal_without_std",
        "",
        "",
        "nn.param: @p: init 'normal' needs std",
        '  nn.param @p : tensor<4xf32> {init = "normal"}\n',
    ),
    case(
        "param_negative_std",
        "",
        "",
        "nn.param: @p: std must be positive, got -1.0",
        '  nn.param @p : tensor<4xf32> {init = "normal", std = -1.0 : f64}\n',
    ),
    case(
        "param_constant_without_value",
        "",
        "",
        "nn.param: @p: init 'constant' needs value",
        '  nn.param @p : tensor<4xf32> {init = "constant"}\n',
    ),
    case(
        "param_zeros_with_std",
        "",
        "",
        "nn.param: @p: init 'zeros' takes no std",
        '  nn.param @p : tensor<4xf32> {init = "zeros", std = 1.0 : f64}\n',
    ),
    case(
        "param_unknown_init",
        "",
        "",
        "nn.param: @p: unknown init 'uniform'",
        '  nn.param @p : tensor<4xf32> {init = "uniform"}\n',
    ),
    case(
        "param_dynamic_shape",
        "",
        "",
        "nn.param: @p: a parameter needs a static shape, got tensor<?x4xf32>",
        '  nn.param @p : tensor<?x4xf32> {init = "zeros"}\n',
    ),
    case(
        "param_integer",
        "",
        "",
        "nn.param: @p: the parameter type must have a float element type (f32, bf16, f16), got i32",
        '  nn.param @p : tensor<4xi32> {init = "zeros"}\n',
    ),
    case(
        "param_inside_a_function",
        "",
        'nn.param @p : tensor<4xf32> {init = "zeros"}',
        "'nn.param' expects parent op 'builtin.module'",  # xDSL's HasParent message
    ),
    # nn.get_param
    case(
        "get_param_unknown",
        "",
        "%0 = nn.get_param @nope : tensor<64x256xf32>",
        "nn.get_param: unknown parameter @nope",
    ),
    case(
        "get_param_type",
        "",
        "%0 = nn.get_param @w : tensor<64x128xf32>",
        "nn.get_param: type tensor<64x128xf32> differs from the type of @w: tensor<64x256xf32>",
    ),
    case(
        "get_param_not_a_param",
        "",
        "%0 = nn.get_param @f : tensor<64x256xf32>",
        "nn.get_param: @f is a func.func, not an nn.param",
    ),
    # nn.constant
    case(
        "constant_not_scalar",
        "",
        "%0 = nn.constant 1.0 : tensor<4xf32>",
        "nn.constant: a constant is a rank-0 scalar, got tensor<4xf32>",
    ),
    case(
        "constant_integer",
        "",
        "%0 = nn.constant 1.0 : tensor<i32>",
        "nn.constant: the result must have a float element type",
    ),
    # unary and binary
    case(
        "relu_integer",
        "%a: tensor<4xi32>",
        "%0 = nn.relu %a : tensor<4xi32>",
        "nn.relu: operand must have a float element type (f32, bf16, f16), got i32",
    ),
    case(
        "exp_result_type",
        "%a: tensor<4xf32>",
        '%0 = "nn.exp"(%a) : (tensor<4xf32>) -> tensor<4xbf16>',
        "nn.exp: result type tensor<4xbf16> differs from the operand type tensor<4xf32>",
    ),
    case(
        "add_operand_types",
        "%a: tensor<3x4xf32>, %b: tensor<3x5xf32>",
        '%0 = "nn.add"(%a, %b) : (tensor<3x4xf32>, tensor<3x5xf32>) -> tensor<3x4xf32>',
        "nn.add: operand types differ: lhs is tensor<3x4xf32>, rhs is tensor<3x5xf32>",
    ),
    case(
        "sub_dynamic_vs_static",
        "%a: tensor<?x4xf32>, %b: tensor<3x4xf32>",
        '%0 = "nn.sub"(%a, %b) : (tensor<?x4xf32>, tensor<3x4xf32>) -> tensor<?x4xf32>',
        "nn.sub: operand types differ",
    ),
    case(
        "mul_integer",
        "%a: tensor<4xi64>",
        "%0 = nn.mul %a, %a : tensor<4xi64>",
        "nn.mul: operand must have a float element type",
    ),
    case(
        "div_result_type",
        "%a: tensor<4xf32>",
        '%0 = "nn.div"(%a, %a) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf16>',
        "nn.div: result type tensor<4xf16> differs",
    ),
    # nn.matmul
    case(
        "matmul_contracting",
        f"%a: {F}, %b: tensor<32x256xf32>",
        f"%0 = nn.matmul %a, %b : ({F}, tensor<32x256xf32>) -> tensor<?x256xf32>",
        "nn.matmul: contracting dims differ: lhs has K=64, rhs has K=32",
    ),
    case(
        "matmul_batch",
        "%a: tensor<?x4x?x32xf32>, %b: tensor<?x8x32x?xf32>",
        "%0 = nn.matmul %a, %b : (tensor<?x4x?x32xf32>, tensor<?x8x32x?xf32>) "
        "-> tensor<?x4x?x?xf32>",
        "nn.matmul: batch dims differ: lhs has [?, 4], rhs has [?, 8]",
    ),
    case(
        "matmul_dtype",
        f"%a: {F}, %b: tensor<64x256xbf16>",
        f"%0 = nn.matmul %a, %b : ({F}, tensor<64x256xbf16>) -> tensor<?x256xf32>",
        "nn.matmul: element types differ: lhs has f32, rhs has bf16",
    ),
    case(
        "matmul_rhs_rank",
        "%a: tensor<?x?x64xf32>, %b: tensor<2x2x64x8xf32>",
        "%0 = nn.matmul %a, %b : (tensor<?x?x64xf32>, tensor<2x2x64x8xf32>) -> tensor<?x?x8xf32>",
        "nn.matmul: rhs must have rank 2 or the lhs rank 3",
    ),
    case(
        "matmul_result",
        f"%a: {F}, %b: tensor<64x256xf32>",
        f"%0 = nn.matmul %a, %b : ({F}, tensor<64x256xf32>) -> tensor<?x128xf32>",
        "nn.matmul: result type tensor<?x128xf32> does not match the expected shape [?, 256]",
    ),
    # reductions
    case(
        "sum_axis_out_of_range",
        "%a: tensor<?x10xf32>",
        "%0 = nn.sum %a axes [2] : tensor<?x10xf32> -> tensor<?xf32>",
        "nn.sum: axis 2 is out of range for rank 2",
    ),
    case(
        "max_duplicate_axes",
        "%a: tensor<?x10xf32>",
        "%0 = nn.max %a axes [1, 1] : tensor<?x10xf32> -> tensor<?xf32>",
        "nn.max: axes [1, 1] contain a duplicate",
    ),
    case(
        "mean_unsorted_axes",
        "%a: tensor<?x10xf32>",
        "%0 = nn.mean %a axes [1, 0] : tensor<?x10xf32> -> tensor<f32>",
        "nn.mean: axes [1, 0] are not sorted",
    ),
    case(
        "sum_negative_axis",
        "%a: tensor<?x10xf32>",
        "%0 = nn.sum %a axes [-1] : tensor<?x10xf32> -> tensor<?xf32>",
        "nn.sum: axis -1 is negative",
    ),
    case(
        "sum_no_axes",
        "%a: tensor<?x10xf32>",
        "%0 = nn.sum %a axes [] : tensor<?x10xf32> -> tensor<?x10xf32>",
        "nn.sum: needs at least one axis",
    ),
    case(
        "sum_keepdims_missing",
        "%a: tensor<?x10xf32>",
        "%0 = nn.sum %a axes [1] : tensor<?x10xf32> -> tensor<?x1xf32>",
        "nn.sum: result type tensor<?x1xf32> does not match the expected shape [?]",
    ),
    # shape ops
    case(
        "reshape_count",
        "%a: tensor<4x4xf32>",
        "%0 = nn.reshape %a to #nn.dims<3, 5> : tensor<4x4xf32> -> tensor<3x5xf32>",
        "nn.reshape: element counts differ: input [4, 4] has 16, result [3, 5] has 15",
    ),
    case(
        "reshape_dims_static_vs_type",
        "%a: tensor<?x?x128xf32>",
        "%0 = nn.reshape %a to #nn.dims<B*T, 128> : tensor<?x?x128xf32> -> tensor<?x64xf32>",
        "nn.reshape: #nn.dims<B*T, 128> gives 128 for axis 1 but the result type has 64",
    ),
    case(
        "reshape_dims_symbolic_vs_type",
        "%a: tensor<?x128xf32>",
        "%0 = nn.reshape %a to #nn.dims<B, 128> : tensor<?x128xf32> -> tensor<4x128xf32>",
        "nn.reshape: #nn.dims<B, 128> gives B for axis 0 but the result type has 4",
    ),
    case(
        "reshape_dims_rank",
        "%a: tensor<?x128xf32>",
        "%0 = nn.reshape %a to #nn.dims<B> : tensor<?x128xf32> -> tensor<?x128xf32>",
        "nn.reshape: #nn.dims<B> names 1 sizes but the result has rank 2",
    ),
    case(
        "reshape_element_type",
        "%a: tensor<4xf32>",
        "%0 = nn.reshape %a to #nn.dims<2, 2> : tensor<4xf32> -> tensor<2x2xbf16>",
        "nn.reshape: result element type bf16 differs from the input's f32",
    ),
    case(
        "broadcast_incompatible",
        "%a: tensor<128xf32>",
        "%0 = nn.broadcast %a to #nn.dims<B, 256> : tensor<128xf32> -> tensor<?x256xf32>",
        "nn.broadcast: cannot broadcast [128] to [?, 256]: input axis 0 has 128, neither 1 nor 256",
    ),
    case(
        "broadcast_rank",
        "%a: tensor<4x4xf32>",
        "%0 = nn.broadcast %a to #nn.dims<4> : tensor<4x4xf32> -> tensor<4xf32>",
        "nn.broadcast: cannot broadcast rank 2 to rank 1",
    ),
    case(
        "transpose_not_permutation",
        "%a: tensor<?x4x8xf32>",
        "%0 = nn.transpose %a [0, 0, 1] : tensor<?x4x8xf32> -> tensor<?x?x4xf32>",
        "nn.transpose: [0, 0, 1] is not a permutation of the 3 input axes",
    ),
    case(
        "transpose_result",
        "%a: tensor<?x4x8xf32>",
        "%0 = nn.transpose %a [0, 2, 1] : tensor<?x4x8xf32> -> tensor<?x4x8xf32>",
        "nn.transpose: result type tensor<?x4x8xf32> does not match the expected shape [?, 8, 4]",
    ),
    case(
        "slice_out_of_range",
        "%a: tensor<256x128xf32>",
        "%0 = nn.slice %a axis 0 [0 : #nn.dims<300>] : tensor<256x128xf32> -> tensor<300x128xf32>",
        "nn.slice: [0:300] is out of range for axis 0 of size 256",
    ),
    case(
        "slice_empty_range",
        "%a: tensor<256x128xf32>",
        "%0 = nn.slice %a axis 0 [5 : #nn.dims<3>] : tensor<256x128xf32> -> tensor<0x128xf32>",
        "nn.slice: [5:3] is not a valid range",
    ),
    case(
        "slice_symbolic_stop_static_result",
        "%a: tensor<256x128xf32>",
        "%0 = nn.slice %a axis 0 [0 : #nn.dims<T>] : tensor<256x128xf32> -> tensor<16x128xf32>",
        "nn.slice: [0:T] gives ? elements along axis 0",
    ),
    case(
        "slice_axis",
        "%a: tensor<256x128xf32>",
        "%0 = nn.slice %a axis 2 [0 : #nn.dims<4>] : tensor<256x128xf32> -> tensor<256x128xf32>",
        "nn.slice: axis 2 is out of range for rank 2",
    ),
    case(
        "slice_two_stops",
        "%a: tensor<256x128xf32>",
        "%0 = nn.slice %a axis 0 [0 : #nn.dims<T, 4>] : tensor<256x128xf32> -> tensor<?x128xf32>",
        "nn.slice: stop #nn.dims<T, 4> must have exactly one entry",
    ),
    case(
        "index_out_of_range",
        "%a: tensor<4x128x128xf32>",
        "%0 = nn.index %a axis 0 [4] : tensor<4x128x128xf32> -> tensor<128x128xf32>",
        "nn.index: index 4 is out of range for axis 0 of size 4",
    ),
    case(
        "index_result",
        "%a: tensor<4x128x64xf32>",
        "%0 = nn.index %a axis 1 [0] : tensor<4x128x64xf32> -> tensor<128x64xf32>",
        "nn.index: result type tensor<128x64xf32> does not match the expected shape [4, 64]",
    ),
    # layers
    case(
        "softmax_axis",
        "%a: tensor<?x10xf32>",
        "%0 = nn.softmax %a axis 2 : tensor<?x10xf32>",
        "nn.softmax: axis 2 is out of range for rank 2",
    ),
    case(
        "layernorm_gamma_shape",
        "%a: tensor<?x?x128xf32>, %g: tensor<64xf32>, %b: tensor<128xf32>",
        "%0 = nn.layernorm %a, %g, %b {eps = 1.0e-05 : f64} : "
        "(tensor<?x?x128xf32>, tensor<64xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>",
        "nn.layernorm: gamma must be a [128] tensor of f32 (the last axis of the input), "
        "got tensor<64xf32>",
    ),
    case(
        "layernorm_beta_dtype",
        "%a: tensor<?x128xf32>, %g: tensor<128xf32>, %b: tensor<128xbf16>",
        "%0 = nn.layernorm %a, %g, %b {eps = 1.0e-05 : f64} : "
        "(tensor<?x128xf32>, tensor<128xf32>, tensor<128xbf16>) -> tensor<?x128xf32>",
        "nn.layernorm: beta must be a [128] tensor of f32",
    ),
    case(
        "layernorm_eps",
        "%a: tensor<?x128xf32>, %g: tensor<128xf32>",
        "%0 = nn.layernorm %a, %g, %g {eps = 0.0 : f64} : "
        "(tensor<?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x128xf32>",
        "nn.layernorm: eps must be positive, got 0.0",
    ),
    case(
        "embedding_float_ids",
        "%t: tensor<65x128xf32>, %i: tensor<?x?xf32>",
        "%0 = nn.embedding %t, %i : (tensor<65x128xf32>, tensor<?x?xf32>) -> tensor<?x?x128xf32>",
        "nn.embedding: ids must have an integer element type (i32, i64), got f32",
    ),
    case(
        "embedding_table_rank",
        "%t: tensor<65xf32>, %i: tensor<?xi32>",
        "%0 = nn.embedding %t, %i : (tensor<65xf32>, tensor<?xi32>) -> tensor<?xf32>",
        "nn.embedding: table must have rank 2 [V, D], got tensor<65xf32>",
    ),
    case(
        "embedding_result",
        "%t: tensor<65x128xf32>, %i: tensor<?x?xi32>",
        "%0 = nn.embedding %t, %i : (tensor<65x128xf32>, tensor<?x?xi32>) -> tensor<?x128xf32>",
        "nn.embedding: result type tensor<?x128xf32> does not match the expected shape [?, ?, 128]",
    ),
    case(
        "causal_mask_rank_1",
        "%a: tensor<8xf32>",
        "%0 = nn.causal_mask %a : tensor<8xf32>",
        "nn.causal_mask: needs rank >= 2, got tensor<8xf32>",
    ),
    case(
        "causal_mask_not_square",
        "%a: tensor<?x4x8xf32>",
        "%0 = nn.causal_mask %a : tensor<?x4x8xf32>",
        "nn.causal_mask: the last two axes must be square, got 4 x 8",
    ),
    # loss
    case(
        "cross_entropy_labels_shape",
        "%l: tensor<?x?x65xf32>, %y: tensor<?xi32>",
        "%0 = nn.cross_entropy %l, %y : (tensor<?x?x65xf32>, tensor<?xi32>) -> tensor<f32>",
        "nn.cross_entropy: labels shape [?] must be the logits shape [?, ?, 65] without the "
        "class axis: [?, ?]",
    ),
    case(
        "cross_entropy_float_labels",
        "%l: tensor<?x65xf32>, %y: tensor<?xf32>",
        "%0 = nn.cross_entropy %l, %y : (tensor<?x65xf32>, tensor<?xf32>) -> tensor<f32>",
        "nn.cross_entropy: labels must have an integer element type (i32, i64), got f32",
    ),
    case(
        "cross_entropy_result",
        "%l: tensor<?x65xbf16>, %y: tensor<?xi32>",
        "%0 = nn.cross_entropy %l, %y : (tensor<?x65xbf16>, tensor<?xi32>) -> tensor<bf16>",
        "nn.cross_entropy: result type tensor<bf16> does not match the expected shape [] and "
        "element type f32",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [pytest.param(text, message, id=name) for name, text, message in CASES]
)
def test_verifier_rejects_invalid_op(text: str, message: str) -> None:
    module = parse_module(text)
    with pytest.raises(VerifyException) as error:
        module.verify()
    assert message in str(error.value)


@pytest.mark.parametrize("op", [op for op in NN.operations if issubclass(op, UnaryOp)])
def test_every_unary_op_rejects_integer_operands(op: type[UnaryOp]) -> None:
    module = parse_module(module_text("%a: tensor<4xi32>", f"%0 = {op.name} %a : tensor<4xi32>"))
    with pytest.raises(VerifyException, match=f"{op.name}: operand must have a float"):
        module.verify()


def test_every_op_has_an_invalid_case() -> None:
    tested = {message.split(":")[0] for _, _, message in CASES}
    tested |= {op.name for op in NN.operations if issubclass(op, UnaryOp)}
    assert tested >= {op.name for op in NN.operations}


def test_ops_built_from_python_are_verified_only_when_asked() -> None:
    lhs = GetParamOp("w", TensorType(f32, [64, 256]))
    matmul = MatmulOp(lhs, lhs, TensorType(f32, [64, 256]))
    with pytest.raises(
        VerifyException, match="contracting dims differ: lhs has K=256, rhs has K=64"
    ):
        matmul.verify()


def test_get_param_outside_a_module_is_rejected() -> None:
    with pytest.raises(VerifyException, match="@w is read outside a module"):
        GetParamOp("w", TensorType(f32, [4])).verify()
