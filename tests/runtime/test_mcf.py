"""The low-precision optimizer kernels (docs/collage.md): Fast2Sum and Grow are
error-free on their preconditions (property tests over random bf16/f32 values), the
f32 deltas are PyTorch's SGD/AdamW steps, bf16 loses the small updates that Grow keeps,
``nn.update_stats`` counts exactly and ``nn.state {init = "param"}`` copies its parameter.
"""

from __future__ import annotations

import math
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import TensorType, bf16, f32
from xdsl.ir import Attribute, SSAValue
from xdsl.utils.test_value import create_ssa_value

from scalc.dialects import nn
from scalc.runtime.backends.reference import RefEnv, evaluate
from scalc.runtime.backends.reference.dtypes import tensor_type
from scalc.runtime.backends.reference.formats import round_to

BF16 = np.dtype(ml_dtypes.bfloat16)
FORMATS = {
    # dtype: (bits type, significand bits, smallest exponent of the ulp, largest finite)
    BF16: (np.uint16, 8, -133, float(ml_dtypes.finfo(ml_dtypes.bfloat16).max)),
    np.dtype(np.float32): (np.uint32, 24, -149, float(np.finfo(np.float32).max)),
}
SCALAR = create_ssa_value(TensorType(f32, []))
# float32 updates in another operation order than PyTorch's differ by a few ulps.
REL_TOL = 1e-6


def arg(x: np.ndarray) -> SSAValue:
    return create_ssa_value(tensor_type(x))


def finite(dtype: np.dtype) -> st.SearchStrategy[float]:
    """Every finite value of ``dtype`` (normal, subnormal, zero), from its bit patterns."""
    bits, _, _, _ = FORMATS[dtype]
    width = np.dtype(bits).itemsize * 8
    values = st.integers(0, 2**width - 1).map(lambda b: float(np.array(b, bits).view(dtype)))
    return values.filter(math.isfinite)


def ulp(x: float, dtype: np.dtype) -> Fraction:
    """The spacing of ``dtype`` at ``x``: ``2^(e - p)`` for ``|x|`` in ``[2^(e-1), 2^e)``,
    and the subnormal spacing below the normal range."""
    _, precision, smallest, _ = FORMATS[dtype]
    exponent = math.frexp(x)[1] if x != 0 else smallest + precision
    return Fraction(2) ** max(exponent - precision, smallest)


def exact(*values: np.ndarray) -> Fraction:
    """The exact sum of one element of each array."""
    return sum((Fraction(float(v.reshape(-1)[0])) for v in values), Fraction(0))


def run(
    op_class: type[nn.Fast2SumOp | nn.GrowOp], *values: float, dtype: np.dtype
) -> list[np.ndarray]:
    """``op_class`` on one-element arrays of ``values``."""
    arrays = [np.array([v], dtype) for v in values]
    op = op_class(*(arg(a) for a in arrays))  # type: ignore[call-arg]
    result = evaluate(op, RefEnv(), *arrays)
    assert isinstance(result, tuple)
    return list(result)


def fits(value: Fraction, dtype: np.dtype) -> bool:
    return abs(value) <= FORMATS[dtype][3]


@st.composite
def ordered_pair(draw: st.DrawFn, dtype: np.dtype) -> tuple[float, float]:
    """``(a, b)`` with ``|a| >= |b|``."""
    a, b = draw(finite(dtype)), draw(finite(dtype))
    return (a, b) if abs(a) >= abs(b) else (b, a)


DTYPES = pytest.mark.parametrize("dtype", [BF16, np.dtype(np.float32)], ids=["bf16", "f32"])


# --- Fast2Sum and Grow -------------------------------------------------------------------


@DTYPES
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_fast2sum_is_error_free_and_normalised(dtype: np.dtype, data: st.DataObject) -> None:
    """For ``|a| >= |b|`` (or ``a = 0``) and no overflow: ``s + e == a + b`` exactly and
    ``|e| <= ulp(s)/2``."""
    a, b = data.draw(st.one_of(ordered_pair(dtype), finite(dtype).map(lambda b: (0.0, b))))
    assume(fits(Fraction(a) + Fraction(b), dtype))
    s, e = run(nn.Fast2SumOp, a, b, dtype=dtype)
    assert exact(s, e) == Fraction(a) + Fraction(b)
    assert abs(exact(e)) <= ulp(float(s[0]), dtype) / 2


@st.composite
def mcf_and_addend(draw: st.DrawFn, dtype: np.dtype) -> tuple[float, float, float]:
    """``(hi, lo, b)`` on Grow's precondition: ``|hi| >= |b|`` and ``|lo| <= ulp(hi)/2``
    (``lo = k ulp(hi) / 2^p`` with ``|k| <= 2^(p-1)``, representable when not subnormal)."""
    hi, b = draw(ordered_pair(dtype))
    precision = FORMATS[dtype][1]
    k = draw(st.integers(-(2 ** (precision - 1)), 2 ** (precision - 1)))
    lo = float(np.array(float(k * ulp(hi, dtype) / 2**precision), dtype))
    assume(abs(Fraction(lo)) <= ulp(hi, dtype) / 2)
    return hi, lo, b


@DTYPES
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_grow_loses_only_the_rounding_of_the_compensation(
    dtype: np.dtype, data: st.DataObject
) -> None:
    """On Grow's precondition (`mcf_and_addend`, no overflow) the result is a normalised
    MCF (``|lo'| <= ulp(hi')/2``) and ``hi' + lo' = hi + lo + b`` up to the one rounding
    of ``lo + e``; so it is exact whenever that compensation fits the format."""
    hi, lo, b = data.draw(mcf_and_addend(dtype))
    total = Fraction(hi) + Fraction(lo) + Fraction(b)
    assume(fits(total, dtype) and fits(Fraction(hi) + Fraction(b), dtype))
    _, e = run(nn.Fast2SumOp, hi, b, dtype=dtype)
    compensation = Fraction(lo) + exact(e)
    rounded = Fraction(float(np.array(float(compensation), dtype)))
    new_hi, new_lo = run(nn.GrowOp, hi, lo, b, dtype=dtype)
    assert exact(new_hi, new_lo) == total - (compensation - rounded)
    assert abs(exact(new_lo)) <= ulp(float(new_hi[0]), dtype) / 2


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_grow_is_exact_when_the_sum_fits_the_mcf(data: st.DataObject) -> None:
    """The issue's statement: when ``lo + e`` is a bf16 number (the exact sum of the three
    is an MCF Grow can reach), ``hi' + lo' == hi + lo + b`` exactly (compared as
    fractions, which is stronger than in float64: a float64 sum of values 2^-80 and
    2^-133 apart would itself round)."""
    hi, lo, b = data.draw(mcf_and_addend(BF16))
    assume(fits(Fraction(hi) + Fraction(b) + Fraction(lo), BF16))
    _, e = run(nn.Fast2SumOp, hi, b, dtype=BF16)
    compensation = Fraction(lo) + exact(e)
    assume(Fraction(float(np.array(float(compensation), BF16))) == compensation)
    new_hi, new_lo = run(nn.GrowOp, hi, lo, b, dtype=BF16)
    assert exact(new_hi, new_lo) == Fraction(hi) + Fraction(lo) + Fraction(b)


def test_fast2sum_rounds_every_step_to_bf16() -> None:
    """1 + 2^-9 is a tie in bf16: ``s`` rounds to even (1) and ``e`` keeps 2^-9."""
    s, e = run(nn.Fast2SumOp, 1.0, 2.0**-9, dtype=BF16)
    assert (s.dtype, float(s[0]), float(e[0])) == (BF16, 1.0, 2.0**-9)


# --- f32 deltas are PyTorch's steps ---------------------------------------------------------


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


def as_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().copy()


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    lr=st.sampled_from([1e-1, 1e-3, 3e-4]),
    weight_decay=st.sampled_from([0.0, 0.01, 0.1]),
    beta1=st.sampled_from([0.0, 0.9]),
    beta2=st.sampled_from([0.99, 0.999]),
)
def test_f32_adamw_delta_matches_torch_adamw_steps(
    seed: int, lr: float, weight_decay: float, beta1: float, beta2: float
) -> None:
    """Three single steps: from PyTorch's state before each, ``w - Δ``, ``m'``, ``v'``
    are PyTorch's after it, to ``REL_TOL``."""
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal((4, 6)).astype(np.float32)
    param = torch.nn.Parameter(torch.from_numpy(w0.copy()))
    hyper = {"betas": (beta1, beta2), "eps": 1e-8, "weight_decay": weight_decay}
    optimizer = torch.optim.AdamW([param], lr=lr, **hyper)
    m, v = np.zeros_like(w0), np.zeros_like(w0)
    for t in range(1, 4):
        w, g = as_numpy(param), rng.standard_normal(w0.shape).astype(np.float32)
        op = nn.AdamWDeltaOp(
            *(arg(x) for x in (w, g, m, v)), SCALAR, SCALAR,
            beta1=beta1, beta2=beta2, eps=1e-8, weight_decay=weight_decay,
        )  # fmt: skip
        scalars = np.float32(lr), np.float32(t)
        delta, m_new, v_new = evaluate(op, RefEnv(), w, g, m, v, *scalars)  # type: ignore[misc]
        param.grad = torch.from_numpy(g.copy())
        optimizer.step()
        state = optimizer.state[param]
        m, v = as_numpy(state["exp_avg"]), as_numpy(state["exp_avg_sq"])
        assert delta.dtype == np.float32
        assert relative_error(w - delta, as_numpy(param)) <= REL_TOL
        assert relative_error(m_new, m) <= REL_TOL
        assert relative_error(v_new, v) <= REL_TOL


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    lr=st.sampled_from([1e-1, 1e-3]),
    momentum=st.sampled_from([0.0, 0.9]),
    weight_decay=st.sampled_from([0.0, 0.01]),
    nesterov=st.booleans(),
)
def test_f32_sgd_delta_matches_torch_sgd_steps(
    seed: int, lr: float, momentum: float, weight_decay: float, nesterov: bool
) -> None:
    nesterov = nesterov and momentum > 0
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal((4, 6)).astype(np.float32)
    param = torch.nn.Parameter(torch.from_numpy(w0.copy()))
    optimizer = torch.optim.SGD(
        [param], lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov
    )
    buf = np.zeros_like(w0)
    for _ in range(3):
        w, g = as_numpy(param), rng.standard_normal(w0.shape).astype(np.float32)
        op = nn.SgdDeltaOp(
            arg(w), arg(g), arg(buf), SCALAR,
            momentum=momentum, weight_decay=weight_decay, nesterov=nesterov,
        )  # fmt: skip
        delta, buf_new = evaluate(op, RefEnv(), w, g, buf, np.float32(lr))  # type: ignore[misc]
        param.grad = torch.from_numpy(g.copy())
        optimizer.step()
        assert relative_error(w - delta, as_numpy(param)) <= REL_TOL
        if momentum > 0:
            buf = as_numpy(optimizer.state[param]["momentum_buffer"])
            assert relative_error(buf_new, buf) <= REL_TOL


# --- bf16: the lost update, and Grow keeping it ---------------------------------------------


def bf16_adamw_delta(w: np.ndarray, g: np.ndarray, *, lr: float, mcf_v: bool) -> list[np.ndarray]:
    zeros = np.zeros_like(w)
    operands = [w, g, zeros, zeros, *([zeros] if mcf_v else []), np.float32(lr), np.float32(1)]
    op = nn.AdamWDeltaOp(
        arg(w), arg(g), arg(zeros), arg(zeros), SCALAR, SCALAR,
        v_lo=arg(zeros) if mcf_v else None, weight_decay=0.0, precision="bf16",
    )  # fmt: skip
    result = evaluate(op, RefEnv(), *operands)
    assert isinstance(result, tuple)
    return list(result)


def test_bf16_update_is_lost_by_sub_but_kept_by_grow() -> None:
    """At step 1 AdamW's ``Δ`` is ``lr`` (``m'/sqrt(v') = 1``): 1e-3 against ``w = 1``
    is below half a bf16 ulp of 1 (2^-9), so ``bf16(w - Δ) == w``; ``nn.grow(w, 0, -Δ)``
    keeps it in ``lo``: ``hi + lo == w - Δ`` exactly."""
    w = np.ones(4, BF16)
    g = np.array([1.0, -2.0, 0.5, 4.0], BF16)
    delta, _, _ = bf16_adamw_delta(w, g, lr=1e-3, mcf_v=False)
    assert delta.dtype == BF16
    # about ten bf16 roundings, each at most 2^-9 relative
    direction = np.sign(g.astype(np.float64))
    np.testing.assert_allclose(delta.astype(np.float64) * direction, 1e-3, rtol=2**-6)
    w_new = evaluate(nn.SubOp(arg(w), arg(delta)), RefEnv(), w, delta)
    assert isinstance(w_new, np.ndarray)
    np.testing.assert_array_equal(w_new, w)  # the naive bf16 step loses every update
    grow = nn.GrowOp(arg(w), arg(w), arg(w))
    hi, lo = evaluate(grow, RefEnv(), w, np.zeros_like(w), -delta)  # type: ignore[misc]
    total = hi.astype(np.float64) + lo.astype(np.float64)
    assert np.all(total != 1.0)
    np.testing.assert_array_equal(total, 1.0 - delta.astype(np.float64))


def test_bf16_adamw_delta_rounds_every_step() -> None:
    """From zeros at step 1, ``m' = bf16((1 - β1) g)`` and ``v' = bf16((1 - β2) g²)``
    with f32 scalars, in both forms (``v_lo' = 0``: Grow adds to a zero MCF exactly), and
    every result is bf16."""
    w, g = np.ones(4, BF16), np.array([1.0, -2.0, 0.5, 4.0], BF16)
    delta, m, v = bf16_adamw_delta(w, g, lr=1e-3, mcf_v=False)
    delta_mcf, m_mcf, v_hi, v_lo = bf16_adamw_delta(w, g, lr=1e-3, mcf_v=True)
    # g is a power of two: the f32 products below are exact, then rounded once to bf16.
    expected_v = round_to(np.float32(1 - 0.999) * g.astype(np.float32) ** 2, "bf16")
    np.testing.assert_array_equal(v, expected_v)
    np.testing.assert_array_equal(v_hi, v)
    np.testing.assert_array_equal(v_lo, np.zeros(4, BF16))
    np.testing.assert_array_equal(m, round_to(np.float32(1 - 0.9) * g.astype(np.float32), "bf16"))
    np.testing.assert_array_equal(delta_mcf, delta)
    assert all(x.dtype == BF16 for x in (delta, m, v, delta_mcf, m_mcf, v_hi, v_lo))


# --- stats and state ---------------------------------------------------------------------------


def test_update_stats_counts_exactly() -> None:
    """Δ ≠ 0 at 1, 2, 3; the weight did not move at 2 (stalled)."""
    old = np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32)
    new = np.array([1.0, 1.5, 3.0, 4.25, 5.0], np.float32)
    delta = np.array([0.0, 0.5, 0.25, -0.25, 0.0], BF16)
    stats = evaluate(nn.UpdateStatsOp(arg(old), arg(new), arg(delta)), RefEnv(), old, new, delta)
    assert isinstance(stats, np.ndarray) and stats.dtype == np.float32
    # <new - old, -Δ> = (-0.5)(-0.5) + (0.25)(0.25); ‖Δ‖² = 0.25 + 2 * 0.0625
    assert stats.tolist() == [0.3125, 0.375, 1.0, 3.0]


@pytest.mark.parametrize("element", [bf16, f32], ids=["bf16", "f32"])
def test_state_init_param_copies_its_parameter_rounded(element: Attribute) -> None:
    w = np.array([[1.0 + 2**-10, -3.3], [1e-3, 7.0]], np.float32)
    env = RefEnv(params={"w": w})
    state = nn.StateOp("w.model", TensorType(element, [2, 2]), param="w", init="param")
    value = evaluate(state, env)
    assert isinstance(value, np.ndarray)
    np.testing.assert_array_equal(value, round_to(w, "bf16" if element == bf16 else "f32"))
    assert value.dtype == (BF16 if element == bf16 else np.float32)
    value[0, 0] = 0.0
    assert env.params["w"][0, 0] == np.float32(1.0 + 2**-10)  # a copy, not a view
    zeros = evaluate(nn.StateOp("w.m", TensorType(f32, [2, 2]), param="w"), env)
    np.testing.assert_array_equal(zeros, np.zeros((2, 2), np.float32))
