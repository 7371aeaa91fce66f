"""The FP8 cast template (lowering/templates/cast.py: ``scaled.amax`` kernel, the scale on
the host, ``scaled.rescale {target = F8_MAX}`` + ``scaled.cast`` kernel) run by Triton's
CPU interpreter is bit-exact against the reference ops (``REFERENCE[scaled.CastOp]`` after
``REFERENCE[scaled.RescaleOp]``): data bits, scale and amax.

The interpreter runs in one subprocess (cast_interpret_check.py) with
runtime/backends/triton/interpreter_patch.py applied, so ``.to(fp8)`` rounds to nearest even and
saturates as sm_90's ``cvt.rn.satfinite`` does (test_interpreter_patch.py shows the patch is
active and needed). Data: Gaussian, wide dynamic range, all zeros (finite scale from the
1e-30 floor), below the floor, huge (1e36), ties of the format with the amax exactly on
``target * 2^k`` or one fp32 step above (the ceil boundary), an inf and a NaN element;
both formats, contiguous and strided (a transposed view) inputs, fp32 and bf16 inputs with
non-unit input scales, margin 0 and 1, ragged shapes up to 256.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lowering.interpret import run_interpreted

SCRIPT = Path(__file__).with_name("cast_interpret_check.py")

SHAPES = [(1, 1), (37, 53), (64, 64), (100, 256), (256, 200), (129, 7)]
KINDS = ["gaussian", "heavy", "zeros", "tiny", "huge", "ties", "boundary", "nonfinite", "nan"]
FMTS = ["f8E4M3FN", "f8E5M2"]


def cases() -> list[tuple]:
    out = []
    i = 0
    for fmt in FMTS:
        for transpose in (False, True):
            for kind in KINDS:
                M, N = SHAPES[i % len(SHAPES)]
                in_type = "bf16" if i % 3 == 1 else "f32"
                in_scale = [1.0, 0.125, 2.0**20][i % 3]
                margin = 1 if i % 5 == 4 else 0
                out.append((M, N, fmt, transpose, kind, in_type, in_scale, margin))
                i += 1
    # Every shape with Gaussian data in both layouts.
    for j, (M, N) in enumerate(SHAPES):
        out.append((M, N, FMTS[j % 2], j % 2 == 0, "gaussian", "f32", 1.0, 0))
    return out


CASES = cases()


def case_id(c: tuple) -> str:
    M, N, fmt, transpose, kind, in_type, in_scale, margin = c
    return f"{M}x{N}-{fmt}-{'T' if transpose else 'N'}-{kind}-{in_type}-s{in_scale:g}-m{margin}"


@pytest.fixture(scope="module")
def results() -> dict[tuple, dict]:
    keys = ("M", "N", "fmt", "transpose", "kind", "in_type", "in_scale", "margin")
    specs = [dict(zip(keys, c), seed=i) for i, c in enumerate(CASES)]
    lines = run_interpreted(SCRIPT, json.dumps(specs))
    assert len(lines) == len(CASES), lines
    return dict(zip(CASES, lines, strict=True))


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_fp8_cast_is_bit_exact_against_reference(results: dict, case: tuple) -> None:
    r = results[case]
    print(json.dumps(r))
    M, N, _, _, kind, *_ = case
    assert r["shape"] == [M, N]
    assert r["scale_equal"], (r["scale"], r["ref_scale"])
    assert r["amax_equal"]
    assert r["mismatches"] == 0
    if kind == "zeros":
        assert 0.0 < r["scale"] < float("inf")
    if kind == "nan":
        assert r["nan"] == M * N  # NaN amax -> NaN scale -> NaN data, as the reference
