"""Scales computed on the device (lowering/codegen/scales.py, lowering/templates/scales.py)
are the reference's, bit for bit.

In process: every rule of ``SCALE_RULES`` has a device twin, and the expressions the twin
writes, evaluated in Python with `PY_HELPERS` (the helpers' semantics on floats), give
``fp32(rule(...))`` for random power-of-two scales with static sizes and with symbolic ones,
and NaN when an input scale is NaN, infinite or not positive. Under the interpreter
(device_scales_check.py, a subprocess: ``TRITON_INTERPRET=1``): the same expressions as
Triton code in a generated kernel, and the helpers on arbitrary values (ties of ``p``,
exact powers for ``rescale_scale``, NaN and inf), give the same bits as the Python side.
Together: a scale a kernel computes is the one the reference's rule gives.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalc.dialects.scaled.rules import SCALE_RULES
from scalc.lowering.codegen import scales
from tests.lowering.interpret import run_interpreted
from tests.lowering.scale_cases import CASES, RuleCase, size_values, symbolic

CHECK = Path(__file__).with_name("device_scales_check.py")


def evaluate(expr: str, names: dict[str, float | int]) -> float:
    return float(eval(expr, {"__builtins__": {"float": float}}, {**scales.PY_HELPERS, **names}))


def expected(case: RuleCase, values: list[float | None]) -> list[float]:
    """``abi.result_scales``' answer, rounded to fp32 as a ScaledArray's scale is."""
    if not all(v is None or 0.0 < v < math.inf for v in values):
        ones = [None if v is None else 1.0 for v in values]
        return [math.nan] * len(case.rule(case.op, ones, case.shapes))
    with np.errstate(over="ignore"):
        return [float(np.float32(s)) for s in case.rule(case.op, values, case.shapes)]


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def test_every_scale_rule_has_a_device_twin() -> None:
    assert set(SCALE_RULES.values()) == set(scales.DEVICE_RULES)
    assert {c.rule for c in CASES} == set(scales.DEVICE_RULES)


def exprs_of(case: RuleCase, symbolic_sizes: bool) -> list[str]:
    names = [f"s{i}" if scaled else None for i, scaled in enumerate(case.scaled)]
    shapes = symbolic(case) if symbolic_sizes else [list(s) for s in case.shapes]
    return [
        scales.guarded(e, names) for e in scales.DEVICE_RULES[case.rule](case.op, names, shapes)
    ]


POW2 = st.integers(-140, 140).map(lambda k: math.ldexp(1.0, k))
BAD = st.sampled_from([math.nan, math.inf, 0.0, -1.0, -math.inf])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("symbolic_sizes", [False, True], ids=["static", "symbolic"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_device_expressions_give_the_reference_scale(
    case: RuleCase, symbolic_sizes: bool, data: st.DataObject
) -> None:
    drawn = [data.draw(st.one_of(POW2, BAD) if data.draw(st.booleans()) and i == 0 else POW2)
             if scaled else None for i, scaled in enumerate(case.scaled)]  # fmt: skip
    names = {f"s{i}": v for i, v in enumerate(drawn) if v is not None}
    names |= size_values(case) if symbolic_sizes else {}
    got = [evaluate(e, names) for e in exprs_of(case, symbolic_sizes)]
    want = expected(case, drawn)
    assert all(same(g, w) for g, w in zip(got, want, strict=True)), (got, want, drawn)


def test_static_factors_are_folded_into_literals() -> None:
    (matmul,) = exprs_of(next(c for c in CASES if c.name == "matmul"), symbolic_sizes=False)
    assert "32.0" in matmul and "pow2_sqrt" not in matmul  # p(sqrt 784) = 32
    (symbolic_matmul,) = exprs_of(next(c for c in CASES if c.name == "matmul"), True)
    assert "pow2_sqrt(f64(count1(n0_1)))" in symbolic_matmul


@pytest.fixture(scope="module")
def interpreted() -> dict[str, dict]:
    lines = run_interpreted(CHECK, timeout=600)
    return {r["what"]: r for r in lines}


def test_the_helpers_match_the_host_functions_under_the_interpreter(interpreted: dict) -> None:
    r = interpreted["helpers"]
    print(json.dumps(r))
    assert r["n"] == 1024 and r["exprs"] == 8
    assert r["mismatches"] == [], r["mismatches"][:5]


def test_the_rule_expressions_match_python_under_the_interpreter(interpreted: dict) -> None:
    r = interpreted["rules"]
    print(json.dumps({k: v for k, v in r.items() if k != "mismatches"}))
    assert r["exprs"] == sum(len(exprs_of(c, s)) for c in CASES for s in (False, True))
    assert r["mismatches"] == [], r["mismatches"][:5]


HOPPER_KERNEL = """\
import triton
import triton.language as tl

from scalc.lowering.templates.scales import add_scale, div, fp32, pick, rescale_scale, valid


@triton.jit
def scales_kernel(a_ptr, b_ptr, out_ptr):
    a = tl.load(a_ptr).to(tl.float64)
    b = tl.load(b_ptr).to(tl.float64)
    s = fp32(pick(valid(a) & valid(b), add_scale(a, b), float('nan')))
    tl.store(out_ptr, s.to(tl.float32))
    tl.store(out_ptr + 1, fp32(div(a, b)).to(tl.float32))
    tl.store(out_ptr + 2, fp32(rescale_scale(a, 448.0, 0)).to(tl.float32))
"""


def test_the_helpers_compile_for_hopper_with_ieee_fp64_arithmetic() -> None:
    """On the GPU the fp64 square root and division must be the correctly rounded ones
    (``sqrt.rn.f64``, ``div.rn.f64``), as Python's, for `add_scale` and `div` to agree."""
    pytest.importorskip("triton")
    from scalc.lowering.codegen import load
    from tests.lowering.hopper import compile_for_hopper

    kernel = load("device_scales_hopper", HOPPER_KERNEL).scales_kernel
    signature = {"a_ptr": "*fp32", "b_ptr": "*fp32", "out_ptr": "*fp32"}
    compiled, _, _ = compile_for_hopper(kernel, signature, {}, (), num_warps=1)
    ptx = compiled.asm["ptx"]
    assert "sqrt.rn.f64" in ptx and "div.rn.f64" in ptx, ptx
    assert "approx" not in ptx
