"""bench/reference_step.py runs and reports in its documented format (no timing checks:
the numbers depend on the machine)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from bench.torch_models import read_consts

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "reference_step.py"
RESULT = re.compile(
    r"^reference: (?P<ref>\d+\.\d) ms/step  torch-eager: (?P<torch>\d+\.\d) ms/step  "
    r"ratio: (?P<ratio>\d+\.\d\d) \(target <= 2\.0\)$",
    re.MULTILINE,
)


def test_reference_step_bench_prints_and_writes_its_results(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, str(BENCH), "--steps", "2", "--threads", "1", "--json", str(out)],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,  # the script finds the example and its torch model by itself
    )
    assert run.returncode == 0, run.stderr
    match = RESULT.search(run.stdout)
    assert match, run.stdout
    assert "threads: numpy BLAS 1" in run.stdout and "torch 1" in run.stdout, run.stdout

    result = json.loads(out.read_text())
    assert result["steps"] == 2 and len(result["reference_ms_all"]) == 2
    assert result["threads"]["numpy_blas"] == 1 and result["threads"]["torch"] == 1
    consts = read_consts((ROOT / "examples" / "gpt.scl").read_text())  # the example's own
    assert result["config"] == {
        "batch": 32,
        "seq": consts["MAX_T"],
        "d": consts["D"],
        "layers": consts["LAYERS"],
        "heads": consts["HEADS"],
        "vocab": consts["VOCAB"],
    }
    assert result["optimizer"]["kind"] == "adamw"
    assert f"{result['reference_ms']:.1f}" == match["ref"]
    assert f"{result['torch_eager_ms']:.1f}" == match["torch"]
    assert abs(result["ratio"] - result["reference_ms"] / result["torch_eager_ms"]) < 1e-9
    # Both sides train the same model from the same weights on the same first batch.
    first = result["first_loss"]
    assert abs(first["reference"] - first["torch"]) <= 1e-5 * abs(first["torch"])


def test_reference_step_bench_rejects_bad_options() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--steps", "0"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "--steps" in run.stderr


GPU_BENCH = ROOT / "bench" / "gpu.py"


def test_gpu_bench_runs_every_section_in_smoke_mode(tmp_path: Path) -> None:
    """``--smoke``: tiny shapes on CPU under the interpreter; the numbers mean nothing, but
    every section (GEMM, cast, SQNR, training step) runs and lands in the JSON."""
    out = tmp_path / "gpu.json"
    run = subprocess.run(
        [sys.executable, str(GPU_BENCH), "--smoke", "--json", str(out)],
        check=False, capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["mode"] == "smoke"
    (gemm,) = result["gemm"].values()
    assert {"scalc_fp8_tflops", "torch_bf16_tflops", "fp8_vs_bf16_matmul"} <= set(gemm)
    assert result["cast"]["fraction_of_copy"] > 0
    # The same E4M3 x E4M3 noise the reference measures (docs/scaled.md: 28.5 dB).
    assert 25 < result["sqnr_db"]["scalc_fp8_vs_fp64"] < 32
    assert result["train_step"]["scalc_fp8_ms"] > 0


def test_gpu_bench_without_a_gpu_says_so() -> None:
    import torch

    if torch.cuda.is_available():
        return
    run = subprocess.run(
        [sys.executable, str(GPU_BENCH), "--quick"], check=False, capture_output=True, text=True
    )
    assert run.returncode == 2
    assert "needs a CUDA GPU and none is available here (--smoke runs it" in run.stderr


STEP_COST = ROOT / "bench" / "step_cost.py"


def test_step_cost_bench_counts_a_step_and_writes_its_results(tmp_path: Path) -> None:
    """``--smoke``: the tiny GPT in fp32, counted on triton-interpret; the printed line and
    the JSON agree, and the model's assumptions are printed with the estimate."""
    out = tmp_path / "cost.json"
    run = subprocess.run(
        [sys.executable, str(STEP_COST), "--smoke", "--json", str(out)],
        check=False, capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    (result,) = json.loads(out.read_text())["results"]
    assert (result["config"], result["recipe"]) == ("tiny", "fp32")
    steps = result["per_step"]
    assert steps["launches"] > 0 and steps["host_reads"] >= 0
    line = re.search(r"tiny fp32 +reads +(\d+) +launches +(\d+)", run.stdout)
    assert line and (int(line[1]), int(line[2])) == (steps["host_reads"], steps["launches"])
    assert "hbm_bytes_per_s=" in run.stdout and "ratio" in run.stdout
    assert result["kernel_texts"] >= result["kernel_bodies"] > 0
