"""Run the generated module of the optimizer group (lowering/codegen/optimizer.py) under
Triton's CPU interpreter against the reference; print one JSON line per case. Started by
test_codegen_optimizer.py in a subprocess (``TRITON_INTERPRET=1`` must be set before
``triton`` is imported).

Two kinds of case:

- ``recorded``: the optimizer group of examples/mlp.scl and examples/gpt.scl under the
  recipes fp32, bf16, fp8 and fp8-delayed (all ``optimizer_precision = fp32``), AdamW and
  SGD, on the values a reference training step recorded (groups.py); groups with the same
  ops, types and properties run once (the recipes share the optimizer's code).
- ``modes``: every ``optimizer_precision`` (fp32, fp32-master, bf16, collage-light,
  collage-plus) with AdamW and SGD (momentum, Nesterov, none; weight decay on and off), on
  synthetic parameters, gradients of magnitudes 2^-20 ... 2^2 and non-zero state (a
  later step, t = 5), against the group's reference ops evaluated one by one; one case
  with a NaN and an inf gradient element. (``scalc.compile`` plans the whole program, and
  that fails today for these modes in ``@forward``: the ``@optimizer_step`` is taken from
  the ``scaled`` stage and partitioned alone.)
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

assert os.environ.get("TRITON_INTERPRET") == "1", "run with TRITON_INTERPRET=1"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from scalc.runtime.backends.triton import interpreter_patch  # noqa: F401, I001  (before any kernel runs)

from xdsl.dialects.func import FuncOp
from xdsl.ir import SSAValue

from scalc.dialects import nn
from scalc.driver import run_stages
from scalc.lowering.codegen import GenContext, boundary, generate_group, load
from scalc.lowering.codegen.abi import KernelValue, format_of_value
from scalc.lowering.codegen.optimizer import split
from scalc.lowering.partition import KernelGroup, partition_function, ssa_names
from scalc.lowering.shapes import module_dims
from scalc.passes.optimizer import OptimizerConfig
from scalc.passes.recipes import BUILTIN
from scalc.runtime.backends.reference import RefEnv, evaluate
from scalc.runtime.backends.reference.formats import round_to
from tests.lowering.groups import SMALL, example_source, record, to_kernel_value, to_numpy

RECIPES = ("fp32", "bf16", "fp8", "fp8-delayed")
SGD_OPTIONS = [
    {"momentum": 0.9, "weight_decay": 0.01},
    {"momentum": 0.9, "weight_decay": 1e-4, "nesterov": True},
    {"momentum": 0.0, "weight_decay": 0.0},
]
MODES = ("fp32", "fp32-master", "bf16", "collage-light", "collage-plus")


def signature(group: KernelGroup) -> str:
    index = {r: (i, j) for i, op in enumerate(group.ops) for j, r in enumerate(op.results)}
    return repr([
        (op.name, [index.get(v, str(v.type)) for v in op.operands],
         [str(r.type) for r in op.results], sorted((k, str(p)) for k, p in op.properties.items()))
        for op in group.ops
    ])  # fmt: skip


def ulps(want: np.ndarray, have: np.ndarray) -> int:
    """Largest distance in steps of the format between finite ``want`` and ``have``."""
    bits = {2: np.int16, 4: np.int32}[want.dtype.itemsize]

    def ordered(x: np.ndarray) -> np.ndarray:
        i = np.ascontiguousarray(x).view(bits).astype(np.int64)
        return np.where(i < 0, -(i & (2 ** (8 * want.dtype.itemsize - 1) - 1)), i)

    finite = np.isfinite(want.astype(np.float64)) & np.isfinite(have.astype(np.float64))
    diff = np.abs(ordered(want) - ordered(have))[finite]
    return int(diff.max()) if diff.size else 0


def compare(value: SSAValue, want: Any, got: KernelValue) -> dict[str, Any]:
    want = np.asarray(want)
    have = to_numpy(got.data)
    w, h = want.astype(np.float64), have.astype(np.float64)
    out: dict[str, Any] = {
        "format": format_of_value(value),
        "stats": isinstance(value.owner, nn.UpdateStatsOp),
        "shape_ok": want.shape == have.shape,
        "scale_ok": got.scale is None,
    }
    if not out["shape_ok"]:
        return out
    zeros = w == 0
    out["bits_equal"] = bool(
        np.array_equal(w, h, equal_nan=True)
        and np.array_equal(np.signbit(w[zeros]), np.signbit(h[zeros]))
    )
    out["nan_equal"] = bool(np.array_equal(np.isnan(w), np.isnan(h)))
    out["ulps"] = ulps(want, have.astype(want.dtype)) if out["nan_equal"] else -1
    return out


def run(group: KernelGroup, ctx: GenContext, values: dict[Any, Any], sizes: dict) -> dict:
    """Launch the group's module on ``values`` of its inputs; compare with ``values``."""
    src = generate_group(group, ctx)
    module = load(src.name, src.source)
    args = [to_kernel_value(values[v]) for v in src.inputs]
    start = time.perf_counter()
    got = module.launch(group.ops, sizes, *args)
    seconds = time.perf_counter() - start
    outputs = [compare(v, values[v], g) for v, g in zip(src.outputs, got, strict=True)]
    _, chains = split(group)
    return {"seconds": seconds, "launches": len(chains), "outputs": outputs,
            "ops": sorted({op.name for op in group.ops})}  # fmt: skip


def reference(group: KernelGroup, inputs: dict[Any, Any]) -> dict[Any, Any]:
    values = dict(inputs)
    with np.errstate(all="ignore"):
        for op in group.ops:
            out = evaluate(op, RefEnv(), *[values[v] for v in op.operands])
            for r, v in zip(op.results, out if len(op.results) > 1 else (out,)):
                values[r] = v
    return values


def recorded_cases() -> None:
    seen: set[str] = set()
    for example in ("mlp", "gpt"):
        for recipe in RECIPES:
            for kind in ("adamw", "sgd"):
                step = record(example, recipe, optimizer=kind)
                (group,) = step.groups("optimizer")
                key = signature(group)
                if key in seen:
                    continue
                seen.add(key)
                result = run(group, step.ctx, step.values, dict(step.sizes))
                print(json.dumps({"kind": "recorded", "case": f"{example}/{recipe}/{kind}",
                                  "mode": "fp32", **result}), flush=True)  # fmt: skip


# --- every optimizer precision mode, on synthetic values --------------------------------


def optimizer_group(
    example: str, mode: str, kind: str, options: dict
) -> tuple[KernelGroup, GenContext]:
    consts = {k: v for k, v in SMALL[example].items() if k not in ("B", "T")}
    recipe = replace(BUILTIN["bf16"], name=f"bf16-{mode}", optimizer_precision=mode)
    config = OptimizerConfig.make(kind, **options)
    compilation = run_stages(
        example_source(example, **consts), example, "scaled", config, recipe
    ).compilation
    module = compilation.scaled
    assert module is not None
    fn = next(
        f for f in module.ops if isinstance(f, FuncOp) and f.sym_name.data == "optimizer_step"
    )
    (group,) = [g for g in partition_function(fn, "optimizer_step") if g.kind == "optimizer"]
    return group, GenContext(ssa_names(fn), module_dims(module))


def synthetic(group: KernelGroup, rng: np.random.Generator, blow_up: bool) -> dict[Any, Any]:
    """Inputs by role: parameters ~ N(0, 0.05), gradients of magnitudes 2^-20 ... 2^2,
    moments and compensation terms of their usual sizes, lr = 1e-3, step count 4."""
    inputs, _ = boundary(group)
    values: dict[Any, Any] = {}
    for v in inputs:
        op, fmt, shape = v.owner, format_of_value(v), tuple(v.type.get_shape())
        if isinstance(op, nn.ConstantOp):
            values[v] = evaluate(op, RefEnv())
            continue
        if not shape:  # the step count (a state) or the learning rate (an argument)
            values[v] = np.asarray(4.0 if isinstance(op, nn.GetStateOp) else 1e-3, np.float32)
            continue
        normal = rng.standard_normal(shape)
        slot = (
            op.state.root_reference.data.rsplit(".", 1)[-1]
            if isinstance(op, nn.GetStateOp)
            else None
        )
        if isinstance(op, nn.GetParamOp):
            x = 0.05 * normal
        elif slot == "m":
            x = 1e-3 * normal
        elif slot == "v":
            x = 1e-6 * np.abs(normal)
        elif slot in ("v_lo", "lo"):  # below half an ulp of its high part
            x = 2.0**-12 * (1e-6 if slot == "v_lo" else 0.05) * rng.uniform(-1, 1, shape)
        elif slot == "momentum":
            x = 1e-2 * normal
        else:  # a gradient
            x = normal * np.exp2(rng.integers(-20, 3, shape))
            if blow_up:
                x.flat[0], x.flat[-1] = np.nan, np.inf
        values[v] = round_to(x.astype(np.float32), fmt)
    return values


def mode_cases() -> None:
    cases = [("mlp", mode, "adamw", {}) for mode in MODES]
    cases += [("mlp", mode, "sgd", SGD_OPTIONS[i % 3]) for i, mode in enumerate(MODES)]
    cases += [
        ("mlp", "fp32", "sgd", SGD_OPTIONS[1]),
        ("mlp", "collage-plus", "sgd", SGD_OPTIONS[2]),
    ]
    cases += [("gpt", "collage-plus", "adamw", {}), ("gpt", "fp32-master", "sgd", SGD_OPTIONS[0])]
    blown = {0, 3, 7}  # fp32 AdamW, collage-light AdamW, bf16 SGD: also with a NaN and an inf
    for i, (example, mode, kind, options) in enumerate(cases):
        for blow_up in (False, True) if i in blown else (False,):
            group, ctx = optimizer_group(example, mode, kind, options)
            values = reference(group, synthetic(group, np.random.default_rng(i), blow_up))
            result = run(group, ctx, values, {})
            name = f"{example}/{mode}/{kind}{json.dumps(options)}{'/nan-inf' if blow_up else ''}"
            print(json.dumps({"kind": "modes", "case": name, "mode": mode, **result}), flush=True)


if __name__ == "__main__":
    recorded_cases()
    mode_cases()
