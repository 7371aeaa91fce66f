"""The scale rules (dialects/scaled/rules.py, docs/scaled.md "Scale rules") against the
ops' reference semantics.

Property: with each scaled operand's data drawn N(0, 1) and its scale any power of two in
2^-20 .. 2^20, the value ``value_out = nn_op(data * scale ...)`` computed by the reference
kernel (``REFERENCE[nn.XOp]``, the one source of truth for the ops) and the rule's
``scale_out`` give output data ``value_out / scale_out`` of about unit RMS. Each case
states the bound it checks and why (the `Bound`s below); every returned scale must be an
exact power of two.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special
from xdsl.dialects.builtin import TensorType, f64
from xdsl.ir import Operation, SSAValue
from xdsl.utils.test_value import create_ssa_value

from scalc.dialects import nn, scaled
from scalc.dialects.scaled.rules import (
    SCALE_RULES,
    DuplicateScaleRuleError,
    pow2,
    pow2_sqrt,
    scale_rule,
)
from scalc.runtime.backends.reference import RefEnv, evaluate
from scalc.runtime.backends.reference.dtypes import tensor_type

POW2_SCALES = st.integers(-20, 20).map(lambda e: math.ldexp(1.0, e))
PROPERTY = settings(max_examples=20, deadline=None, derandomize=True)


def is_pow2(scale: float) -> bool:
    """An exact power of two: a mantissa of exactly 1/2 (NUMERICS.md §2)."""
    return math.isfinite(scale) and math.frexp(scale)[0] == 0.5


def ty(*shape: int) -> TensorType:
    return TensorType(f64, shape)


# ------------------------------------------------------------------ drawing a trial
@dataclass
class Trial:
    """The operands of one op drawn for a property test: their values (what the ``nn``
    op computes on) and their scales (``None`` for ids)."""

    data: st.DataObject
    rng: np.random.Generator
    values: list[np.ndarray] = field(default_factory=list[np.ndarray])
    scales: list[float | None] = field(default_factory=list[float | None])

    def size(self, lo: int, hi: int) -> int:
        return self.data.draw(st.integers(lo, hi))

    def choice(self, options: Sequence[object]) -> object:
        return self.data.draw(st.sampled_from(options))

    def add(self, value: np.ndarray, scale: float | None) -> SSAValue:
        self.values.append(value)
        self.scales.append(scale)
        return create_ssa_value(tensor_type(value))

    def unit(self, *shape: int, positive: bool = False) -> SSAValue:
        """Data N(0, 1) (``|N(0, 1)|`` if ``positive``) times a drawn power-of-two scale:
        the property's input."""
        scale = self.data.draw(POW2_SCALES)
        data = self.rng.standard_normal(shape)
        return self.add((np.abs(data) if positive else data) * scale, scale)

    def magnitude(self, *shape: int, signed: bool = True) -> SSAValue:
        """Data of magnitude 1/2 .. 2 (log-uniform) times a drawn scale: for divisors (a
        quotient of two N(0, 1) is Cauchy, without an RMS) and scalars (a single N(0, 1)
        draw is no unit-variance sample)."""
        scale = self.data.draw(POW2_SCALES)
        data = np.asarray(np.exp2(self.rng.uniform(-1.0, 1.0, shape)))
        if signed:
            data *= self.rng.choice([-1.0, 1.0], shape)
        return self.add(data * scale, scale)

    def value(self, value: np.ndarray) -> SSAValue:
        """A given value (the input of a non-homogeneous function, or the forward value a
        gradient reads) stored with a drawn scale: its data is ``value / scale``."""
        return self.add(value, self.data.draw(POW2_SCALES))

    def ids(self, high: int, *shape: int) -> SSAValue:
        return self.add(self.rng.integers(0, high, shape).astype(np.int32), None)

    def normal(self, *shape: int) -> np.ndarray:
        return self.rng.standard_normal(shape)


# ------------------------------------------------------------------------ metrics
Metric = Callable[[np.ndarray], float]


def rms(data: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(data))))


def rms_of_kept(data: np.ndarray) -> float:
    """RMS over the finite, nonzero entries: what a mask (``-inf``, 0) or a scatter into
    zeros keeps of its unit input."""
    kept = data[np.isfinite(data) & (data != 0)]
    return rms(kept)


def row_l1(data: np.ndarray) -> float:
    """Mean L1 norm along the last axis: a probability row sums to 1, so its entries are
    ~1/V each; the rule (scale 1, or ``dy``'s) keeps each row's mass unit instead."""
    return float(np.mean(np.sum(np.abs(data), axis=-1)))


def row_l2(data: np.ndarray) -> float:
    """RMS of the L2 norms along the last axis (a row dominated by one entry)."""
    return float(np.sqrt(np.mean(np.sum(np.square(data), axis=-1))))


def magnitude(data: np.ndarray) -> float:
    return float(np.abs(data))


@dataclass(frozen=True)
class Bound:
    """``lo <= metric(data_out) <= hi``, and why."""

    lo: float
    hi: float
    why: str
    metric: Metric = rms


# Sampling noise: every metric below averages >= 64 entries (rows) of N(0, 1)-based data,
# so its relative error stays under ~30% (4 sigma): a bound of [1/2, 2] around an
# expected RMS in [1/sqrt 2, sqrt 2] / [0.7, 1] has that margin.
EXACT = Bound(1 / 2, 2, "exact scale arithmetic: the op on unit data, RMS 1 (relu 1/sqrt 2)")
KEPT = Bound(1 / 2, 2, "dy moved into zeros (or masked): the kept entries are unit", rms_of_kept)
ROUNDED = Bound(1 / 2, 2, "one power-of-two rounding: the data takes a factor in [0.7, 1.4]")
L2 = Bound(1 / 4, 4, "L2 estimate: p(sqrt n) is within sqrt 2 of sqrt n; mean rounds twice")
DERIVATIVE = Bound(1 / 4, 2, "dy times a derivative <= 1: RMS 0.68 (gelu', tanh'), 0.71 (relu')")


@dataclass(frozen=True)
class Case:
    """One property case: ``build`` draws operands into a `Trial` and returns the ``nn``
    op over them; one `Bound` per result."""

    name: str
    build: Callable[[Trial], Operation]
    bounds: tuple[Bound, ...]


def reduction(op_class: type[nn.ReduceOp]) -> Callable[[Trial], Operation]:
    """``x[64, n1, n2]`` reduced over axes 1, 2 or both: ``N`` in 1 .. 1024, 64+ outputs."""

    def build(t: Trial) -> Operation:
        shape = (64, t.size(1, 32), t.size(1, 32))
        axes = t.choice([(1,), (2,), (1, 2)])
        assert isinstance(axes, tuple)
        kept = tuple(1 if i in axes else s for i, s in enumerate(shape))
        return op_class(t.unit(*shape), list(axes), ty(*kept), keepdims=True)

    return build


def matmul(t: Trial) -> Operation:
    """``[b?, m, K] @ [K, n]``, ``K`` in 1 .. 1024 (the rule's one size); ``m, n`` in
    32 .. 64, so that even ``K = 1`` (an outer product) averages enough samples."""
    m, k, n = t.size(32, 64), t.size(1, 1024), t.size(32, 64)
    batch = (2,) if t.choice([False, True]) else ()
    return nn.MatmulOp(t.unit(*batch, m, k), t.unit(k, n), ty(*batch, m, n))


def binary(op_class: type[nn.BinaryOp]) -> Callable[[Trial], Operation]:
    """Two unit operands with independently drawn (so mostly unequal) scales."""

    def build(t: Trial) -> Operation:
        shape = (t.size(16, 32), t.size(16, 32))
        rhs = t.magnitude if op_class is nn.DivOp else t.unit
        return op_class(t.unit(*shape), rhs(*shape))

    return build


def elementwise_grad(op_class: type[nn.ElementwiseGradOp]) -> Callable[[Trial], Operation]:
    """``dy`` unit; the forward operand ``x`` (or result ``y = f(x)``) a realistic value
    (``x`` N(0, 1)) in an arbitrary scale, which these rules ignore."""
    forward = {
        nn.ReluGradOp: lambda x: np.maximum(x, 0.0),
        nn.GeluGradOp: lambda x: x,
        nn.TanhGradOp: np.tanh,
        nn.SigmoidGradOp: special.expit,
    }[op_class]

    def build(t: Trial) -> Operation:
        shape = (t.size(16, 32), t.size(16, 32))
        return op_class(t.value(forward(t.normal(*shape))), t.unit(*shape))

    return build


def unary_on_value(
    op_class: type[nn.UnaryOp], value: Callable[[np.ndarray], np.ndarray] = lambda x: x
) -> Callable[[Trial], Operation]:
    """A non-homogeneous function of a realistic (N(0, 1)-based) value."""
    return lambda t: op_class(t.value(value(t.normal(16, 64))))


def softmax_grad(t: Trial) -> Operation:
    shape = (64, t.size(2, 256))
    y = special.softmax(t.normal(*shape), axis=-1)
    return nn.SoftmaxGradOp(t.value(y), t.unit(*shape), 1)


def layernorm_grad(t: Trial) -> Operation:
    """``x``, ``gamma``, ``dy`` unit data in arbitrary scales, except that ``x``'s spread
    must dominate ``eps`` (layernorm is scale-invariant only then): ``s_x >= 2^-4``."""
    rows, width = t.size(1, 512), t.size(64, 128)
    s_x = t.data.draw(st.integers(-4, 20).map(lambda e: math.ldexp(1.0, e)))
    x = t.add(t.normal(rows, width) * s_x, s_x)
    return nn.LayerNormGradOp(x, t.unit(width), t.unit(rows, width), 1e-5)


def layernorm(t: Trial) -> Operation:
    """Unit-variance ``x``; ``gamma`` near 1 and ``beta`` near 0, as trained."""
    rows, width = 32, t.size(16, 128)
    gamma, beta = 1.0 + 0.1 * t.normal(width), 0.1 * t.normal(width)
    return nn.LayerNormOp(t.value(t.normal(rows, width)), t.value(gamma), t.value(beta), 1e-5)


def cross_entropy(t: Trial) -> Operation:
    rows, classes = 64, t.size(2, 256)
    return nn.CrossEntropyOp(t.value(t.normal(rows, classes)), t.ids(classes, rows))


def cross_entropy_grad(t: Trial) -> Operation:
    rows, classes = t.size(64, 256), t.size(2, 256)
    logits, labels = t.value(t.normal(rows, classes)), t.ids(classes, rows)
    return nn.CrossEntropyGradOp(logits, labels, t.magnitude())


def embedding(t: Trial) -> Operation:
    vocab, width, n = t.size(1, 64), t.size(64, 128), t.size(8, 32)
    return nn.EmbeddingOp(t.unit(vocab, width), t.ids(vocab, n), ty(n, width))


def embedding_grad(t: Trial) -> Operation:
    """``n`` ids into ``2 n`` .. ``4 n`` rows: a used row sums ~1.3 rows of ``dy``."""
    n, width = t.size(32, 64), t.size(16, 32)
    vocab = t.size(2 * n, 4 * n)
    return nn.EmbeddingGradOp(t.ids(vocab, n), t.unit(n, width), ty(vocab, width))


def max_grad(t: Trial) -> Operation:
    n = t.size(1, 256)
    return nn.MaxGradOp(t.value(t.normal(64, n)), t.unit(64, 1), [1])


def mean_grad(t: Trial) -> Operation:
    """Over a static size ``N`` in 1 .. 1024 (symbolic: `test_mean_grad_over_a_symbol...`)."""
    n = t.size(1, 1024)
    return nn.MeanGradOp(t.unit(1, 256), [0], [n, 256], ty(n, 256))


def sqrt_grad(t: Trial) -> Operation:
    """``y = sqrt(x) > 0`` of magnitude 1/2 .. 2 (``1/y`` of unit data has no RMS)."""
    shape = (t.size(16, 32), t.size(16, 32))
    return nn.SqrtGradOp(t.magnitude(*shape, signed=False), t.unit(*shape))


def slice_grad(t: Trial) -> Operation:
    size, start = t.size(8, 64), t.size(0, 7)
    length = t.size(1, size - start)
    return nn.SliceGradOp(t.unit(length, 64), 0, start, [size, 64], ty(size, 64))


def index_grad(t: Trial) -> Operation:
    size = t.size(1, 8)
    return nn.IndexGradOp(t.unit(256), 0, t.size(0, size - 1), [size, 256], ty(size, 256))


SHAPE_OPS: dict[str, Callable[[Trial, int, int], Operation]] = {
    "reshape": lambda t, m, n: nn.ReshapeOp(t.unit(m, n), [n * m], ty(n * m)),
    "broadcast": lambda t, m, n: nn.BroadcastOp(t.unit(4, n), [m, 4, n], ty(m, 4, n)),
    "transpose": lambda t, m, n: nn.TransposeOp(t.unit(m, n), [1, 0], ty(n, m)),
    "slice": lambda t, m, n: nn.SliceOp(t.unit(m, n), 1, 2, n, ty(m, n - 2)),
    "index": lambda t, m, n: nn.IndexOp(t.unit(2, m, n), 0, 1, ty(m, n)),
}
"""Shape ops on ``m x n`` unit data (``m, n`` in 16 .. 32; broadcast: ``4 x n``)."""


def shape_op(name: str) -> Callable[[Trial], Operation]:
    return lambda t: SHAPE_OPS[name](t, t.size(16, 32), t.size(16, 32))


def constant(t: Trial) -> Operation:
    value = float(np.exp2(t.rng.uniform(-1.0, 1.0))) * float(t.rng.choice([-1.0, 1.0]))
    return nn.ConstantOp(value, ty())


CASES: tuple[Case, ...] = (
    # exact scale arithmetic
    Case("neg", lambda t: nn.NegOp(t.unit(32, 32)), (EXACT,)),
    Case("relu", lambda t: nn.ReluOp(t.unit(32, 32)), (EXACT,)),
    *(Case(name, shape_op(name), (EXACT,)) for name in SHAPE_OPS),
    Case("embedding", embedding, (EXACT,)),
    Case(
        "causal_mask",
        lambda t: nn.CausalMaskOp(t.unit(4, 16, 16)),
        (Bound(1 / 2, 2, "-inf above the diagonal, the rest unit", rms_of_kept),),
    ),
    Case(
        "max",
        reduction(nn.MaxOp),
        (Bound(1 / 2, 4, "the largest of n <= 1024 unit normals: E ~ sqrt(2 ln n) < 3.5"),),
    ),
    Case("mul", binary(nn.MulOp), (EXACT,)),
    Case("div", binary(nn.DivOp), (Bound(1 / 2, 2, "unit / (1/2 .. 2): RMS 1.16"),)),
    Case(
        "sqrt",
        lambda t: nn.SqrtOp(t.unit(32, 32, positive=True)),
        (Bound(1 / 2, 2, "sqrt |N(0, 1)|: RMS 0.89, times sqrt(s) / p(sqrt s) in [0.7, 1]"),),
    ),
    Case("sqrt_grad", sqrt_grad, (Bound(1 / 4, 2, "dy / (2 y), y of 1/2 .. 2: RMS 0.58"),)),
    Case("mean_grad", mean_grad, (ROUNDED,)),
    Case(
        "cross_entropy_grad",
        cross_entropy_grad,
        (
            Bound(
                1 / 4,
                4,
                "each row (softmax - onehot) has L2 norm ~1, times |dloss| (1/2 .. 2) and p(N)/N",
                row_l2,
            ),
        ),
    ),
    # gradients that keep dy's scale
    Case("relu_grad", elementwise_grad(nn.ReluGradOp), (DERIVATIVE,)),
    Case("gelu_grad", elementwise_grad(nn.GeluGradOp), (DERIVATIVE,)),
    Case("tanh_grad", elementwise_grad(nn.TanhGradOp), (DERIVATIVE,)),
    Case(
        "sigmoid_grad",
        elementwise_grad(nn.SigmoidGradOp),
        (Bound(1 / 16, 1 / 2, "dy * sigmoid' with sigmoid' <= 1/4: RMS 0.21"),),
    ),
    Case(
        "softmax_grad",
        softmax_grad,
        (
            Bound(
                1 / 8,
                2,
                "y * (dy - <dy, y>), y a probability row: L1 ~ E|dy| = 0.8 "
                "(V = 2: 2 y1 y2 |dy1 - dy2| ~ 0.45)",
                row_l1,
            ),
        ),
    ),
    Case("causal_mask_grad", lambda t: nn.CausalMaskGradOp(t.unit(4, 16, 16)), (KEPT,)),
    Case("max_grad", max_grad, (KEPT,)),
    Case("slice_grad", slice_grad, (KEPT,)),
    Case("index_grad", index_grad, (KEPT,)),
    Case(
        "embedding_grad",
        embedding_grad,
        (Bound(1 / 2, 2, "a used row sums ~1.3 unit rows: RMS ~1.1", rms_of_kept),),
    ),
    # L2 estimates
    Case("matmul", matmul, (L2,)),
    Case("add", binary(nn.AddOp), (L2,)),
    Case("sub", binary(nn.SubOp), (L2,)),
    Case("sum", reduction(nn.SumOp), (L2,)),
    Case("mean", reduction(nn.MeanOp), (L2,)),
    Case(
        "layernorm_grad",
        layernorm_grad,
        (Bound(1 / 4, 4, "dx = gamma / sigma * (dy - ...): sigma ~ s_x, gamma unit"), L2, L2),
    ),
    # non-homogeneous: scale 1 on realistic values
    Case(
        "exp",
        unary_on_value(nn.ExpOp),
        (Bound(1 / 4, 8, "exp of a unit normal: RMS e = 2.7, heavy tailed"),),
    ),
    Case("log", unary_on_value(nn.LogOp, np.abs), (Bound(1 / 4, 4, "log |N(0, 1)|: RMS 1.28"),)),
    Case("tanh", unary_on_value(nn.TanhOp), (Bound(1 / 4, 2, "tanh: RMS 0.63"),)),
    Case("sigmoid", unary_on_value(nn.SigmoidOp), (Bound(1 / 4, 2, "sigmoid: RMS 0.54"),)),
    Case("gelu", unary_on_value(nn.GeluOp), (Bound(1 / 4, 2, "gelu: RMS 0.65"),)),
    Case(
        "softmax",
        lambda t: nn.SoftmaxOp(t.value(t.normal(64, t.size(2, 256))), 1),
        (Bound(1 / 2, 2, "probability rows sum to 1", row_l1),),
    ),
    Case("layernorm", layernorm, (Bound(1 / 2, 2, "unit variance rows times gamma ~ 1"),)),
    Case(
        "cross_entropy",
        cross_entropy,
        (
            Bound(
                1 / 4, 8, "the loss is ~ln V + 1/2 for unit logits, V <= 256: 0.7 .. 6", magnitude
            ),
        ),
    ),
    Case(
        "constant", constant, (Bound(1 / 2, 2, "the constant is its data (1/2 .. 2)", magnitude),)
    ),
)


def run_case(case: Case, data: st.DataObject) -> tuple[Operation, list[float], list[float]]:
    """Draw a trial, evaluate the op and its rule: ``(nn op, scales out, metric values)``."""
    trial = Trial(data, np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))))
    op = case.build(trial)
    results = evaluate(op, RefEnv(), *trial.values)
    values = results if isinstance(results, tuple) else (results,)
    assert values[0] is not None
    mirror = scaled.build_mirror(op, op.operands, [r.type for r in op.results])
    shapes = [v.shape for v in trial.values]
    scales_out = SCALE_RULES[type(mirror)](mirror, trial.scales, shapes)
    assert len(scales_out) == len(values) == len(case.bounds)
    measured = [
        bound.metric(np.asarray(v) / s) for v, s, bound in zip(values, scales_out, case.bounds)
    ]
    return op, list(scales_out), measured


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@PROPERTY
@given(data=st.data())
def test_rule_keeps_unit_data_near_unit_rms(case: Case, data: st.DataObject) -> None:
    op, scales_out, measured = run_case(case, data)
    for scale, value, bound in zip(scales_out, measured, case.bounds):
        assert is_pow2(scale), f"{op.name}: scale {scale!r} is not a power of two"
        assert bound.lo <= value <= bound.hi, (
            f"{op.name}: {bound.metric.__name__} of the data is {value:.3g}, outside "
            f"[{bound.lo:g}, {bound.hi:g}] ({bound.why})"
        )


# ---------------------------------------------------------------- exact scales
def scale_of(
    nn_class: type[Operation],
    scales: Sequence[float | None],
    shapes: Sequence[tuple[int, ...]],
    **properties: object,
) -> tuple[float, ...]:
    """The rule of ``nn_class``'s mirror applied to ``scales`` and ``shapes``, on a
    mirror op with ``properties`` (the rules read properties, never types)."""
    mirror_class = scaled.MIRROR[nn_class]
    operands = [create_ssa_value(ty(*shape)) for shape in shapes]
    results = [ty()] * len(mirror_class.get_irdl_definition().results)
    op = scaled.build_mirror(nn_class, operands, results, properties)
    return SCALE_RULES[mirror_class](op, scales, shapes)


S = 2.0**-3
V = (4,)
EXAMPLES: list[tuple[str, Callable[[], tuple[float, ...]], tuple[float, ...]]] = [
    # p(sqrt 784) = p(28) = 32; p(sqrt 128) = p(11.3) = 16 (log2 = 3.5: ties go up)
    ("matmul K=784", lambda: scale_of(nn.MatmulOp, [S, 2.0], [(8, 784), (784, 4)]), (S * 2 * 32,)),
    ("matmul K=128", lambda: scale_of(nn.MatmulOp, [1.0, 1.0], [(8, 128), (128, 4)]), (16.0,)),
    ("matmul K=1", lambda: scale_of(nn.MatmulOp, [S, S], [(2, 8, 1), (1, 4)]), (S * S,)),
    # p(sqrt(s^2 + s^2)) = p(1.41 s) = 2 s (tie up); p(sqrt(1 + 1/64)) = 1
    ("add equal", lambda: scale_of(nn.AddOp, [S, S], [V, V]), (2 * S,)),
    ("sub 1 vs 1/8", lambda: scale_of(nn.SubOp, [1.0, S], [V, V]), (1.0,)),
    ("add 2^-20 vs 2^20", lambda: scale_of(nn.AddOp, [2.0**-20, 2.0**20], [V, V]), (2.0**20,)),
    ("mul", lambda: scale_of(nn.MulOp, [S, 4.0], [V, V]), (0.5,)),
    ("div", lambda: scale_of(nn.DivOp, [S, 4.0], [V, V]), (2.0**-5,)),
    # over 10 x 100 = 1000: p(sqrt 1000) = p(31.6) = 32; mean: 32 / p(1000) = 32 / 1024
    ("sum", lambda: scale_of(nn.SumOp, [S], [(10, 100, 3)], axes=[0, 1]), (S * 32,)),
    ("mean", lambda: scale_of(nn.MeanOp, [S], [(10, 100, 3)], axes=[0, 1]), (S * 32 / 1024,)),
    ("max", lambda: scale_of(nn.MaxOp, [S], [(10, 100, 3)], axes=[0, 1]), (S,)),
    ("sqrt even", lambda: scale_of(nn.SqrtOp, [2.0**-6], [V]), (2.0**-3,)),
    ("sqrt odd", lambda: scale_of(nn.SqrtOp, [2.0**-7], [V]), (2.0**-3,)),
    ("sqrt_grad", lambda: scale_of(nn.SqrtGradOp, [4.0, S], [V, V]), (S / 4,)),
    ("embedding", lambda: scale_of(nn.EmbeddingOp, [S, None], [(9, 4), (3,)]), (S,)),
    ("embedding_grad", lambda: scale_of(nn.EmbeddingGradOp, [None, S], [(3,), (3, 4)]), (S,)),
    ("softmax_grad", lambda: scale_of(nn.SoftmaxGradOp, [1.0, S], [(2, 5), (2, 5)], axis=1), (S,)),
    ("softmax", lambda: scale_of(nn.SoftmaxOp, [2.0**20], [(2, 5)], axis=1), (1.0,)),
    # N = 6 * 10: p(60) = 64
    (
        "mean_grad",
        lambda: scale_of(nn.MeanGradOp, [S], [(1, 1, 7)], axes=[0, 1], dims=[6, 10, 7]),
        (S / 64,),
    ),
    # N = 4 * 8 positions: p(32) = 32
    (
        "cross_entropy_grad",
        lambda: scale_of(nn.CrossEntropyGradOp, [S, None, 2.0], [(4, 8, 5), (4, 8), ()]),
        (2.0 / 32,),
    ),
    # dx: s_dy s_gamma / s_x; dgamma, dbeta: s_dy p(sqrt(6 * 50)) = s_dy p(17.3) = 16 s_dy
    (
        "layernorm_grad",
        lambda: scale_of(
            nn.LayerNormGradOp, [4.0, 0.5, S], [(6, 50, 8), (8,), (6, 50, 8)], eps=1e-5
        ),
        (S * 0.5 / 4.0, 16 * S, 16 * S),
    ),
    ("constant", lambda: scale_of(nn.ConstantOp, [], [], value=0.5), (1.0,)),
]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e[0])
def test_rule_gives_the_documented_scale(
    example: tuple[str, Callable[[], tuple[float, ...]], tuple[float, ...]],
) -> None:
    _, compute, expected = example
    assert compute() == expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@settings(max_examples=10, deadline=None, derandomize=True)
@given(data=st.data(), scales=st.lists(POW2_SCALES, min_size=3, max_size=3))
def test_rule_returns_one_power_of_two_per_result(
    case: Case, data: st.DataObject, scales: list[float]
) -> None:
    """Any power-of-two input scales (2^-20 .. 2^20) give exact powers of two, one per
    result: rescaling by them never rounds (NUMERICS.md §2)."""
    trial = Trial(data, np.random.default_rng(0))
    op = case.build(trial)
    # The trial's own scales are replaced by the full range (layernorm_grad limits s_x).
    drawn = [None if s is None else scales[i] for i, s in enumerate(trial.scales)]
    m = scaled.build_mirror(op, op.operands, [r.type for r in op.results])
    out = SCALE_RULES[type(m)](m, drawn, [v.shape for v in trial.values])
    assert len(out) == len(op.results)
    assert all(is_pow2(s) for s in out), out


NON_HOMOGENEOUS = (
    nn.ExpOp,
    nn.LogOp,
    nn.TanhOp,
    nn.SigmoidOp,
    nn.GeluOp,
    nn.SoftmaxOp,
    nn.LayerNormOp,
    nn.CrossEntropyOp,
    nn.ConstantOp,
)


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.name in {k.name.removeprefix("nn.") for k in NON_HOMOGENEOUS}],
    ids=lambda c: c.name,
)
@settings(max_examples=10, deadline=None, derandomize=True)
@given(data=st.data())
def test_non_homogeneous_rules_return_scale_one(case: Case, data: st.DataObject) -> None:
    op, scales_out, _ = run_case(case, data)
    assert scales_out == [1.0], op.name


def test_mean_grad_over_a_symbolic_size_counts_its_static_factor_only() -> None:
    """The rule sees operand shapes only, and ``dy`` has size 1 on the reduced axes: a
    symbolic size there (``B``) is unknown to it (documented in the rule)."""
    assert scale_of(nn.MeanGradOp, [S], [(1, 10)], axes=[0], dims=["4*B", 10]) == (S / 4,)


# ------------------------------------------------------------------ helpers
@given(st.floats(min_value=1e-300, max_value=1e300))
def test_pow2_is_the_nearest_power_of_two_in_log_space(x: float) -> None:
    p = pow2(x)
    assert is_pow2(p)
    assert abs(math.log2(p) - math.log2(x)) <= 0.5 + 1e-12


@given(st.floats(min_value=1e-300, max_value=1e300))
def test_pow2_sqrt_is_the_nearest_power_of_two_to_the_root(x: float) -> None:
    p = pow2_sqrt(x)
    assert is_pow2(p)
    assert abs(math.log2(p) - math.log2(x) / 2) <= 0.5 + 1e-12


@pytest.mark.parametrize("k", range(-30, 31))
def test_powers_of_two_are_fixed_and_half_way_roots_round_up(k: int) -> None:
    x = math.ldexp(1.0, k)
    assert pow2(x) == x
    assert pow2_sqrt(x) == math.ldexp(1.0, (k + 1) // 2)
    assert pow2(math.sqrt(x)) == pow2_sqrt(x)  # the computed tie rounds the same way


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_pow2_refuses_non_positive_or_non_finite_scales(bad: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        pow2(bad)
    with pytest.raises(ValueError, match="positive"):
        pow2_sqrt(bad)


# ----------------------------------------------------------------- the table
def test_every_mirrored_op_has_a_scale_rule() -> None:
    missing = sorted(op.name for op in scaled.MIRRORED_OPS if op not in SCALE_RULES)
    assert not missing, f"mirrored ops without a scale rule: {', '.join(missing)}"
    assert scaled.ConstantOp in SCALE_RULES


def test_the_table_holds_only_mirrored_ops() -> None:
    extra = sorted(op.name for op in SCALE_RULES if op not in set(scaled.MIRRORED_OPS))
    assert not extra, f"scale rules for ops that are not mirrors: {', '.join(extra)}"


def test_every_rule_has_a_property_case() -> None:
    covered = {c.name for c in CASES}
    missing = sorted(
        op.name for op in SCALE_RULES if op.name.removeprefix("scaled.") not in covered
    )
    assert not missing, f"rules without a property case: {', '.join(missing)}"


def test_registering_a_second_rule_raises_and_keeps_the_first() -> None:
    first = SCALE_RULES[scaled.MatmulOp]
    with pytest.raises(DuplicateScaleRuleError, match="scaled.matmul already has a scale rule"):

        @scale_rule(scaled.MatmulOp)
        def other(op: Operation, scales: object, shapes: object) -> tuple[float]:
            return (1.0,)

    assert SCALE_RULES[scaled.MatmulOp] is first
