"""What one training step asks of the host on ``triton-interpret`` (bench/counting.py,
tests/e2e/step_counts_check.py, in its own process): host reads of tensor values, launches
and bytes across the would-be bus, counted, not read off the code.

Held today, per recipe (the device-resident step, issue 13, tightens these):
- no parameter, optimizer state, gradient or saved activation crosses to the host inside
  a step (the bytes read back are a few scalars per read, and no read comes from
  `DeviceBuffers` or the NumPy conversion of an entry point's results);
- fp32: at most 3 reads, the loss, the gradient norm and the optimizer's scalars (each a
  batched read of scalars);
- per-cast statistics are counted by the cast kernels, and they and the descent metrics
  are read when ``metrics`` is first read, in one transfer for the whole step;
  ``stats=False`` does not count them at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "tests" / "e2e" / "step_counts_check.py"
RECIPES = ["fp32", "bf16", "fp8", "fp8-delayed"]
RUNS = [*RECIPES, "fp8:nostats"]

pytest.importorskip("triton")


@pytest.fixture(scope="module")
def counts() -> dict[str, dict]:
    proc = subprocess.run(
        [sys.executable, str(CHECK), *RUNS],
        capture_output=True, text=True, check=False, timeout=900,
        env={**os.environ, "TRITON_INTERPRET": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {r["recipe"]: r for r in lines}


@pytest.mark.parametrize("recipe", RECIPES)
def test_a_step_copies_no_tensor_to_the_host(counts: dict[str, dict], recipe: str) -> None:
    r = counts[recipe]
    print(recipe, {k: v for k, v in r.items() if k != "reads"})
    places = [place for place, _ in r["reads"]]
    assert not [p for p in places if "buffers.py" in p or "convert.py" in p], places
    # At most 8 scalars of 8 bytes a read (the smallest tensor of the model is 128 bytes).
    assert 0 < r["d2h_bytes"] <= 64 * r["host_reads"], r


def test_an_fp32_step_reads_only_its_scalars(counts: dict[str, dict]) -> None:
    r = counts["fp32"]
    assert r["host_reads"] <= 3, r["reads"]
    assert r["metrics_reads"] == 1  # edq and stalled, when the metrics are read
    assert r["launches"] > 0 and r["h2d_copies"] <= 4, r


@pytest.mark.parametrize("recipe", ["fp8", "fp8-delayed"])
def test_cast_statistics_are_read_once_after_the_step(counts: dict[str, dict], recipe: str) -> None:
    r = counts[recipe]
    assert r["casts"] > 0 and r["metrics_reads"] == 1, r
    assert not [p for p, _ in r["reads"] if "stats.py" in p], r["reads"]


def test_a_session_without_statistics_counts_none(counts: dict[str, dict]) -> None:
    on, off = counts["fp8"], counts["fp8:nostats"]
    assert off["casts"] == 0 and off["metrics_reads"] == 1  # the descent metrics alone
    assert off["launches"] == on["launches"] and off["torch_ops"] < on["torch_ops"]
