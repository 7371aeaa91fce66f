"""Run the generated module of every ``gemm`` kernel group of the examples under Triton's
CPU interpreter on the values the reference backend recorded for one training step
(tests/lowering/groups.py), and print one JSON line per group output with the comparison
(``shape_ok``, ``scale_ref``/``scale_got``, ``max_eps``, ``exact``, ``nonfinite_mismatches``;
for an amax: ``amax_ref``/``amax_got``). Started by test_codegen_gemm.py in a subprocess
(``TRITON_INTERPRET=1`` must be set before ``triton`` is imported).

Argument: a JSON list of ``[example, recipe]`` or ``[example, recipe, {size overrides}]``.
Groups whose signature (`signature`: ops, types, input shapes) repeats an earlier group's
of the same example and recipe (the gpt's layers, ``@forward`` and ``@train_forward``) run
once: their line says ``"same_as"``. Each distinct group runs twice: on the recorded
(contiguous) values, and on the same values laid out transposed (every matrix column-major,
so B is K-major, an N-D A cannot fold its batch into M and goes through the batch grid,
and vectors strided by 2), which must give the same result bit for bit
(``transposed_identical``): the kernel reads any strides and sums in the same order.

Each line also gives what test_codegen_gemm.py derives its bound from, with ``K``, in the
units of ``max_eps`` (the output format's epsilon times max(|ref|, rms(ref))), maximised
over the elements:
- ``skipped_roundings``: how many of the reference's roundings of intermediates into a
  format narrower than fp32 the fused kernel skips (the matmul result and each epilogue
  result but the last), and ``rounding_eps``: the most they move the output, each at most
  half an epsilon of its format times the intermediate's magnitude (the reference's
  recorded value) times the slope of the ops after it (`SLOPES`);
- ``summation_eps``: the classical bound on the fp32 summation-order difference between
  the kernel and the reference, ``2 K 2^-24 sum_k |a_ik| |b_kj|`` times the epilogue's
  slope.
An amax line also gives ``amax_stored``: ``max |data| * scale`` of the output the kernel
stored, which the fused amax must equal exactly, and ``of``, the value it measures.

Groups with an amax run a third time with a NaN in A (``layout: "nan"``): the reference's
amax is then NaN, and so must the kernel's be (``amax_got`` is reported).

Only the gemm generator is used (`generate_gemm`), not `generate_group`: this check does
not depend on the other kinds' generators.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

assert os.environ.get("TRITON_INTERPRET") == "1", "run with TRITON_INTERPRET=1"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import numpy as np
import torch

from scalc.dialects import nn, scaled
from scalc.lowering.codegen import KernelSource, boundary, load
from scalc.lowering.codegen.abi import KernelValue, format_of_value
from scalc.lowering.codegen.gemm import generate_gemm
from scalc.runtime.backends.triton import interpreter_patch  # patches it on import
from scalc.runtime.scaled_array import ScaledArray
from tests.lowering.groups import _EPS as EPS
from tests.lowering.groups import Step, record, to_kernel_value, unpack

assert interpreter_patch.is_applied()

_NOT_COUNTED = (scaled.BroadcastOp, nn.BroadcastOp, scaled.AmaxOp)
SLOPES = {"gelu": 1.13, "gelu_grad": 1.13}
"""The largest |d out / d in| of an epilogue op along the matmul result, where it is not
at most 1 (add, sub, relu, relu_grad: 1; div: by attention's sqrt(DH) >= 1): gelu's
derivative Phi(x) + x phi(x) peaks at 1.129 (x = sqrt 2); gelu_grad is dy times it."""


def transposed(x: KernelValue) -> KernelValue:
    """The same values in another layout: the last two dims column-major, a vector strided
    by 2 (no 0-d change)."""
    t = x.data
    if t.dim() >= 2:
        t = t.transpose(-1, -2).contiguous().transpose(-1, -2)
    elif t.dim() == 1:
        wide = torch.zeros((t.shape[0], 2), dtype=t.dtype)
        wide[:, 0] = t
        t = wide[:, 0]
    return KernelValue(t, x.scale)


def signature(step: Step, src: KernelSource) -> tuple:
    """What makes two groups run the same kernel on the same kind of data: the ops, where
    each operand comes from (an op of the group or an input), the types, and the inputs'
    shapes, formats and whether they are scaled."""
    position = {v: f"in{i}" for i, v in enumerate(src.inputs)}
    ops = []
    for i, op in enumerate(src.group.ops):
        ops.append((op.name, tuple(position[v] for v in op.operands), str(op.results[0].type)))
        position[op.results[0]] = f"op{i}"
    inputs = []
    for v in src.inputs:
        ref = step.values[v]
        data = ref.data if isinstance(ref, ScaledArray) else np.asarray(ref)
        inputs.append((tuple(data.shape), format_of_value(v), isinstance(ref, ScaledArray)))
    return tuple(ops), tuple(inputs)


def skipped_roundings(src: KernelSource) -> int:
    """The reference's roundings of intermediate results into a format narrower than fp32
    that the fused kernel does not do."""
    counted = [op for op in src.group.ops if not isinstance(op, _NOT_COUNTED)]
    return sum(format_of_value(op.results[0]) != "f32" for op in counted[:-1])


def slope_after(src: KernelSource, index: int) -> float:
    """The largest |d out / d x| of the ops after ``src.group.ops[index]``, along the chain."""
    return math.prod(SLOPES.get(op.name.split(".")[1], 1.0) for op in src.group.ops[index + 1 :])


def error_bounds(step: Step, src: KernelSource, value) -> dict[str, float]:
    """``summation_eps`` and ``rounding_eps`` of ``value`` (module docstring)."""
    ref = unpack(step.values[value])[0].astype(np.float64)
    if not ref.size:
        return {"summation_eps": 0.0, "rounding_eps": 0.0}
    finite = np.isfinite(ref)
    rms = float(np.sqrt(np.mean(ref[finite] ** 2))) if finite.any() else 0.0
    eps = EPS.get(format_of_value(value), 2.0**-23)
    denom = np.maximum(np.maximum(np.abs(ref), rms) * eps, np.finfo(np.float64).tiny)
    ops = src.group.ops
    a, b = (unpack(step.values[v])[0].astype(np.float64) for v in ops[0].operands)
    summation = 2 * a.shape[-1] * 2.0**-24 * np.matmul(np.abs(a), np.abs(b)) * slope_after(src, 0)
    rounding = np.zeros_like(ref)
    counted = [i for i, op in enumerate(ops) if not isinstance(op, _NOT_COUNTED)]
    for i in counted[:-1]:
        fmt = format_of_value(ops[i].results[0])
        if fmt != "f32":
            middle = np.abs(unpack(step.values[ops[i].results[0]])[0].astype(np.float64))
            rounding = rounding + 0.5 * EPS[fmt] * middle * slope_after(src, i)
    return {
        "summation_eps": float(np.max(summation / denom)),
        "rounding_eps": float(np.max(rounding / denom)),
    }


def stored_amax(got: KernelValue) -> float:
    """``max |data| * scale`` of a stored output, as the reference's amax computes it."""
    data = got.data.float()
    top = float(data.abs().max()) if data.numel() else 0.0
    return float(np.float32(top) * np.float32(got.scale if got.scale is not None else 1.0))


def compare_amax(step: Step, value, got: KernelValue, stored: KernelValue | None) -> dict:
    """An amax (0-d fp32, scale None) against the reference's (NaN equals NaN)."""
    want = float(np.asarray(step.values[value]))
    have = float(got.data)
    same = (want == have) or (math.isnan(want) and math.isnan(have))
    return {
        **({"amax_stored": stored_amax(stored)} if stored is not None else {}),
        "value": step.ctx.label(value),
        "of": step.ctx.label(value.owner.operands[0]),
        "format": "f32",
        "shape_ok": tuple(got.data.shape) == (),
        "scale_ref": None,
        "scale_got": got.scale,
        "amax_ref": want,
        "amax_got": have,
        "exact": same,
    }


def identical(x: KernelValue, y: KernelValue) -> bool:
    """Same bits (NaN included) and the same scale."""

    def bits(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(-1).contiguous().view(torch.uint8)

    same_scale = x.scale == y.scale or (x.scale != x.scale and y.scale != y.scale)
    return same_scale and torch.equal(bits(x.data), bits(y.data))


def run(step: Step, src: KernelSource, layout: str) -> tuple[list[KernelValue], float]:
    module = load(src.name, src.source)
    args = [to_kernel_value(step.values[v]) for v in src.inputs]
    if layout == "transposed":
        args = [transposed(a) for a in args]
    if layout == "nan":
        data = args[0].data.clone()
        data.view(-1)[0] = float("nan")
        args[0] = KernelValue(data, args[0].scale)
    start = time.perf_counter()
    outs = list(module.launch(src.group.ops, dict(step.sizes), *args))
    return outs, time.perf_counter() - start


def main(cases: list[list[str]]) -> None:
    for example, recipe, *overrides in cases:
        sizes = overrides[0] if overrides else {}
        step = record(example, recipe, **sizes)
        seen: dict[tuple, list] = {}  # per case: each recipe is checked on its own values
        for group in step.groups("gemm"):
            src = KernelSource(group, generate_gemm(group, step.ctx), *boundary(group))
            head = {
                "example": example, "recipe": recipe, "sizes": sizes, "group": group.name,
                "entry": group.entry, "ops": [op.name for op in group.ops],
                "skipped_roundings": skipped_roundings(src),
                "K": int(to_kernel_value(step.values[src.inputs[0]]).data.shape[-1]),
            }  # fmt: skip
            key = signature(step, src)
            if key in seen:
                print(json.dumps({**head, "same_as": seen[key]}), flush=True)
                continue
            seen[key] = [example, recipe, sizes, group.entry, group.name]
            outs, seconds = run(step, src, "contiguous")
            again, seconds_t = run(step, src, "transposed")
            assert len(outs) == len(src.outputs), (group.name, len(outs))
            stored = dict(zip(src.outputs, outs))
            for value, got, got_t in zip(src.outputs, outs, again):
                if isinstance(value.owner, scaled.AmaxOp):
                    report = compare_amax(step, value, got, stored.get(value.owner.operands[0]))
                else:
                    report = step.compare(value, got)
                    report.update(error_bounds(step, src, value))
                print(json.dumps({
                    **head, "seconds": round(seconds + seconds_t, 3),
                    "transposed_identical": identical(got, got_t),
                    **report,
                }), flush=True)  # fmt: skip
            amax = [v for v in src.outputs if isinstance(v.owner, scaled.AmaxOp)]
            if amax:
                outs, _ = run(step, src, "nan")
                got = outs[src.outputs.index(amax[0])]
                print(json.dumps({
                    **head, "layout": "nan", "value": step.ctx.label(amax[0]),
                    "amax_got": float(got.data),
                }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
