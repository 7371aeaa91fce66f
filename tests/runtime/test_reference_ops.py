"""Forward ops of the reference backend against independent formulas, hand-computed small
cases and PyTorch (docs/ir.md is the contract).

Operands are made read-only before each call, so a kernel that writes into its input fails.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import ml_dtypes
import numpy as np
import pytest
import torch
from xdsl.dialects.builtin import DYNAMIC_INDEX, TensorType, f32
from xdsl.ir import Operation, SSAValue
from xdsl.utils.test_value import create_ssa_value

from scalc.dialects import nn
from scalc.runtime.backends.reference import RefEnv, evaluate
from scalc.runtime.backends.reference.dtypes import element_type, tensor_type

RNG = np.random.default_rng(1234)
F32_TOL = 1e-6  # float32 kernels vs float64 formulas: a few ulps of float32 (eps 1.2e-7)


def ty(shape: tuple[int, ...], dtype: type = np.float32) -> TensorType:
    """``ty((-1, 4))`` is ``tensor<?x4xf32>``."""
    return TensorType(
        element_type(np.dtype(dtype)), [s if s >= 0 else DYNAMIC_INDEX for s in shape]
    )


def arg(x: np.ndarray) -> SSAValue:
    return create_ssa_value(tensor_type(x))


def run(op: Operation, *operands: np.ndarray, sizes: dict[str, int] | None = None) -> np.ndarray:
    frozen = [np.array(a) for a in operands]
    for a in frozen:
        a.flags.writeable = False
    result = evaluate(op, RefEnv(sizes=sizes or {}), *frozen)
    assert isinstance(result, np.ndarray)
    return result


def randn(*shape: int, dtype: type = np.float32) -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


# --- elementwise -------------------------------------------------------------------------

UNARY: list[tuple[type[nn.UnaryOp], Callable[[float], float]]] = [
    (nn.NegOp, lambda v: -v),
    (nn.ReluOp, lambda v: max(v, 0.0)),
    (nn.GeluOp, lambda v: 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0)))),
    (nn.TanhOp, math.tanh),
    (nn.SigmoidOp, lambda v: 1.0 / (1.0 + math.exp(-v))),
    (nn.ExpOp, math.exp),
    (nn.LogOp, math.log),
    (nn.SqrtOp, math.sqrt),
]
POSITIVE_ONLY = (nn.LogOp, nn.SqrtOp)


@pytest.mark.parametrize("op_class,formula", UNARY, ids=lambda v: getattr(v, "name", ""))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_op_matches_scalar_formula_and_keeps_dtype(
    op_class: type[nn.UnaryOp], formula: Callable[[float], float], dtype: type
) -> None:
    x = randn(3, 5, dtype=dtype)
    if op_class in POSITIVE_ONLY:
        x = np.abs(x) + dtype(0.1)
    out = run(op_class(arg(x)), x)
    expected = np.array([formula(float(v)) for v in x.ravel()]).reshape(x.shape)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, expected, rtol=F32_TOL if dtype == np.float32 else 1e-14)


def test_gelu_matches_torch_exact_gelu() -> None:
    x = randn(64)
    expected = torch.nn.functional.gelu(torch.from_numpy(x), approximate="none").numpy()
    np.testing.assert_allclose(run(nn.GeluOp(arg(x)), x), expected, rtol=F32_TOL, atol=1e-7)


def test_sigmoid_does_not_overflow_for_large_inputs() -> None:
    x = np.array([-1000.0, 0.0, 1000.0], np.float32)
    with np.errstate(over="raise"):
        np.testing.assert_array_equal(run(nn.SigmoidOp(arg(x)), x), [0.0, 0.5, 1.0])


BINARY: list[tuple[type[nn.BinaryOp], Callable[[np.ndarray, np.ndarray], np.ndarray]]] = [
    (nn.AddOp, np.add),
    (nn.SubOp, np.subtract),
    (nn.MulOp, np.multiply),
    (nn.DivOp, np.divide),
]


@pytest.mark.parametrize("op_class,formula", BINARY, ids=lambda v: getattr(v, "name", ""))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_op_is_elementwise_and_keeps_dtype(
    op_class: type[nn.BinaryOp], formula: Callable[..., np.ndarray], dtype: type
) -> None:
    a, b = randn(4, 3, dtype=dtype), randn(4, 3, dtype=dtype) + dtype(3.0)
    out = run(op_class(arg(a), arg(b)), a, b)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, formula(a, b))


@pytest.mark.parametrize("op_class", [nn.GeluOp, nn.SigmoidOp, nn.ExpOp, nn.TanhOp])
def test_bf16_unary_computes_in_fp32_and_rounds_back(op_class: type[nn.UnaryOp]) -> None:
    x = randn(16).astype(ml_dtypes.bfloat16)
    out = run(op_class(arg(x)), x)
    expected = run(op_class(arg(x.astype(np.float32))), x.astype(np.float32))
    assert out.dtype == ml_dtypes.bfloat16
    np.testing.assert_array_equal(out, expected.astype(ml_dtypes.bfloat16))


@pytest.mark.parametrize("dtype", [ml_dtypes.bfloat16, np.float16])
def test_cast_rounds_to_nearest_even_and_back_exactly(dtype: type) -> None:
    # 1 + 2^-8 lies halfway between the bf16 neighbours 1 and 1 + 2^-7: even mantissa -> 1;
    # 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: even -> 1 + 2^-6.  For f16
    # (10 mantissa bits) the same values are exact.
    x = np.array([1 + 2**-8, 1 + 3 * 2**-8, -2.5, 0.0], dtype=np.float32)
    narrow_type = ty(x.shape, dtype)
    out = run(nn.CastOp(arg(x), narrow_type), x)
    assert out.dtype == dtype
    expected = [1.0, 1 + 2**-6, -2.5, 0.0] if dtype is ml_dtypes.bfloat16 else x
    np.testing.assert_array_equal(out.astype(np.float32), expected)
    back = run(nn.CastOp(arg(out), ty(x.shape)), out)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, out.astype(np.float32))


def test_cast_saturates_overflow_to_the_format_max() -> None:
    # NUMERICS.md §1: casts clamp to ±max; a plain astype would give ±inf for f16.
    x = np.array([1e6, -1e6, np.inf, np.nan], dtype=np.float32)
    out = run(nn.CastOp(arg(x), ty(x.shape, np.float16)), x).astype(np.float32)
    np.testing.assert_array_equal(out[:3], [65504.0, -65504.0, np.inf])
    assert np.isnan(out[3])


# --- matmul --------------------------------------------------------------------------------


def test_matmul_with_shared_2d_weight_broadcasts_over_batch() -> None:
    x, w = randn(2, 3, 4), randn(4, 5)
    out = run(nn.MatmulOp(arg(x), arg(w), ty((2, 3, 5))), x, w)
    np.testing.assert_allclose(out, np.einsum("btk,kn->btn", x, w), rtol=1e-5, atol=1e-6)
    assert out.dtype == np.float32


def test_matmul_with_batched_rhs_multiplies_each_batch_entry() -> None:
    q, k = randn(2, 4, 3, 8, dtype=np.float64), randn(2, 4, 8, 3, dtype=np.float64)
    out = run(nn.MatmulOp(arg(q), arg(k), ty((2, 4, 3, 3), np.float64)), q, k)
    np.testing.assert_allclose(out, np.einsum("bhik,bhkj->bhij", q, k), rtol=1e-13)


def test_matmul_small_case_by_hand() -> None:
    a = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    b = np.array([[5.0, 6.0], [7.0, 8.0]], np.float32)
    out = run(nn.MatmulOp(arg(a), arg(b), ty((2, 2))), a, b)
    np.testing.assert_array_equal(out, [[19.0, 22.0], [43.0, 50.0]])


def test_matmul_rejects_mismatched_batch_dims() -> None:
    a, b = randn(2, 3, 4), randn(3, 4, 5)
    with pytest.raises(ValueError, match="nn.matmul"):
        run(nn.MatmulOp(arg(a), arg(b), ty((2, 3, 5))), a, b)


def test_bf16_matmul_accumulates_in_fp32() -> None:
    # 256 products of 1 + 1/128: bf16 accumulation would stall at 256 (8 bits of mantissa).
    a = np.full((1, 256), 1.0 + 1 / 128, ml_dtypes.bfloat16)
    b = np.ones((256, 1), ml_dtypes.bfloat16)
    out = run(nn.MatmulOp(arg(a), arg(b), ty((1, 1), ml_dtypes.bfloat16)), a, b)
    assert out.dtype == ml_dtypes.bfloat16
    assert float(out[0, 0]) == 258.0


# --- reductions ------------------------------------------------------------------------------


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize(
    "op_class,formula", [(nn.SumOp, np.sum), (nn.MeanOp, np.mean), (nn.MaxOp, np.max)]
)
def test_reduction_over_several_axes(
    op_class: type[nn.ReduceOp], formula: Callable[..., np.ndarray], keepdims: bool
) -> None:
    x = randn(2, 3, 4)
    expected = formula(x.astype(np.float64), axis=(0, 2), keepdims=keepdims)
    op = op_class(arg(x), [0, 2], ty(expected.shape), keepdims=keepdims)
    out = run(op, x)
    assert out.shape == expected.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


def test_reduction_to_a_scalar_gives_a_0d_array() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    out = run(nn.MeanOp(arg(x), [0, 1], ty(())), x)
    assert isinstance(out, np.ndarray) and out.shape == () and out.dtype == np.float32
    assert out == 2.5


# --- shape ops with symbolic dims ----------------------------------------------------------------

SIZES = {"B": 2, "T": 3}


def test_reshape_evaluates_symbolic_dims() -> None:
    x = randn(2, 3, 4)
    op = nn.ReshapeOp(arg(x), ["B*T", 4], ty((-1, 4)))
    out = run(op, x, sizes=SIZES)
    np.testing.assert_array_equal(out, x.reshape(6, 4))


def test_reshape_rejects_a_wrong_element_count() -> None:
    x = randn(2, 3, 4)
    with pytest.raises(ValueError, match="nn.reshape"):
        run(nn.ReshapeOp(arg(x), ["B*T", 4], ty((-1, 4))), x, sizes={"B": 2, "T": 2})


def test_broadcast_adds_leading_axes_and_stretches_size_one_axes() -> None:
    x = np.array([[1.0], [2.0], [3.0]], np.float32)  # [T=3, 1]
    out = run(nn.BroadcastOp(arg(x), ["B", "T", 4], ty((-1, -1, 4))), x, sizes=SIZES)
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out[1, :, 2], [1.0, 2.0, 3.0])


def test_transpose_puts_input_axis_perm_i_at_i() -> None:
    x = randn(2, 3, 4, 5)
    out = run(nn.TransposeOp(arg(x), [0, 2, 1, 3], ty((2, 4, 3, 5))), x)
    assert out.shape == (2, 4, 3, 5)
    assert out[1, 3, 2, 4] == x[1, 2, 3, 4]


def test_slice_with_symbolic_stop() -> None:
    table = np.arange(8 * 2, dtype=np.float32).reshape(8, 2)
    op = nn.SliceOp(arg(table), 0, 1, "T", ty((-1, 2)))
    np.testing.assert_array_equal(run(op, table, sizes=SIZES), table[1:3])


def test_slice_beyond_the_axis_raises_instead_of_clipping() -> None:
    table = randn(4, 2)
    with pytest.raises(IndexError, match="nn.slice"):
        run(nn.SliceOp(arg(table), 0, 0, "T", ty((-1, 2))), table, sizes={"T": 5})


def test_index_drops_the_axis() -> None:
    x = randn(2, 3, 4)
    out = run(nn.IndexOp(arg(x), 1, 2, ty((2, 4))), x)
    np.testing.assert_array_equal(out, x[:, 2, :])


def test_index_of_a_vector_gives_a_0d_array() -> None:
    x = np.array([5.0, 6.0], np.float32)
    out = run(nn.IndexOp(arg(x), 0, 1, ty(())), x)
    assert isinstance(out, np.ndarray) and out.shape == () and out == 6.0


def test_shape_ops_accept_integer_ids() -> None:
    ids = np.arange(6, dtype=np.int32).reshape(2, 3)
    out = run(nn.ReshapeOp(arg(ids), ["B*T"], ty((-1,), np.int32)), ids, sizes=SIZES)
    assert out.dtype == np.int32 and out.tolist() == [0, 1, 2, 3, 4, 5]


# --- layers -------------------------------------------------------------------------------------


def test_softmax_rows_sum_to_one_and_match_torch() -> None:
    x = randn(2, 3, 7)
    out = run(nn.SoftmaxOp(arg(x), 2), x)
    np.testing.assert_allclose(out.sum(axis=2), 1.0, rtol=1e-6)
    expected = torch.softmax(torch.from_numpy(x), dim=2).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-7)


def test_softmax_along_a_middle_axis() -> None:
    x = randn(2, 5, 3, dtype=np.float64)
    out = run(nn.SoftmaxOp(arg(x), 1), x)
    np.testing.assert_allclose(out, np.exp(x) / np.exp(x).sum(axis=1, keepdims=True), rtol=1e-14)


def test_softmax_of_large_logits_does_not_overflow() -> None:
    x = np.array([[1000.0, 1000.0, -np.inf]], np.float32)
    with np.errstate(over="raise", invalid="raise"):
        np.testing.assert_array_equal(run(nn.SoftmaxOp(arg(x), 1), x), [[0.5, 0.5, 0.0]])


def test_layernorm_output_has_mean_zero_and_biased_variance_one() -> None:
    x = randn(4, 16, dtype=np.float64) * 3.0 + 2.0
    gamma, beta = np.ones(16), np.zeros(16)
    out = run(nn.LayerNormOp(arg(x), arg(gamma), arg(beta), 1e-12), x, gamma, beta)
    np.testing.assert_allclose(out.mean(axis=-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=-1), 1.0, rtol=1e-10)  # np.var is biased (ddof=0)


def test_layernorm_matches_torch() -> None:
    x, gamma, beta = randn(2, 3, 8), randn(8), randn(8)
    out = run(nn.LayerNormOp(arg(x), arg(gamma), arg(beta), 1e-5), x, gamma, beta)
    expected = torch.nn.functional.layer_norm(
        torch.from_numpy(x), (8,), torch.from_numpy(gamma), torch.from_numpy(beta), eps=1e-5
    ).numpy()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_embedding_gathers_rows() -> None:
    table = np.arange(5 * 3, dtype=np.float32).reshape(5, 3)
    ids = np.array([[4, 0], [0, 2]], np.int64)
    out = run(nn.EmbeddingOp(arg(table), arg(ids), ty((2, 2, 3))), table, ids)
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out[0, 0], [12.0, 13.0, 14.0])
    np.testing.assert_array_equal(out[1, 0], table[0])


@pytest.mark.parametrize("bad_id", [-1, 5])
def test_embedding_rejects_ids_out_of_range(bad_id: int) -> None:
    table, ids = randn(5, 3), np.array([1, bad_id], np.int32)
    with pytest.raises(IndexError, match="nn.embedding"):
        run(nn.EmbeddingOp(arg(table), arg(ids), ty((2, 3))), table, ids)


def test_causal_mask_sets_entries_above_the_diagonal_to_minus_inf() -> None:
    x = np.ones((2, 3, 3), np.float32)
    out = run(nn.CausalMaskOp(arg(x)), x)
    expected_row = np.array([[1, -np.inf, -np.inf], [1, 1, -np.inf], [1, 1, 1]], np.float32)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.broadcast_to(expected_row, (2, 3, 3)))


# --- loss ---------------------------------------------------------------------------------------


def test_cross_entropy_of_uniform_logits_is_log_of_class_count() -> None:
    logits, labels = np.zeros((2, 3, 10), np.float32), RNG.integers(0, 10, (2, 3))
    out = run(nn.CrossEntropyOp(arg(logits), arg(labels)), logits, labels)
    assert out.shape == () and out.dtype == np.float32
    np.testing.assert_allclose(out, math.log(10), rtol=1e-6)


def test_cross_entropy_matches_torch_mean_over_positions() -> None:
    logits, labels = randn(2, 3, 7) * 4, RNG.integers(0, 7, (2, 3)).astype(np.int32)
    out = run(nn.CrossEntropyOp(arg(logits), arg(labels)), logits, labels)
    expected = torch.nn.functional.cross_entropy(
        torch.from_numpy(logits).reshape(6, 7), torch.from_numpy(labels).long().reshape(6)
    )
    np.testing.assert_allclose(out, expected.item(), rtol=1e-6)


def test_cross_entropy_of_bf16_logits_is_fp32() -> None:
    logits = randn(4, 5).astype(ml_dtypes.bfloat16)
    labels = np.array([0, 1, 2, 3], np.int32)
    out = run(nn.CrossEntropyOp(arg(logits), arg(labels)), logits, labels)
    assert out.dtype == np.float32


def test_cross_entropy_with_huge_logits_is_finite() -> None:
    logits, labels = np.array([[1e4, 0.0]], np.float32), np.array([1], np.int32)
    with np.errstate(over="raise"):
        np.testing.assert_allclose(
            run(nn.CrossEntropyOp(arg(logits), arg(labels)), logits, labels), 1e4
        )


# --- module ops ---------------------------------------------------------------------------------


def test_constant_has_the_result_element_type() -> None:
    out = run(nn.ConstantOp(0.1, TensorType(f32, [])))
    assert out.shape == () and out.dtype == np.float32 and out == np.float32(0.1)


def test_get_param_reads_the_environment() -> None:
    w = randn(2, 2)
    out = evaluate(nn.GetParamOp("w", ty((2, 2))), RefEnv(params={"w": w}))
    np.testing.assert_array_equal(out, w)


def test_get_param_of_a_missing_parameter_names_it() -> None:
    with pytest.raises(KeyError, match="@w"):
        evaluate(nn.GetParamOp("w", ty((2, 2))), RefEnv())


@pytest.mark.parametrize(
    "init,numbers,check",
    [
        ("zeros", {}, lambda v: np.all(v == 0)),
        ("ones", {}, lambda v: np.all(v == 1)),
        ("constant", {"value": 0.5}, lambda v: np.all(v == 0.5)),
        (
            "normal",
            {"std": 2.0, "mean": 1.0},
            lambda v: abs(v.mean() - 1) < 0.1 and abs(v.std() - 2) < 0.1,
        ),
    ],
)
def test_param_declaration_gives_its_initial_value(
    init: str, numbers: dict[str, float], check: Callable[[np.ndarray], bool]
) -> None:
    value = evaluate(nn.ParamOp("w", ty((100, 100)), init, **numbers), RefEnv())
    assert isinstance(value, np.ndarray) and value.shape == (100, 100)
    assert value.dtype == np.float32 and check(value)
