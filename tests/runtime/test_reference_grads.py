"""Every differentiable op's gradient matches central finite differences in float64.

For an op ``f`` and a random cotangent ``dy``, the gradient of ``L(x) = sum(f(x) * dy)``
is what the backward graph computes: the ``*_grad`` kernel for ops that have one, or the
composition of forward ops that docs/train.md gives (mul, div, matmul, broadcast, ...).
Inputs are drawn away from kinks (relu at 0, ties of max) so the derivative exists.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from xdsl.dialects.builtin import DYNAMIC_INDEX, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.utils.test_value import create_ssa_value

from scalc.dialects import nn
from scalc.runtime.backends.reference import RefEnv, evaluate
from scalc.runtime.backends.reference.dtypes import element_type, tensor_type

# Central differences with step H have truncation error ~H^2 |f'''| ~ 1e-10 and rounding
# error ~ 1e-16 / H ~ 1e-10 for these O(1) functions, far below the tolerance.
H = 1e-5
REL_TOL = 1e-6

SIZES = {"B": 2, "T": 3}


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def ty(shape: tuple[int, ...], dtype: type = np.float64) -> TensorType:
    """``ty((-1, 4))`` is ``tensor<?x4xf64>``."""
    dims = [s if s >= 0 else DYNAMIC_INDEX for s in shape]
    return TensorType(element_type(np.dtype(dtype)), dims)


def arg(x: np.ndarray) -> SSAValue:
    return create_ssa_value(tensor_type(x))


def run(op: Operation, *operands: np.ndarray, sizes: dict[str, int] = SIZES) -> np.ndarray:
    result = evaluate(op, RefEnv(sizes=sizes), *operands)
    assert isinstance(result, np.ndarray)
    return result


def finite_difference(loss: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """d loss / d x by central differences, one element at a time."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += H
        down[i] -= H
        grad[i] = (loss(up) - loss(down)) / (2 * H)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = max(float(np.linalg.norm(analytic)), float(np.linalg.norm(numeric)), 1e-300)
    return float(np.linalg.norm(analytic - numeric)) / scale


def check_gradient(
    forward: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dy: np.ndarray, analytic: np.ndarray
) -> None:
    """``analytic`` is d sum(forward(x) * dy) / dx; masked (-inf) outputs do not count."""
    assert analytic.dtype == np.float64 and analytic.shape == x.shape

    def loss(v: np.ndarray) -> float:
        out = forward(v)
        return float(np.sum(np.where(np.isfinite(out), out * dy, 0.0)))

    error = relative_error(analytic, finite_difference(loss, x))
    assert error <= REL_TOL, f"relative error {error:.2e}"


# --- ops with a gradient kernel ---------------------------------------------------------------

POINTWISE: list[tuple[type[nn.UnaryOp], type[nn.ElementwiseGradOp], bool]] = [
    # forward op, gradient op, whether the gradient op takes the forward result y
    (nn.ReluOp, nn.ReluGradOp, False),
    (nn.GeluOp, nn.GeluGradOp, False),
    (nn.TanhOp, nn.TanhGradOp, True),
    (nn.SigmoidOp, nn.SigmoidGradOp, True),
    (nn.SqrtOp, nn.SqrtGradOp, True),
]


@pytest.mark.parametrize(
    "forward_op,grad_op,of_result", POINTWISE, ids=lambda v: getattr(v, "name", "")
)
def test_pointwise_grad_matches_finite_differences(
    forward_op: type[nn.UnaryOp], grad_op: type[nn.ElementwiseGradOp], of_result: bool
) -> None:
    x = rng(0).uniform(-3, 3, (3, 4))
    x = np.where(np.abs(x) < 0.1, 0.5, x)  # relu's kink at 0
    if forward_op is nn.SqrtOp:
        x = np.abs(x) + 0.1
    dy = rng(1).standard_normal(x.shape)
    op = forward_op(arg(x))
    value = run(op, x) if of_result else x
    analytic = run(grad_op(arg(x), arg(dy)), value, dy)
    check_gradient(lambda v: run(op, v), x, dy, analytic)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_softmax_grad_matches_finite_differences(axis: int) -> None:
    x, dy = rng(2).standard_normal((2, 3, 4)) * 2, rng(3).standard_normal((2, 3, 4))
    op = nn.SoftmaxOp(arg(x), axis)
    analytic = run(nn.SoftmaxGradOp(arg(x), arg(dy), axis), run(op, x), dy)
    check_gradient(lambda v: run(op, v), x, dy, analytic)


@pytest.mark.parametrize("operand", ["x", "gamma", "beta"])
def test_layernorm_grad_matches_finite_differences(operand: str) -> None:
    r = rng(4)
    x, gamma, beta = (
        r.standard_normal((2, 3, 5)) * 2 + 1,
        r.standard_normal(5),
        r.standard_normal(5),
    )
    dy = r.standard_normal(x.shape)
    eps = 1e-5
    op = nn.LayerNormOp(arg(x), arg(gamma), arg(beta), eps)
    grads = evaluate(nn.LayerNormGradOp(arg(x), arg(gamma), arg(dy), eps), RefEnv(), x, gamma, dy)
    assert isinstance(grads, tuple)
    analytic = dict(zip(["x", "gamma", "beta"], grads, strict=True))[operand]
    operands = {"x": x, "gamma": gamma, "beta": beta}

    def forward(v: np.ndarray) -> np.ndarray:
        return run(op, *{**operands, operand: v}.values())

    check_gradient(forward, operands[operand], dy, analytic)


def test_embedding_grad_matches_finite_differences_with_repeated_ids() -> None:
    table = rng(5).standard_normal((5, 3))
    ids = np.array([[0, 2, 2], [4, 0, 2]], np.int32)  # 2 three times, 0 twice, 1 and 3 never
    dy = rng(6).standard_normal((2, 3, 3))
    op = nn.EmbeddingOp(arg(table), arg(ids), ty((2, 3, 3)))
    analytic = run(nn.EmbeddingGradOp(arg(ids), arg(dy), ty((5, 3))), ids, dy)
    np.testing.assert_array_equal(analytic[[1, 3]], 0.0)
    check_gradient(lambda v: run(op, v, ids), table, dy, analytic)


def test_cross_entropy_grad_matches_finite_differences() -> None:
    logits = rng(7).standard_normal((2, 3, 6)) * 3
    labels = rng(8).integers(0, 6, (2, 3)).astype(np.int64)
    dloss = np.array(0.7)
    op = nn.CrossEntropyOp(arg(logits), arg(labels))
    analytic = run(
        nn.CrossEntropyGradOp(arg(logits), arg(labels), arg(dloss)), logits, labels, dloss
    )
    check_gradient(lambda v: run(op, v, labels), logits, dloss, analytic)


def test_causal_mask_grad_matches_finite_differences() -> None:
    x, dy = rng(9).standard_normal((2, 4, 4)), rng(10).standard_normal((2, 4, 4))
    op = nn.CausalMaskOp(arg(x))
    analytic = run(nn.CausalMaskGradOp(arg(dy)), dy)
    check_gradient(lambda v: run(op, v), x, dy, analytic)


@pytest.mark.parametrize("axes", [[1], [0, 2], [0, 1, 2]])
def test_max_grad_matches_finite_differences(axes: list[int]) -> None:
    x = rng(11).permutation(24).reshape(2, 3, 4) * 0.1  # distinct: no ties within 2H
    keep = tuple(1 if a in axes else s for a, s in enumerate(x.shape))
    dy = rng(12).standard_normal(keep)
    op = nn.MaxOp(arg(x), axes, ty(keep), keepdims=True)
    analytic = run(nn.MaxGradOp(arg(x), arg(dy), axes), x, dy)
    check_gradient(lambda v: run(op, v), x, dy, analytic)


@pytest.mark.parametrize("axes,dims", [([0], ["B", 3, 4]), ([1, 2], [2, "T", 4])])
def test_mean_grad_with_symbolic_dims_matches_finite_differences(
    axes: list[int], dims: list[str | int]
) -> None:
    x = rng(13).standard_normal((2, 3, 4))
    keep = tuple(1 if a in axes else s for a, s in enumerate(x.shape))
    dy = rng(14).standard_normal(keep)
    op = nn.MeanOp(arg(x), axes, ty(keep), keepdims=True)
    analytic = run(nn.MeanGradOp(arg(dy), axes, dims, ty((-1, 3, 4))), dy)
    check_gradient(lambda v: run(op, v), x, dy, analytic)


def test_slice_grad_matches_finite_differences() -> None:
    x, dy = rng(15).standard_normal((6, 4)), rng(16).standard_normal((2, 4))
    op = nn.SliceOp(arg(x), 0, 1, "T", ty((-1, 4)))  # rows 1:3 with T = 3
    analytic = run(nn.SliceGradOp(arg(dy), 0, 1, [6, 4], ty((6, 4))), dy)
    check_gradient(lambda v: run(op, v), x, dy, analytic)


def test_index_grad_matches_finite_differences() -> None:
    x, dy = rng(17).standard_normal((2, 3, 4)), rng(18).standard_normal((2, 4))
    op = nn.IndexOp(arg(x), 1, 2, ty((2, 4)))
    analytic = run(nn.IndexGradOp(arg(dy), 1, 2, ["B", 3, 4], ty((-1, 3, 4))), dy)
    check_gradient(lambda v: run(op, v), x, dy, analytic)


# --- hand-computed cases the finite differences avoid ----------------------------------------


def test_max_grad_splits_dy_equally_among_tied_maxima() -> None:
    x = np.array([[1.0, 3.0, 3.0, 3.0], [2.0, 0.0, 2.0, -1.0]])
    dy = np.array([[6.0], [1.0]])
    out = run(nn.MaxGradOp(arg(x), arg(dy), [1]), x, dy)
    np.testing.assert_array_equal(out, [[0.0, 2.0, 2.0, 2.0], [0.5, 0.0, 0.5, 0.0]])


def test_relu_grad_is_zero_at_the_kink() -> None:
    x, dy = np.array([-1.0, 0.0, 1.0]), np.array([5.0, 5.0, 5.0])
    np.testing.assert_array_equal(run(nn.ReluGradOp(arg(x), arg(dy)), x, dy), [0.0, 0.0, 5.0])


def test_cross_entropy_grad_divides_by_the_number_of_positions() -> None:
    logits, labels, dloss = np.zeros((4, 2)), np.array([0, 1, 1, 0]), np.array(2.0)
    out = run(nn.CrossEntropyGradOp(arg(logits), arg(labels), arg(dloss)), logits, labels, dloss)
    np.testing.assert_allclose(out[0], [2.0 * (0.5 - 1) / 4, 2.0 * 0.5 / 4])


def test_mean_grad_count_is_evaluated_at_run_time() -> None:
    dy = np.ones((1, 3))
    op = nn.MeanGradOp(arg(dy), [0], ["B", 3], ty((-1, 3)))
    out = evaluate(op, RefEnv(sizes={"B": 4}), dy)
    np.testing.assert_array_equal(out, np.full((4, 3), 0.25))


GRAD_OPS_IN_F32: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = [
    ("relu", lambda x: run(nn.ReluGradOp(arg(x), arg(x)), x, x)),
    ("gelu", lambda x: run(nn.GeluGradOp(arg(x), arg(x)), x, x)),
    ("tanh", lambda x: run(nn.TanhGradOp(arg(x), arg(x)), x, x)),
    ("sigmoid", lambda x: run(nn.SigmoidGradOp(arg(x), arg(x)), x, x)),
    ("sqrt", lambda x: run(nn.SqrtGradOp(arg(x), arg(x)), np.abs(x) + 1, x)),
    ("softmax", lambda x: run(nn.SoftmaxGradOp(arg(x), arg(x), 1), x, x)),
    ("causal_mask", lambda x: run(nn.CausalMaskGradOp(arg(x)), x)),
    ("max", lambda x: run(nn.MaxGradOp(arg(x), arg(x[:, :1]), [1]), x, x[:, :1])),
    ("mean", lambda x: run(nn.MeanGradOp(arg(x[:1]), [0], [4, 4], ty((4, 4), np.float32)), x[:1])),
    ("slice", lambda x: run(nn.SliceGradOp(arg(x), 0, 1, [6, 4], ty((6, 4), np.float32)), x)),
    ("index", lambda x: run(nn.IndexGradOp(arg(x), 0, 1, [2, 4, 4], ty((2, 4, 4), np.float32)), x)),
    (
        "cross_entropy",
        lambda x: run(
            nn.CrossEntropyGradOp(
                arg(x), arg(np.zeros(4, np.int32)), arg(np.array(1.0, np.float32))
            ),
            x,
            np.zeros(4, np.int32),
            np.array(1.0, np.float32),
        ),
    ),
    (
        "embedding",
        lambda x: run(
            nn.EmbeddingGradOp(arg(np.arange(4)), arg(x), ty((5, 4), np.float32)), np.arange(4), x
        ),
    ),
]


@pytest.mark.parametrize("name,compute", GRAD_OPS_IN_F32, ids=[n for n, _ in GRAD_OPS_IN_F32])
def test_grad_kernels_keep_float32(name: str, compute: Callable[[np.ndarray], np.ndarray]) -> None:
    x = rng(19).standard_normal((4, 4)).astype(np.float32)
    assert compute(x).dtype == np.float32


def test_layernorm_grad_keeps_float32() -> None:
    x, gamma = np.ones((2, 4), np.float32), np.ones(4, np.float32)
    grads = evaluate(nn.LayerNormGradOp(arg(x), arg(gamma), arg(x), 1e-5), RefEnv(), x, gamma, x)
    assert isinstance(grads, tuple) and all(g.dtype == np.float32 for g in grads)


# --- gradients written with forward ops (docs/train.md, last paragraph) ----------------------
# Each helper runs one forward kernel, as the backward graph of scalc/passes/autodiff_rules.py
# would; the result types are only for the op constructors.


def neg(v: np.ndarray) -> np.ndarray:
    return run(nn.NegOp(arg(v)), v)


def binary(op_class: type[nn.BinaryOp], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return run(op_class(arg(a), arg(b)), a, b)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return run(nn.MatmulOp(arg(a), arg(b), ty(a.shape[:-1] + b.shape[-1:])), a, b)


def transpose(v: np.ndarray, perm: list[int]) -> np.ndarray:
    return run(nn.TransposeOp(arg(v), perm, ty(tuple(v.shape[p] for p in perm))), v)


def swap_last_two(v: np.ndarray) -> np.ndarray:
    return transpose(v, [*range(v.ndim - 2), v.ndim - 1, v.ndim - 2])


def reshape(v: np.ndarray, dims: list[str | int], sizes: dict[str, int] = SIZES) -> np.ndarray:
    return run(nn.ReshapeOp(arg(v), dims, ty(tuple(-1 for _ in dims))), v, sizes=sizes)


def broadcast(v: np.ndarray, dims: list[str | int]) -> np.ndarray:
    return run(nn.BroadcastOp(arg(v), dims, ty(tuple(-1 for _ in dims))), v)


def reduce_sum(v: np.ndarray, axes: list[int], keepdims: bool) -> np.ndarray:
    if not axes:
        return v
    shape = np.sum(v, axis=tuple(axes), keepdims=keepdims).shape
    return run(nn.SumOp(arg(v), axes, ty(shape), keepdims=keepdims), v)


def unbroadcast(dy: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The broadcast rule: sum the added leading axes, then the stretched size-1 axes."""
    lead = dy.ndim - len(shape)
    summed = reduce_sum(dy, list(range(lead)), keepdims=False)
    stretched = [i for i, size in enumerate(shape) if size == 1 and summed.shape[i] != 1]
    return reshape(reduce_sum(summed, stretched, keepdims=True), list(shape))


@pytest.mark.parametrize(
    "op_class,rule",
    [
        (nn.AddOp, lambda a, b, y, dy: (dy, dy)),
        (nn.SubOp, lambda a, b, y, dy: (dy, neg(dy))),
        (nn.MulOp, lambda a, b, y, dy: (binary(nn.MulOp, dy, b), binary(nn.MulOp, dy, a))),
        (
            nn.DivOp,
            lambda a, b, y, dy: (
                binary(nn.DivOp, dy, b),
                neg(binary(nn.DivOp, binary(nn.MulOp, dy, y), b)),
            ),
        ),
    ],
    ids=lambda v: getattr(v, "name", ""),
)
@pytest.mark.parametrize("operand", [0, 1])
def test_binary_op_gradient_rule_matches_finite_differences(
    op_class: type[nn.BinaryOp], rule: Callable[..., tuple[np.ndarray, np.ndarray]], operand: int
) -> None:
    a = rng(20).standard_normal((3, 4))
    b = rng(21).uniform(0.5, 2.0, (3, 4)) * rng(22).choice([-1, 1], (3, 4))  # away from 0
    dy = rng(23).standard_normal((3, 4))
    op = op_class(arg(a), arg(b))
    analytic = rule(a, b, run(op, a, b), dy)[operand]
    operands = [a, b]

    def forward(v: np.ndarray) -> np.ndarray:
        return run(op, *[v if i == operand else o for i, o in enumerate(operands)])

    check_gradient(forward, operands[operand], dy, analytic)


@pytest.mark.parametrize(
    "op_class,rule",
    [
        (nn.NegOp, lambda x, y, dy: neg(dy)),
        (nn.ExpOp, lambda x, y, dy: binary(nn.MulOp, dy, y)),
        (nn.LogOp, lambda x, y, dy: binary(nn.DivOp, dy, x)),
    ],
    ids=lambda v: getattr(v, "name", ""),
)
def test_unary_op_gradient_rule_matches_finite_differences(
    op_class: type[nn.UnaryOp], rule: Callable[..., np.ndarray]
) -> None:
    x, dy = rng(24).uniform(0.2, 3.0, (3, 4)), rng(25).standard_normal((3, 4))
    op = op_class(arg(x))
    check_gradient(lambda v: run(op, v), x, dy, rule(x, run(op, x), dy))


MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((2, 3, 4), (4, 5)),  # a dense layer on [B, T, K]: the weight's gradient sums over B*T
    ((2, 3, 4), (2, 4, 5)),
    ((2, 2, 3, 4), (2, 2, 4, 3)),  # attention scores: [B, H, T, D] @ [B, H, D, T]
    ((1, 3, 4), (4, 1)),
]


def matmul_rule(a: np.ndarray, b: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dA = dY @ Bᵀ; dB = Aᵀ @ dY, with A and dY flattened to rows when B is a 2-D weight."""
    da = matmul(dy, swap_last_two(b))
    if b.ndim == 2 and a.ndim > 2:
        # The batch dims are symbolic in real IR (B, T): name them S0, S1, ... here.
        batch = {f"S{i}": size for i, size in enumerate(a.shape[:-2])}
        rows = "*".join([*batch, "M"])
        sizes = {**batch, "M": a.shape[-2]}
        a = reshape(a, [rows, a.shape[-1]], sizes)
        dy = reshape(dy, [rows, b.shape[-1]], sizes)
    return da, matmul(swap_last_two(a), dy)


@pytest.mark.parametrize("a_shape,b_shape", MATMUL_SHAPES, ids=str)
@pytest.mark.parametrize("operand", [0, 1])
def test_matmul_gradient_rule_matches_finite_differences(
    a_shape: tuple[int, ...], b_shape: tuple[int, ...], operand: int
) -> None:
    a, b = rng(26).standard_normal(a_shape), rng(27).standard_normal(b_shape)
    dy = rng(28).standard_normal(a_shape[:-1] + b_shape[-1:])
    op = nn.MatmulOp(arg(a), arg(b), ty(dy.shape))
    analytic = matmul_rule(a, b, dy)[operand]
    operands = [a, b]

    def forward(v: np.ndarray) -> np.ndarray:
        return run(op, *[v if i == operand else o for i, o in enumerate(operands)])

    check_gradient(forward, operands[operand], dy, analytic)


BROADCASTS = [
    ((3, 1), ["B", 3, 4]),  # a leading axis and a stretched size-1 axis
    ((), ["B", "T"]),  # a scalar
    ((4,), ["B", "T", 4]),  # leading axes only
    ((1, 4), [3, 4]),  # a stretched axis only
    ((2, 1, 1), [2, 3, 4]),  # two stretched axes
    ((2, 1, 4), [2, 1, 4]),  # nothing to do: the rule is a plain reshape
]


@pytest.mark.parametrize("shape,dims", BROADCASTS, ids=str)
def test_broadcast_gradient_rule_sums_and_matches_finite_differences(
    shape: tuple[int, ...], dims: list[str | int]
) -> None:
    x = rng(29).standard_normal(shape)
    op = nn.BroadcastOp(arg(x), dims, ty(tuple(-1 for _ in dims)))
    dy = rng(30).standard_normal(run(op, x).shape)
    check_gradient(lambda v: run(op, v), x, dy, unbroadcast(dy, shape))


SUMS = [([1], False), ([1], True), ([0, 2], False), ([0, 1, 2], False), ([2], True)]


@pytest.mark.parametrize("axes,keepdims", SUMS, ids=str)
def test_sum_gradient_rule_broadcasts_and_matches_finite_differences(
    axes: list[int], keepdims: bool
) -> None:
    x = rng(31).standard_normal((2, 3, 4))
    op = nn.SumOp(
        arg(x), axes, ty(np.sum(x, axis=tuple(axes), keepdims=keepdims).shape), keepdims=keepdims
    )
    dy = rng(32).standard_normal(run(op, x).shape)
    keep: list[str | int] = [1 if a in axes else s for a, s in enumerate(x.shape)]
    analytic = broadcast(reshape(dy, keep), ["B", "T", 4])
    check_gradient(lambda v: run(op, v), x, dy, analytic)


@pytest.mark.parametrize("perm", [[1, 0, 2], [0, 2, 1], [2, 0, 1]], ids=str)
def test_transpose_gradient_is_the_inverse_transpose(perm: list[int]) -> None:
    x = rng(33).standard_normal((2, 3, 4))
    op = nn.TransposeOp(arg(x), perm, ty(tuple(x.shape[p] for p in perm)))
    dy = rng(34).standard_normal(run(op, x).shape)
    inverse = sorted(range(len(perm)), key=lambda i: perm[i])
    check_gradient(lambda v: run(op, v), x, dy, transpose(dy, inverse))


def test_reshape_gradient_is_the_reshape_back() -> None:
    x = rng(35).standard_normal((2, 3, 4))
    op = nn.ReshapeOp(arg(x), ["B*T", 4], ty((-1, 4)))
    dy = rng(36).standard_normal((6, 4))
    check_gradient(lambda v: run(op, v), x, dy, reshape(dy, ["B", "T", 4]))
