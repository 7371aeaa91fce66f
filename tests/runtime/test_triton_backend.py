"""The Triton backends' choices and errors on a machine without a GPU (the kernels
themselves are checked under the interpreter in tests/lowering and tests/e2e)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import scalc
from scalc.runtime.backends.triton.backend import BackendUnavailable, cuda_available
from scalc.runtime.session import resolve_backend

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "examples" / "mlp.scl"

pytest.importorskip("torch")
NO_GPU = pytest.mark.skipif(cuda_available(), reason="this machine has a CUDA GPU")


@NO_GPU
def test_auto_is_the_reference_backend_without_a_gpu() -> None:
    assert resolve_backend("auto") == "reference"
    assert scalc.compile(MLP).session(backend="auto").backend == "reference"


@NO_GPU
def test_triton_without_a_gpu_says_what_to_use_instead() -> None:
    with pytest.raises(BackendUnavailable, match='needs a CUDA GPU.*"triton-interpret"'):
        scalc.compile(MLP).session(backend="triton")


def test_unknown_backend_lists_the_choices() -> None:
    with pytest.raises(scalc.ScalcError, match="unknown backend `cuda`; choose one of auto, reference, triton"):
        scalc.compile(MLP).session(backend="cuda")


@pytest.mark.parametrize("recipe", ["fp32", "bf16", "fp8", "fp8-delayed"])
def test_every_builtin_recipe_of_the_examples_has_kernels(recipe: str) -> None:
    for example in ("mlp", "gpt"):
        program = scalc.compile(ROOT / "examples" / f"{example}.scl", recipe=recipe)
        assert program.kernel_error is None
        texts = program.kernel_texts()
        assert texts and all("@triton.jit" in t for t in texts.values())


def test_emit_triton_prints_every_generated_module() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "scalc", "compile", str(ROOT / "examples" / "gpt.scl"),
         "--recipe", "fp8", "--emit", "triton"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    headers = [line for line in proc.stdout.splitlines() if line.startswith("# ===== triton/")]
    program = scalc.compile(ROOT / "examples" / "gpt.scl", recipe="fp8")
    assert len(headers) == len(program.kernel_texts())
    assert "@triton.jit" in proc.stdout and "tl.dot(" in proc.stdout


UNSUPPORTED = (
    "model m\ndim B\ninput x: f32[B, 8]\nparam w: f32[8, 8] = ones\n"
    "output y = softmax(x @ w, axis = 0)\nloss = mean(y)\n"
)
"""A softmax over the batch axis: no row-wise kernel takes it (rows are the last axis)."""


def test_a_program_without_kernels_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "m.scl"
    path.write_text(UNSUPPORTED)
    proc = subprocess.run(
        [sys.executable, "-m", "scalc", "compile", str(path), "--emit", "triton"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"error: {path}: cannot generate Triton kernels for this program: "
        "k2_rowwise_softmax: nn.softmax over axis 0, not the last"
    )
    assert "Traceback" not in proc.stderr


def test_a_program_without_kernels_still_runs_on_the_reference(tmp_path: Path) -> None:
    import numpy as np

    program = scalc.compile(UNSUPPORTED)
    assert program.kernel_error == "k2_rowwise_softmax: nn.softmax over axis 0, not the last"
    assert program.kernel_texts() == {}
    program.save(tmp_path / "m.sclc")
    loaded = scalc.load(tmp_path / "m.sclc")
    assert loaded.kernel_error == program.kernel_error
    x = np.ones((2, 8), np.float32)
    assert np.isfinite(loaded.session(backend="reference").train_step(x=x).loss)
    # The same wording as the CLI's (one kernel pipeline, one error).
    with pytest.raises(BackendUnavailable, match=r"^error: cannot generate Triton kernels for this "
                       r"program: k2_rowwise_softmax: .*; it cannot run on the Triton backends"):
        loaded.session(backend="triton")  # fmt: skip
