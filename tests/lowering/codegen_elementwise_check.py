"""Run the generated kernel of every ``elementwise`` group under Triton's CPU interpreter
on the recorded values of one training step, against the reference; print one JSON line
per distinct group. Started by test_codegen_elementwise.py in a subprocess
(``TRITON_INTERPRET=1`` must be set before ``triton`` is imported).

The steps: examples/mlp.scl and examples/gpt.scl at the harness's small sizes under the
fp32, bf16, fp8 and fp8-delayed recipes (tests/lowering/groups.py), and a small model
(test_codegen_elementwise.ZOO) whose forward and backward hold the elementwise and reduce
ops the examples lack (tanh, sigmoid, exp, log, sqrt, sub, mul, div, neg, relu, their
gradients, mean_grad, max_grad; mean with keepdims, max, means to a scalar), under fp32
and bf16. Groups with the same signature (op names, properties, operand types and wiring) run once.

Each line: the group, its ops, per output the harness's comparison (`Step.compare`:
scales, ``max_eps``, ``exact``, non-finite mismatches), ``strided_same`` (the kernel gives
the same bits on non-contiguous views of its inputs: each input of rank >= 2 as a
transposed copy, transposed back), and what the error bounds of
test_codegen_elementwise.py need:
- ``rounded``: the formats of the intermediate results the reference rounds and the
  kernel keeps in fp32 (not the exact moves and sign or mask ops, `EXACT_ROUNDING`);
- ``approximated``: the ops whose fp32 formula differs from the reference's
  (`APPROXIMATED`), each with ``lead``: max |x| of a gelu, max |dy| of a gelu_grad, over
  rms(reference output) (0 for the others).
codegen_reduce_check.py reuses `run_checks` with the reduce generator.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

assert os.environ.get("TRITON_INTERPRET") == "1", "run with TRITON_INTERPRET=1"
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from scalc.runtime.backends.triton import interpreter_patch  # noqa: F401, I001  (before any kernel runs)

import numpy as np
import torch

from scalc.lowering.codegen import GenContext, KernelSource, boundary, load
from scalc.lowering.codegen.abi import KernelValue, format_of_value
from scalc.lowering.partition import partition
from scalc.lowering.shapes import module_dims
from scalc.runtime.backends.reference import REFERENCE
from scalc.runtime.executor import Executor
from scalc.passes.recipes import BUILTIN
from scalc.runtime.scaled_array import ScaledArray
from tests.lowering.groups import Step, record, to_kernel_value, unpack
from tests.lowering.test_codegen_elementwise import ZOO

EXAMPLES = ("mlp", "gpt")
RECIPES = ("fp32", "bf16", "fp8", "fp8-delayed")
ZOO_RECIPES = ("fp32", "bf16")
BF16_WEIGHTS = dataclasses.replace(BUILTIN["fp32"], name="fp32-bf16-weights", optimizer_precision="bf16")
LARGE_B = 2048
"""The mlp batch of the split-K reduce check."""


def record_zoo(recipe: str, B: int = 2, T: int = 8, seed: int = 0) -> Step:
    """`groups.record` for `ZOO`: one forward, train_forward and train_backward."""
    import scalc

    program = scalc.compile(ZOO, recipe=recipe)
    plan = partition(program.train)
    step = Step(program, plan, GenContext(plan.names, module_dims(program.train)), {})
    session = program.session(backend="reference", seed=seed)
    env = session._env  # the harness drives the entry points itself

    def recording(fn: Any) -> Any:
        def kernel(op: Any, env: Any, *args: Any) -> Any:
            out = fn(op, env, *args)
            for r, v in zip(op.results, out if len(op.results) > 1 else (out,)):
                step.values[r] = v
            return out

        return kernel

    kernels = {cls: recording(fn) for cls, fn in REFERENCE.items()}
    x = np.random.default_rng(seed + 1).standard_normal((B, T, 16)).astype(np.float32)

    def run(entry: str, args: list[Any]) -> list[Any]:
        function = program.entry(entry)
        step.values.update(zip(function.body.block.args, args))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return Executor(function, kernels).run(env, args)

    run("forward", [x])
    _, *saved = run("train_forward", [x])
    run("train_backward", saved)
    step.sizes = dict(env.sizes)
    return step


def steps(kind: str) -> list[tuple[str, Step]]:
    out = [(f"{ex}/{rc}", record(ex, rc)) for ex in EXAMPLES for rc in RECIPES]
    out += [(f"zoo/{rc}", record_zoo(rc)) for rc in ZOO_RECIPES]
    if kind == "elementwise":
        # bf16 weights (optimizer_precision bf16): the forward reads them through nn.cast.
        out.append(("mlp/fp32-bf16-weights", record("mlp", BF16_WEIGHTS)))
    if kind == "reduce":  # bias gradients over enough rows that K is split among programs
        out += [(f"mlp/{rc}/B={LARGE_B}", record("mlp", rc, B=LARGE_B)) for rc in ("fp32", "bf16")]
    return out


def signature(group: Any) -> tuple:
    """What makes two groups compute the same thing: ops, properties, types, wiring."""
    inputs, _ = boundary(group)
    position = {r: i for i, op in enumerate(group.ops) for r in op.results}
    return tuple(
        (
            op.name,
            tuple(sorted((k, str(v)) for k, v in op.properties.items())),
            tuple(
                (position[o],) if o in position else ("in", inputs.index(o), str(o.type))
                for o in op.operands
            ),
            tuple(str(r.type) for r in op.results),
        )
        for op in group.ops
    )


def strided(x: Any) -> Any:
    """The same values as a non-contiguous view: a transposed copy, transposed back."""
    if x.data.dim() < 2:
        return x
    return KernelValue(x.data.transpose(0, -1).contiguous().transpose(0, -1), x.scale)


def compare(step: Step, value: Any, got: KernelValue) -> dict[str, Any]:
    """`Step.compare`, which needs rank >= 1 (and `to_kernel_value` makes a 0-d input 1-d):
    a 0-d result is compared as shape (1,) after its own shape check."""
    ref = step.values[value]
    want, _ = unpack(ref)
    if want.ndim:
        return step.compare(value, got)
    shape_ok = tuple(got.data.shape) == ()
    step.values[value] = as_1d(ref)
    try:
        report = step.compare(value, KernelValue(got.data.reshape(1), got.scale))
    finally:
        step.values[value] = ref
    return {**report, "shape_ok": report["shape_ok"] and shape_ok}


def as_1d(x: Any) -> Any:
    if isinstance(x, ScaledArray):
        return ScaledArray(x.data.reshape(1), x.scale)
    return np.asarray(x).reshape(1)


def bits(t: Any) -> tuple[tuple[int, ...], bytes]:
    return tuple(t.shape), bytes(t.contiguous().reshape(-1).view(torch.uint8).tolist())


def check(label: str, step: Step, group: Any, extra: Any) -> dict[str, Any]:
    """Generate ``group`` (through `generate_group`, the registered generator of its kind),
    run it on the recorded inputs and compare; ``extra`` adds what the bounds need."""
    src = step.source(group)
    outs = step.launch(src)
    module = load(src.name, src.source)
    args = [strided(to_kernel_value(step.values[v])) for v in src.inputs]
    again = module.launch(group.ops, dict(step.sizes), *args)
    same = all(bits(a.data) == bits(b.data) for a, b in zip(outs, again, strict=True))
    row: dict[str, Any] = {
        "step": label,
        "group": group.name,
        "ops": [op.name for op in group.ops],
        "formats": [format_of_value(v) for v in src.outputs],
        "outputs": [compare(step, v, got) for v, got in zip(src.outputs, outs, strict=True)],
        "strided_same": same,
    }
    return {**row, **extra(step, group, src, outs)}


EXACT_ROUNDING = ("broadcast", "index_grad", "slice_grad", "neg", "relu", "relu_grad")
"""Ops whose result the reference rounds without error (moves, sign flips, selections of
values already in the format)."""
APPROXIMATED = ("tanh", "sigmoid", "gelu", "gelu_grad")
"""Ops whose kernel formula differs from the reference's (exp/log under the interpreter are
NumPy's float32 functions, as the reference's: the same bits)."""


def elementwise_extra(step: Step, group: Any, src: KernelSource, outs: list) -> dict[str, Any]:
    root = group.ops[-1]
    ref, _ = unpack(step.values[src.outputs[0]])
    rms = float(np.sqrt(np.mean(np.square(ref.astype(np.float64))))) if ref.size else 0.0

    def lead(op: Any) -> float:
        """max |x| (gelu) or max |dy| (gelu_grad) over rms(output): the gelus' cancellation
        error is 0.375 eps32 times that."""
        name = op.name.split(".")[-1]
        if name not in ("gelu", "gelu_grad") or rms == 0:
            return 0.0
        value, _ = unpack(step.values[op.operands[0 if name == "gelu" else 1]])
        return float(np.max(np.abs(value), initial=0.0)) / rms

    return {
        "rounded": [
            format_of_value(op.results[0])
            for op in group.ops
            if op is not root and op.name.split(".")[-1] not in EXACT_ROUNDING
        ],
        "approximated": [
            {"op": op.name, "lead": lead(op)}
            for op in group.ops
            if op.name.split(".")[-1] in APPROXIMATED
        ],
    }


def run_checks(kind: str, extra: Any) -> None:
    """One JSON line per distinct group of ``kind`` (`check`), then a summary line."""
    # Masked-off lanes load 0.0: log(0) and 0/0 there are computed and never stored.
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="triton")
    seen: set[tuple] = set()
    start = time.perf_counter()
    for label, step in steps(kind):
        for group in step.groups(kind):
            key = (label if "B=" in label else "", signature(group))
            if key in seen:
                continue
            seen.add(key)
            print(json.dumps(check(label, step, group, extra)), flush=True)
    print(json.dumps({"done": len(seen), "seconds": time.perf_counter() - start}), flush=True)


if __name__ == "__main__":
    run_checks("elementwise", elementwise_extra)
