"""Run the generated elementwise kernels (lowering/emit_triton.py) of examples/gpt.scl
(``--recipe fp8``) under Triton's CPU interpreter against the reference; print one JSON
line per supported group. Started by test_emit_elementwise.py in a subprocess
(``TRITON_INTERPRET=1`` must be set before ``triton`` is imported).

Per group, on random inputs (bf16 data, random power-of-two scales, B=2, T=8 for the
symbolic dims):
- ``fp32``: the kernel's fp32 outputs against the ``nn`` reference kernels run op by op
  on the same fp32 values (no rounding between ops, as the kernel);
- ``scaled``: the host-finished outputs (scale rule + ``round_to(value / scale)``)
  against the ``scaled`` reference kernels (``mirrored``) run op by op on the
  `ScaledArray`s: scale equality and data mismatches.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

assert os.environ.get("TRITON_INTERPRET") == "1", "run with TRITON_INTERPRET=1"
sys.path.insert(0, str(Path(__file__).parent))
from scalc.runtime.backends.triton import interpreter_patch  # noqa: F401  (bf16 rounding like the GPU; the kernel is fp32-out)
import ml_dtypes
import torch

from scalc.dialects import scaled
from scalc.driver import run_stages
from scalc.lowering.emit_triton import (
    GeneratedKernel,
    NotSupported,
    emit_elementwise,
    launch,
    output_scales,
)
from scalc.passes.recipes import resolve_recipe
from scalc.runtime.backends.reference import RefEnv
from scalc.runtime.backends.reference.formats import value_of
from scalc.runtime.backends.reference.registry import REFERENCE
from scalc.runtime.backends.reference.scaled import NN_OF
from scalc.runtime.scaled_array import ScaledArray

REPO = Path(__file__).resolve().parents[2]
B, T = 2, 8
POSITIVE = (scaled.LogOp, scaled.SqrtOp, scaled.SqrtGradOp)


def finish(gen: GeneratedKernel, values: Sequence[np.ndarray], scales: Sequence[float]):
    """The outputs as `ScaledArray`s: ``round_to(value / scale)`` in each result's format
    (host-side finishing, which belongs to the runtime, not to the lowering)."""
    from scalc.runtime.backends.reference.formats import format_of, round_to
    from scalc.runtime.scaled_array import ScaledArray

    out = []
    for v, s, r in zip(values, scales, gen.outputs, strict=True):
        value = np.asarray(v, np.float32)
        if s != 1.0:
            value = value / np.float32(s)
        out.append(ScaledArray(round_to(value, format_of(r.type.get_element_type())), s))
    return out


def concrete(shape: tuple[int, ...]) -> tuple[int, ...]:
    dyn = [i for i, d in enumerate(shape) if d < 0]
    fill = [B, T] if len(dyn) == 2 else [B * T] * len(dyn)
    out = list(shape)
    for i, d in zip(dyn, fill, strict=False):
        out[i] = d
    return tuple(out)


def supported_groups():
    path = REPO / "examples" / "gpt.scl"
    result = run_stages(path.read_text(), "examples/gpt.scl", "kernels", None,
                        resolve_recipe("fp8"))  # fmt: skip
    plan = result.compilation.kernels
    out, refused = [], []
    for groups in plan.groups.values():
        for g in groups:
            if g.kind != "elementwise":
                continue
            try:
                out.append((g, emit_elementwise(g, plan.names)))
            except NotSupported as err:
                refused.append(str(err))
    return out, refused


def run_group(group, gen, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    shape = concrete(tuple(gen.inputs[0].type.get_shape()))
    positive = any(isinstance(op, POSITIVE) for op in gen.ops)
    ins = []
    for _ in gen.inputs:
        x = rng.standard_normal(shape) * 2.0
        if positive:
            x = np.abs(x) + 0.25
        scale = float(2.0 ** rng.integers(-6, 7))
        ins.append(ScaledArray((x / scale).astype(np.float32).astype(ml_dtypes.bfloat16), scale))
    values = [x.value() for x in ins]  # fp32 data * scale: what the host hands the kernel

    got = [o.numpy() for o in launch(gen, *(torch.from_numpy(v.copy()) for v in values))]

    env = RefEnv()
    fp32 = dict(zip(gen.inputs, values, strict=True))
    ref_scaled = dict(zip(gen.inputs, ins, strict=True))
    for op in gen.ops:
        out = REFERENCE[NN_OF[type(op)]](op, env, *(fp32[v] for v in op.operands))
        fp32[op.results[0]] = np.asarray(out, np.float32)
        ref_scaled[op.results[0]] = REFERENCE[type(op)](
            op, env, *(ref_scaled[v] for v in op.operands)
        )

    # fp32 comparison: error in units of fp32 rounding of the operand magnitude
    # (eps * (|want| + max |input value|) per element).
    mag = np.max([np.abs(v) for v in values], axis=0)
    worst_rel, exact = 0.0, True
    for g, v in zip(got, gen.outputs, strict=True):
        want = fp32[v]
        exact &= bool(np.array_equal(g, want))
        err = np.abs(g.astype(np.float64) - want) / (
            np.finfo(np.float32).eps * (np.abs(want) + mag)
        )
        worst_rel = max(worst_rel, float(err.max()))

    scales = output_scales(gen, [x.scale for x in ins], shape)
    finished = finish(gen, got, scales)
    scale_equal, mismatches, beyond = True, 0, 0
    eps = float(np.finfo(np.float32).eps)
    for f, v in zip(finished, gen.outputs, strict=True):
        r = ref_scaled[v]
        scale_equal &= f.scale == r.scale
        a, b = value_of(f.data), value_of(r.data)
        mismatches += int((a.view(np.uint32) != b.view(np.uint32)).sum())
        # A differing element may differ by one step of the result format (the two fp32
        # values straddle a rounding boundary) plus the fp32 discrepancy itself.
        step = np.abs(b.astype(np.float64)) * 2.0**-7 + 2.0**-133  # bf16: 8-bit mantissa
        allowed = step + 2 * eps * (np.abs(fp32[v]) + mag) / f.scale
        beyond += int((np.abs(a.astype(np.float64) - b) > allowed).sum())
    return {
        "group": group.name,
        "entry": group.entry,
        "ops": [op.name for op in gen.ops],
        "shape": list(shape),
        "fp32_exact": exact,
        "fp32_err_eps": worst_rel,
        "scale_equal": bool(scale_equal),
        "mismatches": mismatches,
        "beyond_one_step": beyond,
        "elements": int(np.prod(shape)) * len(gen.outputs),
    }


if __name__ == "__main__":
    groups, refused = supported_groups()
    print(json.dumps({"refused": refused, "supported": [g.name for g, _ in groups]}), flush=True)
    for i, (g, gen) in enumerate(groups):
        print(json.dumps(run_group(g, gen, i)), flush=True)
