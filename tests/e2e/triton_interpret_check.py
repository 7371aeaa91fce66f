"""Train a small example for a few steps on the reference backend and on
``triton-interpret`` from the same seed and batches; print one JSON line per step with both
losses, and a first line with the relative difference of the outputs before any step (the kernels'
numerics alone) and a last line with the parameters' largest difference. Started by
test_triton_interpret.py in its own process (the backend switches Triton to its
interpreter, which must not leak into the cross-compile tests).

    python tests/e2e/triton_interpret_check.py gpt fp8 3 [--artifact]

``--artifact`` saves the program and loads it back first, so the Triton session runs the
modules the artifact carries.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import scalc  # noqa: E402
from tests.lowering.groups import SMALL, _inputs, example_source  # noqa: E402


def main(example: str, recipe: str, steps: int, through_artifact: bool = False) -> None:
    spec = {**SMALL[example], **({"LAYERS": 1} if example == "gpt" else {})}
    sizes = {k: v for k, v in spec.items() if k in ("B", "T")}
    consts = {k: v for k, v in spec.items() if k not in ("B", "T")}
    program = scalc.compile(example_source(example, **consts), recipe=recipe)
    if through_artifact:  # the Triton session then runs the kernels the artifact carries
        folder = Path(tempfile.mkdtemp()) / f"{example}.sclc.zip"
        program.save(folder)
        program = scalc.load(folder)
    ref = program.session(backend="reference", seed=0)
    tri = program.session(backend="triton-interpret", seed=0)
    rng = np.random.default_rng(7)
    batch = _inputs(example, sizes, consts, rng)
    name = program.output_names[0]
    truth = scalc.compile(example_source(example, **consts), recipe="fp32").session(seed=0)
    exact, a, b = truth.forward(**batch), ref.forward(**batch), tri.forward(**batch)
    print(json.dumps({
        "step": 0,
        "output_rel": _relative(a, b, name),
        "reference_vs_fp32": _relative(exact, a, name),
        "triton_vs_fp32": _relative(exact, b, name),
    }), flush=True)
    for step in range(steps):
        batch = _inputs(example, sizes, consts, rng)
        a = ref.train_step(**batch)
        b = tri.train_step(**batch)
        if step == 0:
            print(json.dumps(_stats_difference(a.metrics.get("tensors", {}),
                                               b.metrics.get("tensors", {}))), flush=True)
        print(json.dumps({"step": step + 1, "reference": a.loss, "triton": b.loss,
                          "grad_norm_reference": a.metrics["grad_norm"],
                          "grad_norm_triton": b.metrics["grad_norm"]}), flush=True)
    diffs = {}
    for name, value in ref.params.items():
        w = np.asarray(value, np.float64)
        v = np.asarray(tri.params[name], np.float64)
        diffs[name] = float(np.abs(w - v).max() / max(np.abs(w).max(), 1e-30))
    print(json.dumps({
        "params_max_rel": max(diffs.values()),
        "worst_param": max(diffs, key=diffs.get),
    }), flush=True)


def _stats_difference(ref: dict, tri: dict) -> dict:
    """Per-cast statistics of the first step on both backends: the same casts, and how far
    apart their numbers are (scales: how many differ; the rest: largest difference)."""
    same = sorted(ref) == sorted(tri)
    out = {"stats": True, "casts": len(ref), "same_names": same, "scales_differ": 0,
           "amax_rel": 0.0, "saturated": 0.0, "underflow": 0.0}
    for name in ref if same else ():
        r, t = ref[name], tri[name]
        out["scales_differ"] += r["scale"] != t["scale"]
        if r["amax"] > 0:
            out["amax_rel"] = max(out["amax_rel"], abs(t["amax"] - r["amax"]) / r["amax"])
        for key in ("saturated", "underflow"):
            out[key] = max(out[key], abs(t[key] - r[key]))
    return out


def _relative(a: object, b: object, name: str) -> float:
    x = np.asarray(a[name], np.float64)  # type: ignore[index]
    y = np.asarray(b[name], np.float64)  # type: ignore[index]
    return float(np.linalg.norm(y - x) / np.linalg.norm(x))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), "--artifact" in sys.argv[4:])
