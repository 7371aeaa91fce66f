"""Each verifier rejects invalid IR with a message that names the problem.

Cases are function bodies over typed arguments (the module's parameters come first);
forms the custom syntax cannot express (operands of different types) use the generic
form.
"""

import pytest
from xdsl.utils.exceptions import VerifyException

from scalc.dialects.context import parse_module

PARAMS = """\
  nn.param @w : tensor<64x256xf32> {init = "normal", std = 2.000000e-02 : f64}
"""


def module_text(args: str, body: str, params: str = PARAMS) -> str:
    return (
        f"builtin.module {{\n{params}  func.func @f({args}) {{\n"
        f"    {body}\n    func.return\n  }}\n}}\n"
    )


F = "tensor<?x64xf32>"

# (id, function arguments, body, expected message substring)
CASES = [
    # nn.param
    ("param_normal_without_std", "", "", "nn.param: @p: init 'normal' needs std",
     '  nn.param @p : tensor<4xf32> {init = "normal"}\n'),
    ("param_negative_std", "", "", "nn.param: @p: std must be positive, got -1.0",
     '  nn.param @p : tensor<4xf32> {init = "normal", std = -1.0 : f64}\n'),
    ("param_constant_without_value", "", "", "init 'constant' needs value",
     '  nn.param @p : tensor<4xf32> {init = "constant"}\n'),
    ("param_zeros_with_std", "", "", "init 'zeros' takes no std",
     '  nn.param @p : tensor<4xf32> {init = "zeros", std = 1.0 : f64}\n'),
    ("param_unknown_init", "", "", "unknown init 'uniform'",
     '  nn.param @p : tensor<4xf32> {init = "uniform"}\n'),
    ("param_dynamic_shape", "", "", "a parameter needs a static shape, got tensor<?x4xf32>",
     '  nn.param @p : tensor<?x4xf32> {init = "zeros"}\n'),
    ("param_integer", "", "", "must have a float element type (f32, bf16, f16), got i32",
     '  nn.param @p : tensor<4xi32> {init = "zeros"}\n'),
    # nn.get_param
    ("get_param_unknown", "", "%0 = nn.get_param @nope : tensor<64x256xf32>",
     "nn.get_param: unknown parameter @nope", PARAMS),
    ("get_param_type", "", "%0 = nn.get_param @w : tensor<64x128xf32>",
     "nn.get_param: type tensor<64x128xf32> differs from the type of @w: tensor<64x256xf32>",
     PARAMS),
    ("get_param_not_a_param", "", "%0 = nn.get_param @f : tensor<64x256xf32>",
     "nn.get_param: @f is a func.func, not an nn.param", PARAMS),
    # nn.constant
    ("constant_not_scalar", "", "%0 = nn.constant 1.0 : tensor<4xf32>",
     "nn.constant: a constant is a rank-0 scalar, got tensor<4xf32>", PARAMS),
    ("constant_integer", "", "%0 = nn.constant 1.0 : tensor<i32>",
     "nn.constant: the result must have a float element type", PARAMS),
    # unary and binary
    ("relu_integer", "%a: tensor<4xi32>", "%0 = nn.relu %a : tensor<4xi32>",
     "nn.relu: operand must have a float element type (f32, bf16, f16), got i32", PARAMS),
    ("exp_result_type", "%a: tensor<4xf32>",
     '%0 = "nn.exp"(%a) : (tensor<4xf32>) -> tensor<4xbf16>',
     "nn.exp: result type tensor<4xbf16> differs from the operand type tensor<4xf32>", PARAMS),
    ("add_operand_types", "%a: tensor<3x4xf32>, %b: tensor<3x5xf32>",
     '%0 = "nn.add"(%a, %b) : (tensor<3x4xf32>, tensor<3x5xf32>) -> tensor<3x4xf32>',
     "nn.add: operand types differ: lhs is tensor<3x4xf32>, rhs is tensor<3x5xf32>", PARAMS),
    ("sub_dynamic_vs_static", "%a: tensor<?x4xf32>, %b: tensor<3x4xf32>",
     '%0 = "nn.sub"(%a, %b) : (tensor<?x4xf32>, tensor<3x4xf32>) -> tensor<?x4xf32>',
     "nn.sub: operand types differ", PARAMS),
    ("mul_integer", "%a: tensor<4xi64>", "%0 = nn.mul %a, %a : tensor<4xi64>",
     "nn.mul: operand must have a float element type", PARAMS),
    ("div_result_type", "%a: tensor<4xf32>",
     '%0 = "nn.div"(%a, %a) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf16>',
     "nn.div: result type tensor<4xf16> differs", PARAMS),
    # nn.matmul
    ("matmul_contracting", f"%a: {F}, %b: tensor<32x256xf32>",
     f"%0 = nn.matmul %a, %b : ({F}, tensor<32x256xf32>) -> tensor<?x256xf32>",
     "nn.matmul: contracting dims differ: lhs has K=64, rhs has K=32", PARAMS),
    ("matmul_batch", "%a: tensor<?x4x?x32xf32>, %b: tensor<?x8x32x?xf32>",
     "%0 = nn.matmul %a, %b : (tensor<?x4x?x32xf32>, tensor<?x8x32x?xf32>) "
     "-> tensor<?x4x?x?xf32>",
     "nn.matmul: batch dims differ: lhs has [?, 4], rhs has [?, 8]", PARAMS),
    ("matmul_dtype", f"%a: {F}, %b: tensor<64x256xbf16>",
     f"%0 = nn.matmul %a, %b : ({F}, tensor<64x256xbf16>) -> tensor<?x256xf32>",
     "nn.matmul: element types differ: lhs has f32, rhs has bf16", PARAMS),
    ("matmul_rhs_rank", "%a: tensor<?x?x64xf32>, %b: tensor<2x2x64x8xf32>",
     "%0 = nn.matmul %a, %b : (tensor<?x?x64xf32>, tensor<2x2x64x8xf32>) -> tensor<?x?x8xf32>",
     "nn.matmul: rhs must have rank 2 or the lhs rank 3", PARAMS),
    ("matmul_result", f"%a: {F}, %b: tensor<64x256xf32>",
     f"%0 = nn.matmul %a, %b : ({F}, tensor<64x256xf32>) -> tensor<?x128xf32>",
     "nn.matmul: result type tensor<?x128xf32> does not match the expected shape [?, 256]",
     PARAMS),
    # reductions
    ("sum_axis_out_of_range", "%a: tensor<?x10xf32>",
     "%0 = nn.sum %a axes [2] : tensor<?x10xf32> -> tensor<?xf32>",
     "nn.sum: axis 2 is out of range for rank 2", PARAMS),
    ("max_duplicate_axes", "%a: tensor<?x10xf32>",
     "%0 = nn.max %a axes [1, 1] : tensor<?x10xf32> -> tensor<?xf32>",
     "nn.max: axes [1, 1] contain a duplicate", PARAMS),
    ("mean_unsorted_axes", "%a: tensor<?x10xf32>",
     "%0 = nn.mean %a axes [1, 0] : tensor<?x10xf32> -> tensor<f32>",
     "nn.mean: axes [1, 0] are not sorted", PARAMS),
    ("sum_negative_axis", "%a: tensor<?x10xf32>",
     "%0 = nn.sum %a axes [-1] : tensor<?x10xf32> -> tensor<?xf32>",
     "nn.sum: axis -1 is negative", PARAMS),
    ("sum_no_axes", "%a: tensor<?x10xf32>",
     "%0 = nn.sum %a axes [] : tensor<?x10xf32> -> tensor<?x10xf32>",
     "nn.sum: needs at least one axis", PARAMS),
    ("sum_keepdims_missing", "%a: tensor<?x10xf32>",
     "%0 = nn.sum %a axes [1] : tensor<?x10xf32> -> tensor<?x1xf32>",
     "nn.sum: result type tensor<?x1xf32> does not match the expected shape [?]", PARAMS),
    # shape ops
    ("reshape_count", "%a: tensor<4x4xf32>",
     "%0 = nn.reshape %a to #nn.dims<3, 5> : tensor<4x4xf32> -> tensor<3x5xf32>",
     "nn.reshape: element counts differ: input [4, 4] has 16, result [3, 5] has 15", PARAMS),
    ("reshape_dims_static_vs_type", "%a: tensor<?x?x128xf32>",
     "%0 = nn.reshape %a to #nn.dims<B*T, 128> : tensor<?x?x128xf32> -> tensor<?x64xf32>",
     "nn.reshape: #nn.dims<B*T, 128> gives 128 for axis 1 but the result type has 64", PARAMS),
    ("reshape_dims_symbolic_vs_type", "%a: tensor<?x128xf32>",
     "%0 = nn.reshape %a to #nn.dims<B, 128> : tensor<?x128xf32> -> tensor<4x128xf32>",
     "nn.reshape: #nn.dims<B, 128> gives B for axis 0 but the result type has 4", PARAMS),
    ("reshape_dims_rank", "%a: tensor<?x128xf32>",
     "%0 = nn.reshape %a to #nn.dims<B> : tensor<?x128xf32> -> tensor<?x128xf32>",
     "nn.reshape: #nn.dims<B> names 1 sizes but the result has rank 2", PARAMS),
    ("reshape_element_type", "%a: tensor<4xf32>",
     "%0 = nn.reshape %a to #nn.dims<2, 2> : tensor<4xf32> -> tensor<2x2xbf16>",
     "nn.reshape: result element type bf16 differs from the input's f32", PARAMS),
    ("broadcast_incompatible", "%a: tensor<128xf32>",
     "%0 = nn.broadcast %a to #nn.dims<B, 256> : tensor<128xf32> -> tensor<?x256xf32>",
     "nn.broadcast: cannot broadcast [128] to [?, 256]: input axis 0 has 128, neither 1 nor 256",
     PARAMS),
    ("broadcast_rank", "%a: tensor<4x4xf32>",
     "%0 = nn.broadcast %a to #nn.dims<4> : tensor<4x4xf32> -> tensor<4xf32>",
     "nn.broadcast: cannot broadcast rank 2 to rank 1", PARAMS),
    ("transpose_not_permutation", "%a: tensor<?x4x8xf32>",
     "%0 = nn.transpose %a [0, 0, 1] : tensor<?x4x8xf32> -> tensor<?x?x4xf32>",
     "nn.transpose: [0, 0, 1] is not a permutation of the 3 input axes", PARAMS),
    ("transpose_result", "%a: tensor<?x4x8xf32>",
     "%0 = nn.transpose %a [0, 2, 1] : tensor<?x4x8xf32> -> tensor<?x4x8xf32>",
     "nn.transpose: result type tensor<?x4x8xf32> does not match the expected shape [?, 8, 4]",
     PARAMS),
    ("slice_out_of_range", "%a: tensor<256x128xf32>",
     "%0 = nn.slice %a axis 0 [0 : #nn.dims<300>] : tensor<256x128xf32> -> tensor<300x128xf32>",
     "nn.slice: [0:300] is out of range for axis 0 of size 256", PARAMS),
    ("slice_empty_range", "%a: tensor<256x128xf32>",
     "%0 = nn.slice %a axis 0 [5 : #nn.dims<3>] : tensor<256x128xf32> -> tensor<0x128xf32>",
     "nn.slice: [5:3] is not a valid range", PARAMS),
    ("slice_symbolic_stop_static_result", "%a: tensor<256x128xf32>",
     "%0 = nn.slice %a axis 0 [0 : #nn.dims<T>] : tensor<256x128xf32> -> tensor<16x128xf32>",
     "nn.slice: [0:T] gives ? elements along axis 0", PARAMS),
    ("slice_axis", "%a: tensor<256x128xf32>",
     "%0 = nn.slice %a axis 2 [0 : #nn.dims<4>] : tensor<256x128xf32> -> tensor<256x128xf32>",
     "nn.slice: axis 2 is out of range for rank 2", PARAMS),
    ("slice_two_stops", "%a: tensor<256x128xf32>",
     "%0 = nn.slice %a axis 0 [0 : #nn.dims<T, 4>] : tensor<256x128xf32> -> tensor<?x128xf32>",
     "nn.slice: stop #nn.dims<T, 4> must have exactly one entry", PARAMS),
    ("index_out_of_range", "%a: tensor<4x128x128xf32>",
     "%0 = nn.index %a axis 0 [4] : tensor<4x128x128xf32> -> tensor<128x128xf32>",
     "nn.index: index 4 is out of range for axis 0 of size 4", PARAMS),
    ("index_result", "%a: tensor<4x128x64xf32>",
     "%0 = nn.index %a axis 1 [0] : tensor<4x128x64xf32> -> tensor<128x64xf32>",
     "nn.index: result type tensor<128x64xf32> does not match the expected shape [4, 64]",
     PARAMS),
    # layers
    ("softmax_axis", "%a: tensor<?x10xf32>", "%0 = nn.softmax %a axis 2 : tensor<?x10xf32>",
     "nn.softmax: axis 2 is out of range for rank 2", PARAMS),
    ("layernorm_gamma_shape", "%a: tensor<?x?x128xf32>, %g: tensor<64xf32>, %b: tensor<128xf32>",
     "%0 = nn.layernorm %a, %g, %b {eps = 1.0e-05 : f64} : "
     "(tensor<?x?x128xf32>, tensor<64xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>",
     "nn.layernorm: gamma must be a [128] tensor of f32 (the last axis of the input), "
     "got tensor<64xf32>", PARAMS),
    ("layernorm_beta_dtype", "%a: tensor<?x128xf32>, %g: tensor<128xf32>, %b: tensor<128xbf16>",
     "%0 = nn.layernorm %a, %g, %b {eps = 1.0e-05 : f64} : "
     "(tensor<?x128xf32>, tensor<128xf32>, tensor<128xbf16>) -> tensor<?x128xf32>",
     "nn.layernorm: beta must be a [128] tensor of f32", PARAMS),
    ("layernorm_eps", "%a: tensor<?x128xf32>, %g: tensor<128xf32>",
     "%0 = nn.layernorm %a, %g, %g {eps = 0.0 : f64} : "
     "(tensor<?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x128xf32>",
     "nn.layernorm: eps must be positive, got 0.0", PARAMS),
    ("embedding_float_ids", "%t: tensor<65x128xf32>, %i: tensor<?x?xf32>",
     "%0 = nn.embedding %t, %i : (tensor<65x128xf32>, tensor<?x?xf32>) -> tensor<?x?x128xf32>",
     "nn.embedding: ids must have an integer element type (i32, i64), got f32", PARAMS),
    ("embedding_table_rank", "%t: tensor<65xf32>, %i: tensor<?xi32>",
     "%0 = nn.embedding %t, %i : (tensor<65xf32>, tensor<?xi32>) -> tensor<?xf32>",
     "nn.embedding: table must have rank 2 [V, D], got tensor<65xf32>", PARAMS),
    ("embedding_result", "%t: tensor<65x128xf32>, %i: tensor<?x?xi32>",
     "%0 = nn.embedding %t, %i : (tensor<65x128xf32>, tensor<?x?xi32>) -> tensor<?x128xf32>",
     "nn.embedding: result type tensor<?x128xf32> does not match the expected shape [?, ?, 128]",
     PARAMS),
    ("causal_mask_rank_1", "%a: tensor<8xf32>", "%0 = nn.causal_mask %a : tensor<8xf32>",
     "nn.causal_mask: needs rank >= 2, got tensor<8xf32>", PARAMS),
    ("causal_mask_not_square", "%a: tensor<?x4x8xf32>",
     "%0 = nn.causal_mask %a : tensor<?x4x8xf32>",
     "nn.causal_mask: the last two axes must be square, got 4 x 8", PARAMS),
    # loss
    ("cross_entropy_labels_shape", "%l: tensor<?x?x65xf32>, %y: tensor<?xi32>",
     "%0 = nn.cross_entropy %l, %y : (tensor<?x?x65xf32>, tensor<?xi32>) -> tensor<f32>",
     "nn.cross_entropy: labels shape [?] must be the logits shape [?, ?, 65] without the "
     "class axis: [?, ?]", PARAMS),
    ("cross_entropy_float_labels", "%l: tensor<?x65xf32>, %y: tensor<?xf32>",
     "%0 = nn.cross_entropy %l, %y : (tensor<?x65xf32>, tensor<?xf32>) -> tensor<f32>",
     "nn.cross_entropy: labels must have an integer element type (i32, i64), got f32", PARAMS),
    ("cross_entropy_result", "%l: tensor<?x65xbf16>, %y: tensor<?xi32>",
     "%0 = nn.cross_entropy %l, %y : (tensor<?x65xbf16>, tensor<?xi32>) -> tensor<bf16>",
     "nn.cross_entropy: result type tensor<bf16> does not match the expected shape [] and "
     "element type f32", PARAMS),
]


@pytest.mark.parametrize(
    ("args", "body", "message", "params"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_verifier_rejects_invalid_op(args: str, body: str, message: str, params: str) -> None:
    module = parse_module(module_text(args, body, params))
    with pytest.raises(VerifyException) as error:
        module.verify()
    assert message in str(error.value)


def test_get_param_outside_a_module_is_rejected() -> None:
    from xdsl.dialects.builtin import TensorType, f32

    from scalc.dialects.nn import GetParamOp

    with pytest.raises(VerifyException, match="@w is read outside a module"):
        GetParamOp("w", TensorType(f32, [4])).verify()
