"""Each verifier rejects invalid IR with a message that names the problem.

A case is one function body over typed arguments, after the module's parameters.  Forms
the custom syntax cannot express (operands of different types) use the generic form.
"""

import pytest
from xdsl.dialects.builtin import TensorType, f32
from xdsl.utils.exceptions import VerifyException

from scalc.dialects.context import parse_module
from scalc.dialects.nn import NN, ElementwiseGradOp, GetParamOp, MatmulOp, UnaryOp

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


STATE = PARAMS + "  nn.state @w.m : tensor<64x256xf32> {param = @w}\n"
W = "tensor<64x256xf32>"
SGD = "momentum = 9.0e-01 : f64, weight_decay = 0.0 : f64, nesterov = false"
ADAMW = (
    "beta1 = 9.0e-01 : f64, beta2 = 9.99e-01 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64"
)


B4 = "tensor<4xbf16>"
NESTEROV = "momentum = 0.0 : f64, nesterov = true"


def with_hyperparameters(defaults: str, changes: str) -> str:
    """``defaults`` (``a = 1.0 : f64, ...``) with the entries named in ``changes`` replaced."""
    entries = dict(entry.split(" = ", 1) for entry in f"{defaults}, {changes}".split(", "))
    return ", ".join(f"{name} = {value}" for name, value in entries.items())


def sgd_case(name: str, changes: str, message: str) -> tuple[str, str, str]:
    """An ``nn.sgd`` on ``@w``'s type whose hyper-parameters differ from SGD by ``changes``."""
    attrs = with_hyperparameters(SGD, changes)
    body = f"%0, %1 = nn.sgd %w, %w, %w, %lr {{{attrs}}} : {W}"
    return case(name, f"%w: {W}, %lr: tensor<f32>", body, f"nn.sgd: {message}")


def adamw_case(name: str, changes: str, message: str) -> tuple[str, str, str]:
    """An ``nn.adamw`` whose hyper-parameters differ from ADAMW by ``changes``."""
    attrs = with_hyperparameters(ADAMW, changes)
    body = f"%0, %1, %2 = nn.adamw %w, %w, %w, %w, %lr, %lr {{{attrs}}} : {W}"
    return case(name, f"%w: {W}, %lr: tensor<f32>", body, f"nn.adamw: {message}")


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
    # nn.cast
    case(
        "cast_shape_changed",
        "%a: tensor<?x64xf32>",
        "%0 = nn.cast %a : tensor<?x64xf32> -> tensor<4x64xbf16>",
        "nn.cast: result shape [4, 64] differs from the operand shape [?, 64]",
    ),
    case(
        "cast_to_integer",
        "%a: tensor<4xf32>",
        "%0 = nn.cast %a : tensor<4xf32> -> tensor<4xi32>",
        "nn.cast: the result must have a float element type (f32, bf16, f16), got i32",
    ),
    case(
        "cast_from_integer",
        "%a: tensor<4xi64>",
        "%0 = nn.cast %a : tensor<4xi64> -> tensor<4xf32>",
        "nn.cast: operand must have a float element type (f32, bf16, f16), got i64",
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
    # gradients (docs/train.md); integer operands of the elementwise ones are tested below
    case(
        "relu_grad_operand_types",
        "%a: tensor<4xf32>, %b: tensor<5xf32>",
        '%0 = "nn.relu_grad"(%a, %b) : (tensor<4xf32>, tensor<5xf32>) -> tensor<5xf32>',
        "nn.relu_grad: operand types differ: x is tensor<4xf32>, dy is tensor<5xf32>",
    ),
    case(
        "tanh_grad_dynamic_vs_static",
        "%a: tensor<?x4xf32>, %b: tensor<3x4xf32>",
        '%0 = "nn.tanh_grad"(%a, %b) : (tensor<?x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>',
        "nn.tanh_grad: operand types differ: y is tensor<?x4xf32>, dy is tensor<3x4xf32>",
    ),
    case(
        "sigmoid_grad_result_type",
        "%a: tensor<4xf32>",
        '%0 = "nn.sigmoid_grad"(%a, %a) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xbf16>',
        "nn.sigmoid_grad: result type tensor<4xbf16> differs from the dy type tensor<4xf32>",
    ),
    case(
        "softmax_grad_axis",
        "%a: tensor<?x10xf32>",
        "%0 = nn.softmax_grad %a, %a axis 2 : tensor<?x10xf32>",
        "nn.softmax_grad: axis 2 is out of range for rank 2",
    ),
    case(
        "softmax_grad_operand_types",
        "%a: tensor<?x10xf32>, %b: tensor<?x10xbf16>",
        '%0 = "nn.softmax_grad"(%a, %b) <{axis = 1 : i64}> : '
        "(tensor<?x10xf32>, tensor<?x10xbf16>) -> tensor<?x10xbf16>",
        "nn.softmax_grad: operand types differ: y is tensor<?x10xf32>, dy is tensor<?x10xbf16>",
    ),
    case(
        "layernorm_grad_gamma_shape",
        "%x: tensor<?x128xf32>, %g: tensor<64xf32>",
        "%0, %1, %2 = nn.layernorm_grad %x, %g, %x {eps = 1.0e-05 : f64} : (tensor<?x128xf32>, "
        "tensor<64xf32>, tensor<?x128xf32>) -> (tensor<?x128xf32>, tensor<64xf32>, tensor<64xf32>)",
        "nn.layernorm_grad: gamma must be a [128] tensor of f32 (the last axis of the input), "
        "got tensor<64xf32>",
    ),
    case(
        "layernorm_grad_dy_type",
        "%x: tensor<?x128xf32>, %g: tensor<128xf32>, %d: tensor<?x64xf32>",
        "%0, %1, %2 = nn.layernorm_grad %x, %g, %d {eps = 1.0e-05 : f64} : (tensor<?x128xf32>, "
        "tensor<128xf32>, tensor<?x64xf32>) -> (tensor<?x128xf32>, tensor<128xf32>, "
        "tensor<128xf32>)",
        "nn.layernorm_grad: operand types differ: x is tensor<?x128xf32>, dy is tensor<?x64xf32>",
    ),
    case(
        "layernorm_grad_eps",
        "%x: tensor<?x128xf32>, %g: tensor<128xf32>",
        "%0, %1, %2 = nn.layernorm_grad %x, %g, %x {eps = -1.0 : f64} : (tensor<?x128xf32>, "
        "tensor<128xf32>, tensor<?x128xf32>) -> (tensor<?x128xf32>, tensor<128xf32>, "
        "tensor<128xf32>)",
        "nn.layernorm_grad: eps must be positive, got -1.0",
    ),
    case(
        "layernorm_grad_dbeta_type",
        "%x: tensor<?x128xf32>, %g: tensor<128xf32>",
        "%0, %1, %2 = nn.layernorm_grad %x, %g, %x {eps = 1.0e-05 : f64} : (tensor<?x128xf32>, "
        "tensor<128xf32>, tensor<?x128xf32>) -> (tensor<?x128xf32>, tensor<128xf32>, "
        "tensor<128xbf16>)",
        "nn.layernorm_grad: dbeta has type tensor<128xbf16>, expected tensor<128xf32>",
    ),
    case(
        "embedding_grad_float_ids",
        "%i: tensor<?xf32>, %d: tensor<?x128xf32>",
        "%0 = nn.embedding_grad %i, %d : (tensor<?xf32>, tensor<?x128xf32>) -> tensor<65x128xf32>",
        "nn.embedding_grad: ids must have an integer element type (i32, i64), got f32",
    ),
    case(
        "embedding_grad_dynamic_table",
        "%i: tensor<?xi32>, %d: tensor<?x128xf32>",
        "%0 = nn.embedding_grad %i, %d : (tensor<?xi32>, tensor<?x128xf32>) -> tensor<?x128xf32>",
        "nn.embedding_grad: the result must be a static [V, D] table, got tensor<?x128xf32>",
    ),
    case(
        "embedding_grad_dy_shape",
        "%i: tensor<?x?xi32>, %d: tensor<?x128xf32>",
        "%0 = nn.embedding_grad %i, %d : (tensor<?x?xi32>, tensor<?x128xf32>) "
        "-> tensor<65x128xf32>",
        "nn.embedding_grad: dy shape [?, 128] must be the ids shape plus [D] = [128]: [?, ?, 128]",
    ),
    case(
        "embedding_grad_element_type",
        "%i: tensor<?xi32>, %d: tensor<?x128xbf16>",
        "%0 = nn.embedding_grad %i, %d : (tensor<?xi32>, tensor<?x128xbf16>) -> tensor<65x128xf32>",
        "nn.embedding_grad: result element type f32 differs from dy's bf16",
    ),
    case(
        "cross_entropy_grad_labels_shape",
        "%l: tensor<?x?x65xf32>, %y: tensor<?xi32>, %d: tensor<f32>",
        "%0 = nn.cross_entropy_grad %l, %y, %d : (tensor<?x?x65xf32>, tensor<?xi32>, "
        "tensor<f32>) -> tensor<?x?x65xf32>",
        "nn.cross_entropy_grad: labels shape [?] must be the logits shape [?, ?, 65] without "
        "the class axis: [?, ?]",
    ),
    case(
        "cross_entropy_grad_dloss",
        "%l: tensor<?x65xf32>, %y: tensor<?xi32>, %d: tensor<bf16>",
        "%0 = nn.cross_entropy_grad %l, %y, %d : (tensor<?x65xf32>, tensor<?xi32>, "
        "tensor<bf16>) -> tensor<?x65xf32>",
        "nn.cross_entropy_grad: dloss must be tensor<f32> like the loss, got tensor<bf16>",
    ),
    case(
        "cross_entropy_grad_result",
        "%l: tensor<?x65xf32>, %y: tensor<?xi32>, %d: tensor<f32>",
        "%0 = nn.cross_entropy_grad %l, %y, %d : (tensor<?x65xf32>, tensor<?xi32>, "
        "tensor<f32>) -> tensor<?x65xbf16>",
        "nn.cross_entropy_grad: result type tensor<?x65xbf16> differs from the logits type "
        "tensor<?x65xf32>",
    ),
    case(
        "causal_mask_grad_not_square",
        "%a: tensor<?x4x8xf32>",
        "%0 = nn.causal_mask_grad %a : tensor<?x4x8xf32>",
        "nn.causal_mask_grad: the last two axes must be square, got 4 x 8",
    ),
    case(
        "causal_mask_grad_integer",
        "%a: tensor<4x4xi32>",
        "%0 = nn.causal_mask_grad %a : tensor<4x4xi32>",
        "nn.causal_mask_grad: operand must have a float element type (f32, bf16, f16), got i32",
    ),
    case(
        "max_grad_dy_not_keepdims",
        "%x: tensor<?x10xf32>, %d: tensor<?xf32>",
        "%0 = nn.max_grad %x, %d axes [1] : (tensor<?x10xf32>, tensor<?xf32>) -> tensor<?x10xf32>",
        "nn.max_grad: dy shape [?] must be the keepdims shape of x over axes [1]: [?, 1]",
    ),
    case(
        "max_grad_axis",
        "%x: tensor<?x10xf32>, %d: tensor<?x1xf32>",
        "%0 = nn.max_grad %x, %d axes [2] : (tensor<?x10xf32>, tensor<?x1xf32>) "
        "-> tensor<?x10xf32>",
        "nn.max_grad: axis 2 is out of range for rank 2",
    ),
    case(
        "max_grad_dy_element_type",
        "%x: tensor<?x10xf32>, %d: tensor<?x1xbf16>",
        "%0 = nn.max_grad %x, %d axes [1] : (tensor<?x10xf32>, tensor<?x1xbf16>) "
        "-> tensor<?x10xf32>",
        "nn.max_grad: dy element type bf16 differs from the x element type f32",
    ),
    case(
        "max_grad_result",
        "%x: tensor<?x10xf32>, %d: tensor<?x1xf32>",
        "%0 = nn.max_grad %x, %d axes [1] : (tensor<?x10xf32>, tensor<?x1xf32>) -> tensor<?x1xf32>",
        "nn.max_grad: result type tensor<?x1xf32> differs from the x type tensor<?x10xf32>",
    ),
    case(
        "mean_grad_dy_not_keepdims",
        "%d: tensor<2x10xf32>",
        "%0 = nn.mean_grad %d axes [0] to #nn.dims<B, 10> : tensor<2x10xf32> -> tensor<?x10xf32>",
        "nn.mean_grad: dy shape [2, 10] must be the keepdims shape of the result over axes [0]: "
        "[1, 10]",
    ),
    case(
        "mean_grad_dims_vs_type",
        "%d: tensor<1x10xf32>",
        "%0 = nn.mean_grad %d axes [0] to #nn.dims<B, 10> : tensor<1x10xf32> -> tensor<4x10xf32>",
        "nn.mean_grad: #nn.dims<B, 10> gives B for axis 0 but the result type has 4",
    ),
    case(
        "mean_grad_unsorted_axes",
        "%d: tensor<1x1xf32>",
        "%0 = nn.mean_grad %d axes [1, 0] to #nn.dims<B, 10> : tensor<1x1xf32> -> tensor<?x10xf32>",
        "nn.mean_grad: axes [1, 0] are not sorted",
    ),
    case(
        "slice_grad_dy_shape",
        "%d: tensor<?x64xf32>",
        "%0 = nn.slice_grad %d axis 0 [0] to #nn.dims<256, 128> : tensor<?x64xf32> "
        "-> tensor<256x128xf32>",
        "nn.slice_grad: dy shape [?, 64] must be the result shape [256, 128] except along axis 0",
    ),
    case(
        "slice_grad_start_out_of_range",
        "%d: tensor<?x128xf32>",
        "%0 = nn.slice_grad %d axis 0 [300] to #nn.dims<256, 128> : tensor<?x128xf32> "
        "-> tensor<256x128xf32>",
        "nn.slice_grad: start 300 is out of range for axis 0 of size 256",
    ),
    case(
        "slice_grad_dy_too_long",
        "%d: tensor<16x128xf32>",
        "%0 = nn.slice_grad %d axis 0 [250] to #nn.dims<256, 128> : tensor<16x128xf32> "
        "-> tensor<256x128xf32>",
        "nn.slice_grad: dy covers [250:266] along axis 0, beyond its size 256",
    ),
    case(
        "slice_grad_axis",
        "%d: tensor<?x128xf32>",
        "%0 = nn.slice_grad %d axis 2 [0] to #nn.dims<256, 128> : tensor<?x128xf32> "
        "-> tensor<256x128xf32>",
        "nn.slice_grad: axis 2 is out of range for rank 2",
    ),
    case(
        "slice_grad_integer",
        "%d: tensor<?x128xi32>",
        "%0 = nn.slice_grad %d axis 0 [0] to #nn.dims<256, 128> : tensor<?x128xi32> "
        "-> tensor<256x128xi32>",
        "nn.slice_grad: dy must have a float element type (f32, bf16, f16), got i32",
    ),
    case(
        "index_grad_out_of_range",
        "%d: tensor<128xf32>",
        "%0 = nn.index_grad %d axis 0 [4] to #nn.dims<4, 128> : tensor<128xf32> "
        "-> tensor<4x128xf32>",
        "nn.index_grad: index 4 is out of range for axis 0 of size 4",
    ),
    case(
        "index_grad_dy_shape",
        "%d: tensor<64xf32>",
        "%0 = nn.index_grad %d axis 0 [1] to #nn.dims<4, 128> : tensor<64xf32> "
        "-> tensor<4x128xf32>",
        "nn.index_grad: dy shape [64] must be the result shape [4, 128] without axis 0: [128]",
    ),
    case(
        "index_grad_dims_rank",
        "%d: tensor<128xf32>",
        "%0 = nn.index_grad %d axis 0 [1] to #nn.dims<4> : tensor<128xf32> -> tensor<4x128xf32>",
        "nn.index_grad: #nn.dims<4> names 1 sizes but the result has rank 2",
    ),
    # state (docs/train.md): @w is a parameter, @w.m its state
    case(
        "state_dynamic_shape",
        "",
        "",
        "nn.state: @s: a state buffer needs a static shape, got tensor<?x4xf32>",
        "  nn.state @s : tensor<?x4xf32>\n",
    ),
    case(
        "state_integer",
        "",
        "",
        "nn.state: @s: the state buffer type must have a float element type",
        "  nn.state @s : tensor<4xi32>\n",
    ),
    case(
        "state_unknown_param",
        "",
        "",
        "nn.state: @s: unknown parameter @nope",
        "  nn.state @s : tensor<4xf32> {param = @nope}\n",
    ),
    case(
        "state_param_type",
        "",
        "",
        "nn.state: @s: shape of tensor<4xf32> differs from the shape of @w: tensor<64x256xf32>",
        PARAMS + "  nn.state @s : tensor<4xf32> {param = @w}\n",
    ),
    case(
        "state_param_is_a_state",
        "",
        "",
        "nn.state: @s: @w.m is a nn.state, not an nn.param",
        STATE + "  nn.state @s : tensor<64x256xf32> {param = @w.m}\n",
    ),
    case(
        "state_inside_a_function",
        "",
        "nn.state @s : tensor<4xf32>",
        "'nn.state' expects parent op 'builtin.module'",  # xDSL's HasParent message
    ),
    case(
        "get_state_unknown",
        "",
        "%0 = nn.get_state @nope : tensor<64x256xf32>",
        "nn.get_state: unknown state buffer @nope",
        STATE,
    ),
    case(
        "get_state_type",
        "",
        "%0 = nn.get_state @w.m : tensor<4xf32>",
        "nn.get_state: type tensor<4xf32> differs from the type of @w.m: tensor<64x256xf32>",
        STATE,
    ),
    case(
        "get_state_of_a_param",
        "",
        "%0 = nn.get_state @w : tensor<64x256xf32>",
        "nn.get_state: @w is a nn.param, not an nn.state",
        STATE,
    ),
    case(
        "set_state_type",
        "%a: tensor<4xf32>",
        "nn.set_state @w.m, %a : tensor<4xf32>",
        "nn.set_state: type tensor<4xf32> differs from the type of @w.m: tensor<64x256xf32>",
        STATE,
    ),
    case(
        "set_state_of_a_param",
        "%a: tensor<64x256xf32>",
        "nn.set_state @w, %a : tensor<64x256xf32>",
        "nn.set_state: @w is a nn.param, not an nn.state",
        STATE,
    ),
    case(
        "set_param_unknown",
        "%a: tensor<64x256xf32>",
        "nn.set_param @nope, %a : tensor<64x256xf32>",
        "nn.set_param: unknown parameter @nope",
    ),
    case(
        "set_param_type",
        "%a: tensor<4xf32>",
        "nn.set_param @w, %a : tensor<4xf32>",
        "nn.set_param: type tensor<4xf32> differs from the type of @w: tensor<64x256xf32>",
    ),
    case(
        "set_param_of_a_state",
        "%a: tensor<64x256xf32>",
        "nn.set_param @w.m, %a : tensor<64x256xf32>",
        "nn.set_param: @w.m is a nn.state, not an nn.param",
        STATE,
    ),
    # optimizers (docs/train.md)
    sgd_case("sgd_negative_momentum", "momentum = -5.0e-01 : f64", "momentum must be in [0, inf)"),
    sgd_case(
        "sgd_negative_weight_decay",
        "weight_decay = -1.0 : f64",
        "weight_decay must be in [0, inf), got -1.0",
    ),
    sgd_case(
        "sgd_nesterov_without_momentum",
        "momentum = 0.0 : f64, nesterov = true",
        "nesterov needs momentum > 0",
    ),
    case(
        "sgd_lr_not_scalar",
        f"%w: {W}, %lr: tensor<1xf32>",
        f'%0, %1 = "nn.sgd"(%w, %w, %w, %lr) <{{{SGD}}}> : ({W}, {W}, {W}, tensor<1xf32>) '
        f"-> ({W}, {W})",
        "nn.sgd: lr must be tensor<f32>, got tensor<1xf32>",
    ),
    case(
        "sgd_buf_type",
        f"%w: {W}, %b: tensor<64x256xbf16>, %lr: tensor<f32>",
        f'%0, %1 = "nn.sgd"(%w, %w, %b, %lr) <{{{SGD}}}> : ({W}, {W}, tensor<64x256xbf16>, '
        f"tensor<f32>) -> ({W}, {W})",
        f"nn.sgd: operand types differ: w is {W}, buf is tensor<64x256xbf16>",
    ),
    case(
        "sgd_integer",
        "%w: tensor<4xi32>, %lr: tensor<f32>",
        f"%0, %1 = nn.sgd %w, %w, %w, %lr {{{SGD}}} : tensor<4xi32>",
        "nn.sgd: the parameter must have a float element type (f32, bf16, f16), got i32",
    ),
    adamw_case("adamw_beta1_one", "beta1 = 1.0 : f64", "beta1 must be in [0, 1), got 1.0"),
    adamw_case("adamw_beta2_negative", "beta2 = -0.1 : f64", "beta2 must be in [0, 1), got -0.1"),
    adamw_case("adamw_eps_zero", "eps = 0.0 : f64", "eps must be in (0, inf), got 0.0"),
    case(
        "adamw_t_type",
        f"%w: {W}, %lr: tensor<f32>, %t: tensor<i32>",
        f'%0, %1, %2 = "nn.adamw"(%w, %w, %w, %w, %lr, %t) <{{{ADAMW}}}> : '
        f"({W}, {W}, {W}, {W}, tensor<f32>, tensor<i32>) -> ({W}, {W}, {W})",
        "nn.adamw: t must be tensor<f32>, got tensor<i32>",
    ),
    case(
        "adamw_result_type",
        f"%w: {W}, %lr: tensor<f32>",
        f'%0, %1, %2 = "nn.adamw"(%w, %w, %w, %w, %lr, %lr) <{{{ADAMW}}}> : '
        f"({W}, {W}, {W}, {W}, tensor<f32>, tensor<f32>) -> ({W}, tensor<64x256xbf16>, {W})",
        f"nn.adamw: result type tensor<64x256xbf16> differs from the parameter type {W}",
    ),
    # nn.state init (docs/collage.md)
    case(
        "state_init_unknown",
        "",
        "",
        'nn.state: @s: init must be "param" (or absent), got "zeros"',
        PARAMS + '  nn.state @s : tensor<64x256xf32> {param = @w, init = "zeros"}\n',
    ),
    case(
        "state_init_param_without_param",
        "",
        "",
        'nn.state: @s: init = "param" needs a param',
        '  nn.state @s : tensor<4xf32> {init = "param"}\n',
    ),
    # low-precision optimizer arithmetic (docs/collage.md)
    case(
        "fast2sum_f16",
        "%a: tensor<4xf16>",
        "%0, %1 = nn.fast2sum %a, %a : tensor<4xf16>",
        "nn.fast2sum: operands must have element type bf16 or f32, got f16",
    ),
    case(
        "fast2sum_operand_types",
        f"%a: {B4}, %b: tensor<4xf32>",
        f'%0, %1 = "nn.fast2sum"(%a, %b) : ({B4}, tensor<4xf32>) -> ({B4}, {B4})',
        f"nn.fast2sum: operand types differ: a is {B4}, b is tensor<4xf32>",
    ),
    case(
        "grow_result_type",
        f"%a: {B4}",
        f'%0, %1 = "nn.grow"(%a, %a, %a) : ({B4}, {B4}, {B4}) -> ({B4}, tensor<4xf32>)',
        f"nn.grow: result type tensor<4xf32> differs from the operand type {B4}",
    ),
    case(
        "sgd_delta_precision_mismatch",
        f"%w: {B4}, %lr: tensor<f32>",
        f'%0, %1 = nn.sgd_delta %w, %w, %w, %lr {{{SGD}, precision = "f32"}} : {B4}',
        f'nn.sgd_delta: precision "f32" needs f32 tensors, got {B4}',
    ),
    case(
        "sgd_delta_nesterov_without_momentum",
        f"%w: {B4}, %lr: tensor<f32>",
        f"%0, %1 = nn.sgd_delta %w, %w, %w, %lr {{{with_hyperparameters(SGD, NESTEROV)}, "
        f'precision = "bf16"}} : {B4}',
        "nn.sgd_delta: nesterov needs momentum > 0",
    ),
    case(
        "adamw_delta_unknown_precision",
        f"%w: {B4}, %lr: tensor<f32>",
        f'%0, %1, %2 = nn.adamw_delta %w, %w, %w, %w, %lr, %lr {{{ADAMW}, precision = "f16"}}'
        f" : {B4}",
        'nn.adamw_delta: precision must be "f32" or "bf16", got "f16"',
    ),
    case(
        "adamw_delta_v_lo_without_mcf_v",
        f"%w: {B4}, %lr: tensor<f32>",
        f"%0, %1, %2, %3 = nn.adamw_delta %w, %w, %w, %w, %w, %lr, %lr "
        f'{{{ADAMW}, precision = "bf16"}} : {B4}',
        "nn.adamw_delta: mcf_v needs the operand v_lo and the result v_lo2, and only it",
    ),
    case(
        "adamw_delta_lr_type",
        f"%w: {B4}, %lr: tensor<bf16>",
        f'%0, %1, %2 = "nn.adamw_delta"(%w, %w, %w, %w, %lr, %lr) <{{{ADAMW}, '
        f'precision = "bf16"}}> : ({B4}, {B4}, {B4}, {B4}, tensor<bf16>, tensor<bf16>) '
        f"-> ({B4}, {B4}, {B4})",
        "nn.adamw_delta: lr must be tensor<f32>, got tensor<bf16>",
    ),
    case(
        "update_stats_shape",
        "%x: tensor<4xf32>, %d: tensor<5xbf16>",
        "%0 = nn.update_stats %x, %x, %d : (tensor<4xf32>, tensor<4xf32>, tensor<5xbf16>) "
        "-> tensor<4xf32>",
        "nn.update_stats: delta tensor<5xbf16> differs in shape from old tensor<4xf32>",
    ),
    case(
        "update_stats_old_new_types",
        f"%x: tensor<4xf32>, %d: {B4}",
        f"%0 = nn.update_stats %x, %d, %d : (tensor<4xf32>, {B4}, {B4}) -> tensor<4xf32>",
        f"nn.update_stats: operand types differ: old is tensor<4xf32>, new is {B4}",
    ),
    case(
        "update_stats_result",
        "%x: tensor<4xf32>",
        "%0 = nn.update_stats %x, %x, %x : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) "
        "-> tensor<3xf32>",
        "nn.update_stats: result type tensor<3xf32> does not match the expected shape [4]",
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


ELEMENTWISE = [op for op in NN.operations if issubclass(op, (UnaryOp, ElementwiseGradOp))]


@pytest.mark.parametrize("op", ELEMENTWISE, ids=lambda op: op.name)
def test_every_elementwise_op_rejects_integer_operands(
    op: type[UnaryOp | ElementwiseGradOp],
) -> None:
    operands = "%a" if issubclass(op, UnaryOp) else "%a, %a"
    body = f"%0 = {op.name} {operands} : tensor<4xi32>"
    module = parse_module(module_text("%a: tensor<4xi32>", body))
    with pytest.raises(VerifyException, match=f"{op.name}: operand must have a float"):
        module.verify()


def test_every_op_has_an_invalid_case() -> None:
    tested = {message.split(":")[0] for _, _, message in CASES}
    tested |= {op.name for op in ELEMENTWISE}
    assert tested >= {op.name for op in NN.operations}


def test_ops_built_from_python_are_verified_only_when_asked() -> None:
    lhs = GetParamOp("w", TensorType(f32, [64, 256]))
    matmul = MatmulOp(lhs, lhs, TensorType(f32, [64, 256]))
    with pytest.raises(
        VerifyException, match="contracting dims differ: lhs has K=256, rhs has K=64"
    ):
        matmul.verify()


def test_get_param_outside_a_module_is_rejected() -> None:
    with pytest.raises(VerifyException, match="@w is used outside a module"):
        GetParamOp("w", TensorType(f32, [4])).verify()
