"""The group harness: run one training step of an example on the reference backend while
recording every value, then run a generated kernel group on the recorded values of its
inputs and compare its outputs with the recorded values of its outputs.

This is how every kernel kind is checked against the reference, on real activations and
gradients of the examples at small sizes::

    step = record("gpt", "fp8", B=2, T=8, D=32, HEADS=2, LAYERS=1)
    for src in step.sources():                      # every non-host group, all entries
        outs = step.launch(src)                     # under TRITON_INTERPRET=1
        for value, got in zip(src.outputs, outs):
            report = step.compare(value, got)       # {"max_ulps":..., "scale_ok":...}

Runs inside a ``TRITON_INTERPRET=1`` process (tests/lowering/interpret.py starts one) with
the interpreter patch applied (``runtime/backends/triton/interpreter_patch.py``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.scl_consts import with_consts
from scalc.dialects import scaled
from scalc.lowering.codegen import GenContext, KernelSource, generate_group, load
from scalc.lowering.codegen.abi import KernelValue, format_of_value
from scalc.lowering.partition import KernelGroup, KernelPlan, partition
from scalc.lowering.shapes import module_dims
from scalc.runtime.backends.reference import REFERENCE
from scalc.runtime.backends.reference.formats import format_of, value_of
from scalc.runtime.executor import Executor
from scalc.runtime.scaled_array import ScaledArray

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

SMALL = {
    "mlp": {"B": 8},
    "gpt": {"B": 2, "T": 8, "D": 32, "HEADS": 2, "LAYERS": 2, "VOCAB": 96, "MAX_T": 16},
}
"""Default small sizes per example: ``B``/``T`` are the run-time sizes, the rest override
the example's ``const`` declarations."""


def example_source(example: str, **consts: int) -> str:
    """``examples/<example>.scl`` with ``const NAME = ...`` lines replaced for ``consts``."""
    return with_consts((EXAMPLES / f"{example}.scl").read_text(), **consts)


def _inputs(example: str, sizes: dict[str, int], consts: dict[str, int], rng: Any) -> dict:
    if example == "mlp":
        B = sizes["B"]
        return {
            "x": rng.random((B, 64), dtype=np.float32),
            "y": rng.integers(0, 10, B).astype(np.int32),
        }
    B, T, vocab = sizes["B"], sizes["T"], consts.get("VOCAB", 96)
    return {
        "tokens": rng.integers(0, vocab, (B, T)).astype(np.int32),
        "targets": rng.integers(0, vocab, (B, T)).astype(np.int32),
    }


@dataclass
class Step:
    """One recorded training step (forward, train_forward, train_backward, optimizer_step)."""

    program: Any
    plan: KernelPlan
    ctx: GenContext
    sizes: dict[str, int]
    values: dict[Any, Any] = field(default_factory=dict)
    """SSA value -> its reference value (`ScaledArray` or NumPy array)."""

    def groups(self, kind: str | None = None) -> list[KernelGroup]:
        return [
            g
            for gs in self.plan.groups.values()
            for g in gs
            if g.kind != "host" and (kind is None or g.kind == kind)
        ]

    def source(self, group: KernelGroup) -> KernelSource:
        return generate_group(group, self.ctx)

    def launch(self, src: KernelSource) -> list[KernelValue]:
        """Import ``src`` and run its ``launch`` on the recorded values of its inputs."""
        module = load(src.name, src.source)
        args = [to_kernel_value(self.values[v]) for v in src.inputs]
        return list(module.launch(src.group.ops, dict(self.sizes), *args))

    def compare(self, value: Any, got: KernelValue) -> dict[str, Any]:
        """``got`` against the recorded ``value``: shapes, scales, and the largest error in
        units of the output format's epsilon relative to max(|ref|, the reference tensor's
        RMS) (``max_eps``), plus the count of non-finite mismatches."""
        ref = self.values[value]
        fmt = format_of_value(value)
        want, want_scale = unpack(ref)
        have, have_scale = from_kernel_value(got)
        out: dict[str, Any] = {
            "value": self.ctx.label(value),
            "format": fmt,
            "shape_ok": tuple(want.shape) == tuple(have.shape),
            "scale_ref": want_scale,
            "scale_got": have_scale,
        }
        if not out["shape_ok"]:
            out["shape_ref"], out["shape_got"] = list(want.shape), list(have.shape)
            return out
        if want.dtype.kind in "iu":
            out["mismatches"] = int((want != have).sum())
            return out
        w, h = np.atleast_1d(want.astype(np.float64)), np.atleast_1d(have.astype(np.float64))
        finite = np.isfinite(w) & np.isfinite(h)
        out["nonfinite_mismatches"] = int((np.isfinite(w) != np.isfinite(h)).sum())
        eps = _EPS.get(fmt, 2.0**-23)
        rms = float(np.sqrt(np.mean(w[finite] ** 2))) if finite.any() else 0.0
        denom = np.maximum(np.abs(w), rms) * eps
        denom[denom == 0] = 1.0
        err = np.where(finite, np.abs(w - h) / denom, 0.0)
        out["max_eps"] = float(err.max()) if err.size else 0.0
        out["exact"] = bool(np.array_equal(w[finite], h[finite]))
        return out


_EPS = {"f32": 2.0**-23, "bf16": 2.0**-7, "f16": 2.0**-10, "f8E4M3FN": 2.0**-3, "f8E5M2": 2.0**-2}
"""Machine epsilon (the gap above 1) of each format."""


def record(example: str, recipe: str, seed: int = 0, optimizer: str = "adamw", **overrides: int) -> Step:
    """Compile ``example`` with small sizes (`SMALL`, updated by ``overrides``) and run one
    training step and one forward on the reference backend, recording every value."""
    import scalc

    spec = {**SMALL[example], **overrides}
    sizes = {k: v for k, v in spec.items() if k in ("B", "T")}
    consts = {k: v for k, v in spec.items() if k not in ("B", "T")}
    program = scalc.compile(example_source(example, **consts), recipe=recipe, optimizer=optimizer)
    module = program.train
    plan = partition(module)
    step = Step(program, plan, GenContext(plan.names, module_dims(module)), sizes)
    session = program.session(backend="reference", seed=seed)
    env = session._env  # noqa: SLF001  (the harness drives the entry points itself)
    kernels = {cls: _recording(fn, step.values) for cls, fn in REFERENCE.items()}
    rng = np.random.default_rng(seed + 1)
    inputs = _inputs(example, sizes, consts, rng)

    def run(entry: str, args: list[Any]) -> list[Any]:
        executor = Executor(program.entry(entry), kernels)
        for arg, value in zip(program.entry(entry).body.block.args, args):
            step.values[arg] = value
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return executor.run(env, args)

    fwd = program.entry("forward")
    names = [a.data.get("nn.input").data for a in fwd.arg_attrs.data]  # type: ignore[union-attr]
    run("forward", [inputs[n] for n in names])
    tf = program.entry("train_forward")
    names = [a.data.get("nn.input").data for a in tf.arg_attrs.data]  # type: ignore[union-attr]
    loss, *saved = run("train_forward", [inputs[n] for n in names])
    grads = run("train_backward", saved)
    by_param = dict(zip(Executor(program.entry("train_backward"), kernels).result_names, grads))
    opt = Executor(program.entry("optimizer_step"), kernels)
    lr = np.asarray(1e-3, np.float32)
    run("optimizer_step", [lr if s.grad is None else by_param[s.grad] for s in opt.args])
    step.sizes = dict(env.sizes)
    return step


def _recording(fn: Any, store: dict[Any, Any]) -> Any:
    def kernel(op: Any, env: Any, *args: Any) -> Any:
        out = fn(op, env, *args)
        if len(op.results) == 1:
            store[op.results[0]] = out
        elif op.results:
            for r, v in zip(op.results, out):
                store[r] = v
        return out

    return kernel


# --- conversions between the reference's values and kernel values -----------------------


def to_kernel_value(x: Any) -> KernelValue:
    """A reference value as a `KernelValue` on CPU (a copy: kernels never see the
    reference's arrays)."""
    if isinstance(x, ScaledArray):
        return KernelValue(to_torch(x.data), x.scale)
    return KernelValue(to_torch(np.asarray(x)), None)


def to_torch(a: np.ndarray) -> Any:
    """A copy of ``a`` as a CPU torch tensor (the runtime's conversion, on a copy)."""
    from scalc.runtime.backends.triton import convert

    return convert.to_torch(np.array(a, copy=True, order="C"), "cpu")


def to_numpy(t: Any) -> np.ndarray:
    """A torch tensor as a NumPy array in the matching ml_dtypes dtype (the runtime's)."""
    from scalc.runtime.backends.triton import convert

    return convert.to_numpy(t)


def unpack(x: Any) -> tuple[np.ndarray, float | None]:
    """(fp32 value, scale) of a reference value; integers as they are."""
    if isinstance(x, ScaledArray):
        return x.value(), x.scale
    a = np.asarray(x)
    return (a, None) if a.dtype.kind in "iub" else (value_of(a), None)


def from_kernel_value(k: KernelValue) -> tuple[np.ndarray, float | None]:
    a = to_numpy(k.data)
    if a.dtype.kind in "iub":
        return a, k.scale
    v = value_of(a)
    if k.scale is not None and k.scale != 1.0:
        v = v * np.float32(k.scale)
    return v, k.scale


def finite_scale(s: float | None) -> bool:
    return s is None or math.isfinite(s)


def is_scaled(value: Any) -> bool:
    return isinstance(value.type, scaled.ScaledTensorType)


def fmt(value: Any) -> Any:
    return format_of(format_of_value(value))
