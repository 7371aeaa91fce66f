"""Optimizer precision modes end to end (docs/collage.md): memory, checkpoints, lost updates.

The gradient of ``mean(x * w)`` does not depend on ``w``, so every mode sees the same
gradients and their weight trajectories can be compared with an fp64 oracle directly.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import scalc
from scalc.cli import main
from scalc.passes.recipes import BUILTIN, Recipe

REPO = Path(__file__).resolve().parents[2]
GPT = REPO / "examples" / "gpt.scl"
MODES = ("fp32", "fp32-master", "bf16", "collage-light", "collage-plus")
LINEAR = """dim B
input x: f32[B, 64]
param w: f32[64] = normal(mean = 1.0, std = 0.25)
loss = mean(x * w)
"""


def recipe(mode: str, base: str = "bf16") -> Recipe:
    return dataclasses.replace(BUILTIN[base], name=f"{base}-{mode}", optimizer_precision=mode)


# AdamW: weights + (m, v) per parameter; SGD: weights + momentum. In bytes per element.
EXPECTED_BYTES = {
    "adamw": {"fp32": 12, "fp32-master": 14, "bf16": 6, "collage-light": 8, "collage-plus": 10},
    "sgd": {"fp32": 8, "fp32-master": 10, "bf16": 4, "collage-light": 6, "collage-plus": 6},
}


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
@pytest.mark.parametrize("mode", MODES)
def test_bytes_per_param_are_counted_from_the_allocated_buffers(optimizer: str, mode: str) -> None:
    sess = scalc.compile(GPT, recipe=recipe(mode), optimizer=optimizer).session()
    counted = sess.state_bytes()
    # The only other state is the 4-byte step count: a few millionths of a byte per param.
    assert counted["per_param"] == pytest.approx(EXPECTED_BYTES[optimizer][mode], abs=1e-3)
    assert counted["total"] == sum(a.nbytes for a in sess.state_dict().values())


def test_memory_command_prints_bytes_per_param(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "plus.toml"
    path.write_text('based_on = "bf16"\noptimizer_precision = "collage-plus"\n')
    assert main(["memory", str(GPT), "--recipe", str(path)]) == 0
    out = capsys.readouterr().out
    assert "10.00 bytes/param" in out and "weights 2.00 + optimizer 8.00" in out


def batches(steps: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(8, 64)).astype(np.float32) for _ in range(steps)]


def weights(sess: scalc.runtime.Session, mode: str) -> np.ndarray:
    """θ as the mode stores it: the master, the bf16 weight, or hi + lo (exact in fp64)."""
    state = sess.state_dict()
    theta = state["param/w"].astype(np.float64)
    if mode.startswith("collage"):
        theta = theta + state["state/w.lo"].astype(np.float64)
    return theta


@pytest.mark.parametrize("mode", MODES)
def test_checkpoint_restore_continues_bit_exactly(mode: str, tmp_path: Path) -> None:
    program = scalc.compile(GPT, recipe=recipe(mode), lr=3e-3)
    rng = np.random.default_rng(1)
    data = [rng.integers(0, 96, size=(2, 8)).astype(np.int32) for _ in range(4)]
    first = program.session(seed=0)
    for tokens in data[:2]:
        first.train_step(tokens=tokens, targets=tokens)
    first.save(tmp_path / "ckpt.npz")
    for tokens in data[2:]:
        first.train_step(tokens=tokens, targets=tokens)
    second = program.session(seed=5)
    second.restore(tmp_path / "ckpt.npz")
    for tokens in data[2:]:
        second.train_step(tokens=tokens, targets=tokens)
    a, b = first.state_dict(), second.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_naive_bf16_loses_small_updates_that_collage_keeps() -> None:
    # lr * (Adam's normalised step, about 1) = 1e-4 against weights near 1: far below half a
    # bf16 ulp (2^-8), so a bf16 subtraction rounds every update away.
    runs = {}
    for mode in ("bf16", "collage-light"):
        sess = scalc.compile(LINEAR, recipe=recipe(mode), lr=1e-4, weight_decay=0.0).session()
        start = weights(sess, mode)
        metrics = [sess.train_step(x=x).metrics for x in batches(20)]
        runs[mode] = (weights(sess, mode) - start, metrics)
    moved, metrics = runs["bf16"]
    assert np.all(moved == 0.0)
    assert all(m["stalled"] == 1.0 and m["edq"] == 0.0 for m in metrics)
    moved, metrics = runs["collage-light"]
    assert np.count_nonzero(moved) == moved.size
    # hi + lo resolves about 16 bits: an element whose Adam step is tiny in some step (its
    # gradient changed sign) can still round away there, so a few percent may stall.
    assert all(m["edq"] > 0.99 and m["stalled"] < 0.1 for m in metrics)


def adamw_oracle(start: np.ndarray, grads: list[np.ndarray], lr: float) -> np.ndarray:
    """PyTorch's AdamW (weight decay 0) in float64."""
    w, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    for t, g in enumerate(grads, 1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w = w - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w


@pytest.mark.parametrize("mode", ["collage-light", "collage-plus", "fp32-master"])
def test_trajectory_stays_within_the_format_bound_of_an_fp64_oracle(mode: str) -> None:
    # fp32 compute, so every mode gets the oracle's gradients to fp32 precision.
    lr, data = 1e-3, batches(30, seed=2)
    sess = scalc.compile(LINEAR, recipe=recipe(mode, "fp32"), lr=lr, weight_decay=0.0).session()
    start = weights(sess, mode)
    grads = [x.astype(np.float64).mean(axis=0) / 64 for x in data]  # d mean(x*w) / dw
    for x in data:
        sess.train_step(x=x)
    got, want = weights(sess, mode), adamw_oracle(start, grads, lr)
    # Each step's Δ is computed in bf16 for Collage (relative error <= 2^-8 per rounding,
    # a few roundings: 2^-6 of |Δ|), then added exactly; fp32-master computes Δ in fp32.
    # Their errors add up over the steps; the MCF itself holds θ to 2^-16 |θ|.
    per_step = 2.0**-6 if mode.startswith("collage") else 2.0**-20
    bound = per_step * lr * len(data) + 2.0**-16 * np.abs(want)
    assert np.all(np.abs(got - want) <= bound), np.max(np.abs(got - want) - bound)
    # The naive bf16 mode misses the same trajectory by far more (it loses the updates).
    naive = scalc.compile(LINEAR, recipe=recipe("bf16", "fp32"), lr=lr, weight_decay=0.0).session()
    for x in data:
        naive.train_step(x=x)
    assert np.max(np.abs(weights(naive, "bf16") - want)) > 10 * np.max(bound)


def test_fp32_mode_reports_full_descent_quality() -> None:
    sess = scalc.compile(LINEAR, lr=1e-3).session()
    metrics = [sess.train_step(x=x).metrics for x in batches(3)]
    assert all(m["edq"] == pytest.approx(1.0, abs=1e-4) and m["stalled"] == 0.0 for m in metrics)
