"""Run the generated module of every distinct cast group of examples/mlp.scl and
examples/gpt.scl (recipes bf16, fp8, fp8-delayed; the harness's small sizes) under Triton's
CPU interpreter on the recorded inputs of a reference training step, and compare its
outputs with the recorded outputs; then run a few groups on edge-case inputs (and on a strided
view of the recorded input) against the reference ops evaluated on the same inputs. One JSON line per run. Started by
test_codegen_cast.py in a subprocess (``TRITON_INTERPRET=1`` must be set before ``triton``
is imported).

Groups are distinct when their ops, types and properties are (a gpt layer repeats its
groups); ``{"summary": ...}`` closes the output with the counts.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

assert os.environ.get("TRITON_INTERPRET") == "1", "run with TRITON_INTERPRET=1"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from scalc.runtime.backends.triton import interpreter_patch  # noqa: F401, I001  (before any kernel runs)

from scalc.lowering.codegen import KernelSource, boundary, load
from scalc.lowering.codegen.abi import KernelValue
from scalc.lowering.codegen.cast import cast_chain
from scalc.lowering.partition import KernelGroup
from scalc.runtime.backends.reference import RefEnv, evaluate
from scalc.runtime.backends.triton import stats
from scalc.runtime.scaled_array import ScaledArray
from tests.lowering.groups import Step, record, to_kernel_value, to_numpy

RECIPES = ("bf16", "fp8", "fp8-delayed")
FP8_MAX = {"f8E4M3FN": 448.0, "f8E5M2": 57344.0}


def signature(group: KernelGroup) -> str:
    """What the generated code depends on: op names, types, properties and wiring."""
    index = {r: (i, j) for i, op in enumerate(group.ops) for j, r in enumerate(op.results)}
    return repr([
        (op.name, [index.get(v, str(v.type)) for v in op.operands],
         [str(r.type) for r in op.results], sorted((k, str(p)) for k, p in op.properties.items()))
        for op in group.ops
    ])  # fmt: skip


def run(
    step: Step, src: KernelSource, values: dict[Any, Any], strided: bool = False
) -> tuple[list[dict], float]:
    """Launch ``src`` on ``values`` of its inputs (with ``strided``, the tensor it casts as
    a non-contiguous view: its last two axes stored swapped); compare each output with
    ``values``."""
    module = load(src.name, src.source)
    args = [to_kernel_value(values[v]) for v in src.inputs]
    chain = cast_chain(src.group)
    if strided:
        i = src.inputs.index(chain.x)
        data = args[i].data.transpose(-1, -2).contiguous().transpose(-1, -2)
        assert not data.is_contiguous()
        args[i] = KernelValue(data, args[i].scale)
    cast = stats.recorder(src.group.ops, src.inputs, src.outputs)
    counts = stats.counts_buffer("cpu") if cast is not None else None
    start = time.perf_counter()
    extra = {} if counts is None else {"stats": counts}
    got = module.launch(src.group.ops, dict(step.sizes), *args, **extra)
    seconds = time.perf_counter() - start
    saved, step.values = step.values, values
    try:
        reports = [step.compare(v, g) for v, g in zip(src.outputs, got, strict=True)]
    finally:
        step.values = saved
    if cast is not None:  # the kernel's counts against the reference's cast_stats
        name, x_index, out_index = cast
        env = RefEnv()
        reference(src.group, {v: values[v] for v in src.inputs}, env)
        pending = stats.pending(counts, args[x_index], got[out_index])
        got_stats, want_stats = stats.finish(counts.tolist(), pending.n, pending.scale), env.stats[name]
        reports[out_index]["stats_equal"] = all(
            _same(got_stats[k], want_stats[k]) for k in want_stats
        ) and set(got_stats) == set(want_stats)
        reports[out_index]["stats"] = [got_stats, want_stats]
    for value, g, report in zip(src.outputs, got, reports):
        report["scale_equal"] = _same(report["scale_ref"], report["scale_got"])
        report["bits_equal"] = _bits_equal(values[value], g.data)
        if report["format"] in FP8_MAX:  # elements at the format's max: saturated (or exact)
            top = np.abs(to_numpy(g.data).astype(np.float32)) == FP8_MAX[report["format"]]
            report["at_max"] = int(top.sum())
        if chain.transpose is not None and value.owner in (chain.rescale, chain.cast):
            # K-major: the output lies in x's layout, seen through the permutation.
            perm = list(chain.transpose.perm.get_values())
            back = g.data.permute(*np.argsort(perm).tolist())
            report["kmajor_view"] = bool(back.is_contiguous() and not g.data.is_contiguous())
    return reports, seconds


def _same(a: float | None, b: float | None) -> bool:
    return a == b or (a is not None and b is not None and math.isnan(a) and math.isnan(b))


def _bits_equal(ref: Any, got: Any) -> bool:
    """Exact equality of the data (NaN payloads and signs aside)."""
    want = np.asarray(ref.data if isinstance(ref, ScaledArray) else ref)
    have = to_numpy(got)
    w, h = want.astype(np.float64), have.astype(np.float64)
    return bool(want.shape == have.shape and np.array_equal(w, h, equal_nan=True)
                and np.array_equal(np.signbit(w[w == 0]), np.signbit(h[w == 0])))  # fmt: skip


def reference(
    group: KernelGroup, inputs: dict[Any, Any], env: RefEnv | None = None
) -> dict[Any, Any]:
    """The reference ops of ``group`` evaluated one by one from ``inputs`` (in ``env``,
    whose ``stats`` collect the casts' statistics)."""
    values = dict(inputs)
    env = env or RefEnv()
    for op in group.ops:
        out = evaluate(op, env, *[values[v] for v in op.operands])
        for r, v in zip(op.results, out if len(op.results) > 1 else (out,)):
            values[r] = v
    return values


# --- edge cases: (name, change to the recorded inputs) ---------------------------------


def _scaled(x: ScaledArray, data: np.ndarray, scale: float) -> ScaledArray:
    return ScaledArray(data.astype(np.float32).astype(x.data.dtype), scale)


def edge_cases(step: Step, group: KernelGroup) -> list[tuple[str, dict[Any, Any]]]:
    chain = cast_chain(group)
    inputs, _ = boundary(group)
    recorded = {v: step.values[v] for v in inputs}
    x = recorded[chain.x]
    value = x.value().astype(np.float64)
    rng = np.random.default_rng(len(group.ops))
    cases: list[tuple[str, dict[Any, Any]]] = []

    def with_x(name: str, data: np.ndarray, scale: float, others: dict | None = None) -> None:
        cases.append((name, {**recorded, chain.x: _scaled(x, data, scale), **(others or {})}))

    nan, inf = value.copy(), value.copy()
    nan.flat[rng.integers(nan.size)] = np.nan
    inf.flat[rng.integers(inf.size)] = np.inf
    with_x("nan", nan, 1.0)
    with_x("inf", inf, 1.0)
    with_x("zeros", np.zeros_like(value), 1.0)
    # |data| in [2^-121, 2^-120] with scale 2^30: s = 2^-98 and x.scale / s = 2^128 leaves
    # fp32, so the reference goes through the value (data * scale) / s: DIRECT = False.
    # (Normal bf16 data: Triton 3.9's interpreter converts bf16 subnormals to fp32 wrongly.)
    tiny = np.where(value < 0, -1.0, 1.0) * rng.uniform(0.5, 1.0, value.shape) * 2.0**-120
    with_x("ratio_out_of_range", tiny, 2.0**30)
    with_x("nan_scale", value, math.nan)
    with_x("scale_2^-20", value * 2.0**20, 2.0**-20)
    if chain.update is not None:  # a stale history: the scale is too small, data saturates
        history = chain.update.operands[0]
        amax = float(np.max(np.abs(value)))
        stale = np.full(recorded[history].shape, amax / 64, np.float32)
        with_x("stale_history", value, 1.0, {history: stale})
    elif chain.rescale is not None and chain.rescale.operands[1] in recorded:
        ref = chain.rescale.operands[1]
        amax = float(np.max(np.abs(value)))
        with_x("small_ref", value, 1.0, {ref: np.asarray(amax / 64, np.float32)})
    return cases


def main() -> None:
    seen: dict[str, str] = {}
    edge_done: set[str] = set()
    total = 0
    for example in ("mlp", "gpt"):
        for recipe in RECIPES:
            step = record(example, recipe)
            for group in step.groups("cast"):
                total += 1
                key = signature(group)
                if key in seen:
                    continue
                seen[key] = f"{example}/{recipe}/{group.entry}/{group.name}"
                src = step.source(group)  # generate_group: the registered generator
                reports, seconds = run(step, src, step.values)
                print(json.dumps({"case": seen[key], "kind": "recorded", "ops": [op.name for op in group.ops],
                                  "seconds": seconds, "outputs": reports}), flush=True)  # fmt: skip
                # Edge cases once per kind of chain (ops, inputs and output format).
                kind = repr([[op.name for op in group.ops], len(src.inputs),
                             str(src.outputs[-1].type).rsplit("x", 1)[-1]])  # fmt: skip
                if kind in edge_done:
                    continue
                edge_done.add(kind)
                cases = [*edge_cases(step, group), ("strided_x", step.values)]
                for name, inputs in cases:
                    values = reference(group, inputs)
                    reports, seconds = run(step, src, values, strided=name == "strided_x")
                    print(json.dumps({"case": f"{seen[key]}:{name}", "kind": "edge", "edge": name,
                                      "ops": [op.name for op in group.ops], "seconds": seconds,
                                      "outputs": reports}), flush=True)  # fmt: skip
    print(json.dumps({"summary": True, "groups": total, "distinct": len(seen)}), flush=True)


if __name__ == "__main__":
    main()
