"""The FP8 GEMM template (lowering/templates/gemm.py) run by Triton's CPU interpreter
against the reference ``scaled.matmul`` (docs/scaled.md), on Gaussian data quantised by the
reference's dynamic scaling. ``TRITON_INTERPRET=1`` must be set before ``triton`` is
imported, so the cases run in one subprocess (gemm_interpret_check.py, which also lists the
interpreter gaps the check is built around) and come back as JSON lines.

Tolerances come from fp32 accumulation order alone: FP8 x FP8 products are exact in fp32,
``alpha`` is a power of two, so the only difference from the reference is the order of the
fp32 sums: each element within ``K * 2^-24 * sum_k |a_ik b_kj| * alpha`` (the classical
summation bound), and ~1e-6 of its row's norm. Those bounds cannot see an error below
the accumulation noise (a 1e-6 relative slip in ``alpha`` passes them), so integer-valued
cases, whose fp32 sums are exact in any order, check the kernel bit for bit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lowering.interpret import run_interpreted

SCRIPT = Path(__file__).with_name("gemm_interpret_check.py")

# (M, N, K, B format, config index or None for pick_config): ragged M, N and K edges,
# a tile larger than the problem, several programs per axis (GROUP_M ordering).
CASES = [
    (64, 96, 128, "e4m3", None),
    (64, 96, 128, "e5m2", None),
    (100, 72, 256, "e4m3", None),
    (100, 72, 256, "e5m2", None),
    (100, 72, 256, "e4m3", 0),
    (256, 200, 96, "e4m3", 0),
    (200, 136, 80, "e5m2", 1),
]
# Integer data: the fp32 result is exact in any order, so kernel == reference bit for bit.
EXACT_CASES = [
    (100, 72, 256, "e4m3", None),
    (200, 136, 80, "e5m2", 1),
    (256, 200, 96, "e4m3", 0),
]


@pytest.fixture(scope="module")
def results() -> dict[tuple, dict]:
    specs = [
        {"M": m, "N": n, "K": k, "b_name": b, "config_index": c, "seed": i, "data": data}
        for i, ((m, n, k, b, c), data) in enumerate(
            [(case, "gaussian") for case in CASES] + [(case, "integer") for case in EXACT_CASES]
        )
    ]
    lines = run_interpreted(SCRIPT, json.dumps(specs), timeout=300)
    keys = [(*case, "gaussian") for case in CASES] + [(*case, "integer") for case in EXACT_CASES]
    assert len(lines) == len(keys), lines
    return dict(zip(keys, lines, strict=True))


def case_id(case: tuple) -> str:
    return "x".join(map(str, case[:3])) + f"-{case[3]}-cfg{case[4]}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_fp8_gemm_matches_reference_scaled_matmul(results: dict, case: tuple) -> None:
    r = results[(*case, "gaussian")]
    print(json.dumps(r))
    # Precondition of the e5m2 cases: the interpreter misreads E5M2 subnormals in tl.dot.
    assert r["b_subnormals"] == 0
    assert r["finite"]
    assert r["max_err_over_bound"] <= 1.0
    assert r["max_rel_err_rows"] <= 1e-6
    # The fused amax is max |out| of the very values stored, and the reference's up to order.
    assert r["amax"] == r["max_abs_out"]
    assert abs(r["amax"] - r["ref_amax"]) <= 1e-6 * r["ref_amax"]
    # Host-side bf16 rounding agrees with the reference's bf16 result except where fp32
    # accumulation order changed the value, and then by one bf16 step.
    assert r["bf16_mismatches_unexplained"] == 0


@pytest.mark.parametrize("case", EXACT_CASES, ids=case_id)
def test_fp8_gemm_is_exact_when_every_partial_sum_is(results: dict, case: tuple) -> None:
    r = results[(*case, "integer")]
    print(json.dumps(r))
    assert r["b_subnormals"] == 0
    assert r["exact_fraction"] == 1.0
    assert r["amax"] == r["ref_amax"]
    assert r["bf16_mismatches"] == 0
