"""runtime/backends/triton/interpreter_patch.py makes Triton 3.9's CPU interpreter round fp32 -> fp8
(e4m3, e5m2) and fp32 -> bf16 to nearest even, saturating the fp8 formats, as the GPU's
``cvt.rn.satfinite`` / ``cvt.rn.bf16.f32`` do, and makes ``tl.dot`` of bf16 and FP8 operands
sum exact products in fp32, as the tensor cores do (the interpreter multiplies bf16 bit
patterns as integers and misreads E5M2 subnormals). The kernels run in subprocesses
(``TRITON_INTERPRET=1`` must be set before ``triton`` is imported; interpreter_patch_check.py)
once with the patch and once without: with it, every element equals ``round_to`` bit for bit
and every dot equals the exact product (the operands are chosen so that every fp32 partial
sum is exact, so any summation order gives it); without it, the interpreter differs on each
format and each operand pair. The second half is what makes the first
mean something: if the patch stopped applying (Triton renamed the method, the cast took
another path), the patched run would differ too and the test fails.

fp32 dots are made order-independent rather than compared loosely: the patch sums every
``tl.dot`` tile product in float64 in one fixed order and rounds once
(`interpreter_patch.fixed_order_dot`), so a kernel's result is a function of the values it
loads, not of their layout, the CPU's BLAS kernel or its threads. Checked here on Gaussian
fp32 data over many binades (where summation order shows): the same bits from a row-major
and a column-major operand, and under another OpenBLAS core type with one thread; the
unpatched interpreter (NumPy's BLAS matmul) gives other bits.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.lowering.interpret import run_interpreted

HERE = Path(__file__).parent
SCRIPT = HERE / "interpreter_patch_check.py"
ENV = {**os.environ, "TRITON_INTERPRET": "1"}


def run_check(*args: str) -> dict[str, dict]:
    lines = run_interpreted(SCRIPT, *args, timeout=300)
    return {r["format"]: r for r in lines}


@pytest.fixture(scope="module")
def patched() -> dict[str, dict]:
    return run_check("--patch")


@pytest.fixture(scope="module")
def unpatched() -> dict[str, dict]:
    return run_check()


@pytest.mark.parametrize("fmt", ["e4m3", "e5m2", "bf16"])
def test_patched_interpreter_rounds_like_the_gpu(patched: dict, fmt: str) -> None:
    r = patched[fmt]
    print(json.dumps(r))
    assert r["patched"] and r["n"] > 4000
    assert r["mismatches"] == 0, r["examples"]
    assert r["nan_kept"]
    if fmt != "bf16":
        fmt_max = {"e4m3": 448.0, "e5m2": 57344.0}[fmt]
        assert r["1e30 ->"] == fmt_max and r["-inf ->"] == -fmt_max


@pytest.mark.parametrize("fmt", ["e4m3", "e5m2", "bf16"])
def test_unpatched_interpreter_differs(unpatched: dict, fmt: str) -> None:
    """Triton 3.9's own conversion: the patch is needed for each format."""
    r = unpatched[fmt]
    print(json.dumps(r))
    assert not r["patched"]
    assert r["mismatches"] > 0


DOTS = ["dot bf16 x bf16", "dot e5m2 x e4m3", "dot e4m3 x e5m2"]


@pytest.mark.parametrize("pair", DOTS)
def test_patched_interpreter_dot_sums_exact_products(patched: dict, pair: str) -> None:
    r = patched[pair]
    print(json.dumps(r))
    assert r["patched"] and r["n"] == 16 * 32
    if "e5m2" in pair:  # the operands the unpatched interpreter misreads are there
        assert r["e5m2_subnormals"] > 100
    assert r["mismatches"] == 0, r


@pytest.mark.parametrize("pair", DOTS)
def test_unpatched_interpreter_dot_differs(unpatched: dict, pair: str) -> None:
    """Triton 3.9's own ``create_dot``: garbage for bf16, E5M2 subnormals misread."""
    r = unpatched[pair]
    print(json.dumps(r))
    assert not r["patched"]
    assert r["mismatches"] > 0


# Another BLAS than this machine picks by default: a core type every x86-64 OpenBLAS build
# has, one thread.
OTHER_BLAS = {"OPENBLAS_CORETYPE": "Sandybridge", "OPENBLAS_NUM_THREADS": "1"}


def test_patched_fp32_dot_is_the_fixed_order_sum_in_any_layout(patched: dict) -> None:
    r = patched["dot fp32 order"]
    assert r["patched"] and r["n"] == 16 * 32
    assert r["layouts_identical"], r
    assert r["mismatches"] == 0, r


def test_patched_fp32_dot_gives_the_same_bits_under_another_blas(patched: dict) -> None:
    other = {r["format"]: r for r in run_interpreted(SCRIPT, "--patch", env=OTHER_BLAS)}
    assert other["dot fp32 order"]["digest"] == patched["dot fp32 order"]["digest"]


def test_unpatched_fp32_dot_is_not_the_fixed_order_sum(unpatched: dict) -> None:
    """Triton 3.9 sums fp32 dots with NumPy's BLAS matmul: other bits on this data."""
    r = unpatched["dot fp32 order"]
    assert not r["patched"] and r["mismatches"] > 0, r


def test_fixed_order_dot_is_within_one_rounding_of_the_exact_dot() -> None:
    """``math.fsum`` gives each exact sum rounded once to float64; the fixed-order float64
    sum is within ``K 2^-53 sum |a b|`` of it, and the final fp32 rounding adds half an fp32
    step: the bound, checked element by element on strided and transposed operands."""
    from scalc.runtime.backends.triton.interpreter_patch import fixed_order_dot

    rng = np.random.default_rng(3)
    M, N, K = 5, 7, 96
    a = (rng.standard_normal((K, M)) * np.exp2(rng.integers(-20, 20, (K, M)))).astype(np.float32).T
    b = (rng.standard_normal((K, 2 * N)) * 8).astype(np.float32)[:, ::2]
    acc = rng.standard_normal((M, N)).astype(np.float32)
    got = fixed_order_dot(a, b, acc)
    assert got.dtype == np.float32 and got.shape == (M, N)
    assert np.array_equal(got, fixed_order_dot(np.ascontiguousarray(a), b.copy(), acc))
    for i in range(M):
        for j in range(N):
            terms = [float(a[i, k]) * float(b[k, j]) for k in range(K)] + [float(acc[i, j])]
            exact = math.fsum(terms)
            slack = K * 2.0**-53 * math.fsum(abs(t) for t in terms)
            half_step = float(np.spacing(np.float32(abs(exact)))) / 2
            assert abs(float(got[i, j]) - exact) <= half_step + slack, (i, j)


WIDEN = ["widen e4m3", "widen e5m2", "widen bf16"]


@pytest.mark.parametrize("name", WIDEN)
def test_patched_interpreter_widens_every_value_exactly(patched: dict, name: str) -> None:
    """``x.to(tl.float32)`` of every bf16 / FP8 bit pattern, as the GPU converts them."""
    r = patched[name]
    assert r["patched"] and r["n"] in (256, 65536)
    assert r["mismatches"] == 0, r


@pytest.mark.parametrize("name", WIDEN)
def test_unpatched_interpreter_widens_some_values_wrongly(unpatched: dict, name: str) -> None:
    """Triton 3.9: bf16 subnormals, e4m3 NaN (-> 480), e5m2 inf and NaN come out wrong."""
    r = unpatched[name]
    assert not r["patched"] and r["mismatches"] > 0, r


@pytest.mark.parametrize("method", ["create_fp_trunc", "create_fp_ext", "create_dot"])
def test_patch_fails_loudly_when_triton_changed(method: str) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        f"from triton.runtime import interpreter as i; del i.InterpreterBuilder.{method}\n"
        "try:\n"
        "    from scalc.runtime.backends.triton import interpreter_patch\n"
        "except RuntimeError as e:\n"
        "    print(type(e).__name__, e); sys.exit(0)\n"
        f"sys.exit('patch applied to an interpreter without {method}')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(HERE)],
        check=False,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert "InterpreterPatchError" in proc.stdout and method in proc.stdout
