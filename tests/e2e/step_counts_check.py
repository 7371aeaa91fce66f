"""Count one ``train_step`` of a small examples/gpt.scl on ``triton-interpret`` per recipe
(bench/counting.py) after one warm-up step, and print one JSON line per recipe for
test_step_counts.py. Run in its own process (``TRITON_INTERPRET=1``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import scalc
from bench.counting import StepCounter
from bench.scl_consts import with_consts

SIZES = {"D": 32, "HEADS": 2, "LAYERS": 1, "MAX_T": 8}
B, T = 2, 8


def main(runs: list[str]) -> None:
    """Each run is a recipe, or ``RECIPE:nostats`` for a session with ``stats=False``."""
    source = with_consts((ROOT / "examples" / "gpt.scl").read_text(), **SIZES)
    rng = np.random.default_rng(0)
    for run in runs:
        recipe, _, flag = run.partition(":")
        sess = scalc.compile(source, recipe=recipe, optimizer="adamw").session(
            backend="triton-interpret", seed=0, stats=flag != "nostats"
        )

        def batch() -> dict[str, np.ndarray]:
            return {k: rng.integers(0, 96, (B, T)).astype(np.int32) for k in ("tokens", "targets")}

        sess.train_step(**batch())
        inputs = batch()
        with StepCounter() as counts:
            out = sess.train_step(**inputs)
        with StepCounter() as reading:  # the metrics, read after the step
            tensors = out.metrics.get("tensors", {})
        print(json.dumps({
            "recipe": run, **counts.summary(), "loss": out.loss,
            "reads": sorted(counts.reads_by_place().items()),
            "casts": len(tensors), "metrics_reads": reading.summary()["host_reads"],
        }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
