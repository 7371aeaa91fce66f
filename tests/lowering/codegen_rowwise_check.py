"""Run the generated module of every ``rowwise`` kernel group of the examples under
Triton's CPU interpreter on the values the reference backend recorded for one training
step (tests/lowering/groups.py), and print one JSON line per group output with the
comparison (``shape_ok``, ``scale_ref``/``scale_got``, ``max_eps``, ``exact``,
``nonfinite_mismatches``). Started by test_codegen_rowwise.py in a subprocess
(``TRITON_INTERPRET=1`` must be set before ``triton`` is imported).

Argument: a JSON list of ``[example, recipe]`` pairs. Every rowwise group of each runs (on
its own recorded values: the gpt's layers repeat the same signatures on different data),
about 0.01-0.1 s each under the interpreter at the harness's small sizes.

Only the rowwise generator is used (`generate_rowwise`), not `generate_group`: this
check does not depend on the other kinds' generators.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

assert os.environ.get("TRITON_INTERPRET") == "1", "run with TRITON_INTERPRET=1"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
# Patches the interpreter on import: before anything imports a kernel.
from scalc.runtime.backends.triton import interpreter_patch  # noqa: I001

import numpy as np

from scalc.lowering.codegen import KernelSource, boundary
from scalc.lowering.codegen.abi import KernelValue
from scalc.lowering.codegen.rowwise import generate_rowwise
from scalc.runtime.scaled_array import ScaledArray
from tests.lowering.groups import record

assert interpreter_patch.is_applied()


def compare(step, value, got: KernelValue) -> dict:
    """`Step.compare`, for a 0-d value (the loss) too: the harness's ``max_eps`` indexes its
    error array, so a 0-d value is compared as shape ``(1,)`` after its shape is checked."""
    if got.data.dim() != 0:
        return step.compare(value, got)
    ref = step.values[value]
    flat = (
        ScaledArray(ref.data.reshape(1), ref.scale)
        if isinstance(ref, ScaledArray)
        else np.reshape(ref, 1)
    )
    step.values[value] = flat
    try:
        report = step.compare(value, KernelValue(got.data.reshape(1), got.scale))
    finally:
        step.values[value] = ref
    return {**report, "shape_ok": np.shape(ref.data if isinstance(ref, ScaledArray) else ref) == ()}


def main(cases: list[list[str]]) -> None:
    for example, recipe in cases:
        step = record(example, recipe)
        for group in step.groups("rowwise"):
            src = KernelSource(group, generate_rowwise(group, step.ctx), *boundary(group))
            start = time.perf_counter()
            outs = step.launch(src)
            seconds = time.perf_counter() - start
            assert len(outs) == len(src.outputs), (group.name, len(outs))
            for value, got in zip(src.outputs, outs):
                report = compare(step, value, got)
                print(json.dumps({
                    "example": example, "recipe": recipe, "group": group.name,
                    "entry": group.entry, "ops": [op.name for op in group.ops],
                    "seconds": round(seconds, 3), **report,
                }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
