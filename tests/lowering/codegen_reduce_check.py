"""Run the generated kernel of every ``reduce`` group under Triton's CPU interpreter against
the reference; print one JSON line per distinct group. Started by test_codegen_reduce.py
in a subprocess (``TRITON_INTERPRET=1`` must be set before ``triton`` is imported).

The groups: those of the recorded steps of codegen_elementwise_check.py (the examples
under four recipes, the zoo model, and the mlp's bias gradients at B = 2048, where K is
split among programs), then `SYNTHETIC` single-op groups on hand-made inputs for what no
example produces: ``scaled.amax`` (bf16, f8E4M3FN, a NaN, an empty tensor),
``scaled.update_history`` (first step, a full history, a NaN in it), reductions over a
middle axis or non-adjacent axes with and without keepdims (the input is copied into the
``[M, K]`` view), a NaN in a max, a row longer than ``BLOCK_K``, and one output over
21000 elements (K split in 37).

Besides the harness's comparison (`Step.compare`) a sum or mean reports, in the units of
``max_eps`` (eps of the output format times max(|ref|, rms(ref))), the largest over its
outputs of:
- ``order_eps``: ``2 (K - 1) u sum|x|``: how far two fp32 summation orders of K terms
  may be apart (each is within ``(K - 1) u sum|x|`` of the exact sum; u = 2^-24; a mean
  divides ``sum|x|`` by K);
- ``exact_err_eps``: the kernel's distance to the exact (float64) sum or mean, and
  ``exact_bound_eps``: its bound, ``d u sum|x|`` with ``d`` the additions any output's
  partial sums go through in the kernel (`depth`), plus half an ulp for the final
  rounding into a non-f32 output and half for a mean's division.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.lowering.codegen_elementwise_check import check, run_checks  # noqa: I001  (patches first)

import ml_dtypes
import numpy as np
from xdsl.dialects.builtin import TensorType, bf16, f8E4M3FN, f32
from xdsl.ir import Block

from scalc.dialects import nn, scaled
from scalc.dialects.scaled import ScaledTensorType
from scalc.dialects.scaled.mirror import build_mirror
from scalc.lowering.codegen import GenContext, KernelSource, load
from scalc.lowering.codegen.abi import format_of_value
from scalc.lowering.partition import KernelGroup
from scalc.runtime.backends.reference import RefEnv, evaluate
from scalc.runtime.scaled_array import ScaledArray
from tests.lowering.groups import Step, unpack

U = 2.0**-24
"""The unit roundoff of fp32."""
EPS = {"f32": 2.0**-23, "bf16": 2.0**-7}


def depth(module: Any, m: int, k: int) -> int:
    """How many fp32 additions an output's partial sums go through in the kernel, at most:
    one per loop step of its split, any order within the BLOCK_K lanes of a tile row,
    and, with more than one split, the second launch over the splits likewise."""
    splits, k_per_split = module.split(m, k)
    steps = math.ceil(k_per_split / module.BLOCK_K)
    second = math.ceil(splits / module.BLOCK_K) + module.BLOCK_K if splits > 1 else 0
    return steps + module.BLOCK_K + second


def reduce_extra(step: Step, group: Any, src: KernelSource, outs: list) -> dict[str, Any]:
    (op,) = group.ops
    if "axes" not in op.properties or op.name.split(".")[-1] == "max":
        return {}
    x, _ = unpack(step.values[op.operands[0]])
    ref, _ = unpack(step.values[src.outputs[0]])
    (got,) = outs
    axes = tuple(op.properties["axes"].get_values())
    k = math.prod(x.shape[a] for a in axes)
    m = x.size // max(k, 1)
    mean = op.name.split(".")[-1] == "mean"
    wide = x.astype(np.float64)
    exact = (np.mean if mean else np.sum)(wide, axis=axes).reshape(ref.shape)
    mass = np.sum(np.abs(wide), axis=axes).reshape(ref.shape) / (k if mean else 1)
    fmt = format_of_value(src.outputs[0])
    eps = EPS[fmt]
    ref = ref.astype(np.float64)
    rms = float(np.sqrt(np.mean(ref**2))) if ref.size else 0.0
    denom = np.maximum(np.maximum(np.abs(ref), rms) * eps, 1e-300)
    have = unpack_kernel_value(got).reshape(ref.shape)
    d = depth(load(src.name, src.source), m, k)
    final = (0.5 if fmt != "f32" else 0.0) + (0.5 * EPS["f32"] / eps if mean else 0.0)
    return {
        "order_eps": float(np.max(2 * max(k - 1, 0) * U * mass / denom, initial=0.0)),
        "exact_err_eps": float(np.max(np.abs(have - exact) / denom, initial=0.0)),
        "exact_bound_eps": float(np.max(d * U * mass / denom, initial=0.0)) + final,
        "splits": load(src.name, src.source).split(m, k)[0],
    }


def unpack_kernel_value(k: Any) -> np.ndarray:
    from tests.lowering.groups import from_kernel_value

    value, _ = from_kernel_value(k)
    return value.astype(np.float64)


# --- single-op groups on hand-made inputs ---------------------------------------------


def scaled_input(shape: tuple[int, ...], fmt: Any, scale: float, seed: int) -> ScaledArray:
    dtype = {bf16: ml_dtypes.bfloat16, f8E4M3FN: ml_dtypes.float8_e4m3fn, f32: np.float32}[fmt]
    data = np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * 3
    return ScaledArray(data.astype(dtype), scale)


def with_nan(x: Any, at: tuple[int, ...]) -> Any:
    data = np.array(x.data if isinstance(x, ScaledArray) else x)
    data[at] = np.nan
    return ScaledArray(data, x.scale) if isinstance(x, ScaledArray) else data


def reduction(cls: type, x: Any, shape: tuple[int, ...], axes: list[int], keepdims: bool) -> Any:
    """A `cls` op (nn or scaled) over ``axes`` of a ``shape`` argument, and its operand."""
    fmt = bf16 if isinstance(x, ScaledArray) else f32
    out = [1 if a in axes else s for a, s in enumerate(shape) if keepdims or a not in axes]
    if cls in (nn.SumOp, nn.MeanOp, nn.MaxOp):
        (arg,) = Block(arg_types=[TensorType(f32, shape)]).args
        return cls(arg, axes, TensorType(f32, out), keepdims=keepdims), arg
    (arg,) = Block(arg_types=[ScaledTensorType(fmt, shape)]).args
    nn_cls = {scaled.SumOp: nn.SumOp, scaled.MeanOp: nn.MeanOp, scaled.MaxOp: nn.MaxOp}[cls]
    props: dict[str, Any] = {"axes": axes, **({"keepdims": True} if keepdims else {})}
    return build_mirror(nn_cls, [arg], [ScaledTensorType(fmt, out)], props), arg


def amax(x: ScaledArray) -> Any:
    fmt = {"bfloat16": bf16, "float8_e4m3fn": f8E4M3FN, "float32": f32}[x.data.dtype.name]
    (arg,) = Block(arg_types=[ScaledTensorType(fmt, x.shape)]).args
    return scaled.AmaxOp(arg), arg


def update_history(h: np.ndarray) -> Any:
    hist, top = Block(arg_types=[TensorType(f32, h.shape), TensorType(f32, [])]).args
    return scaled.UpdateHistoryOp(hist, top), (hist, top)


def synthetic() -> list[tuple[str, Any, tuple, tuple]]:
    """(label, op, operand values, operand SSA values)."""
    rng = np.random.default_rng(7)
    cases: list[tuple[str, Any, tuple, tuple]] = []

    def add(label: str, built: Any, *values: Any) -> None:
        op, args = built
        cases.append((label, op, values, args if isinstance(args, tuple) else (args,)))

    x = scaled_input((37, 50), bf16, 2.0**-3, 1)
    add("amax bf16", amax(x), x)
    add("amax NaN", amax(with_nan(x, (5, 7))), with_nan(x, (5, 7)))
    q = scaled_input((64, 33), f8E4M3FN, 0.5, 2)
    add("amax f8E4M3FN", amax(q), q)
    e = scaled_input((0, 5), bf16, 1.0, 3)
    add("amax empty", amax(e), e)
    h = np.abs(rng.standard_normal(16)).astype(np.float32)
    a = np.asarray(2.5, np.float32)
    add("update_history first step", update_history(h), np.zeros(16, np.float32), a)
    add("update_history", update_history(h), h, a)
    add("update_history NaN", update_history(h), with_nan(h, (3,)), a)
    v = rng.standard_normal((6, 7, 9)).astype(np.float32)
    s = scaled_input((6, 7, 9), bf16, 4.0, 4)
    add("nn.sum axis 1 keepdims", reduction(nn.SumOp, v, v.shape, [1], True), v)
    add("scaled.mean axes 0, 2", reduction(scaled.MeanOp, s, s.shape, [0, 2], False), s)
    add("nn.max axes 0, 2 keepdims NaN", reduction(nn.MaxOp, v, v.shape, [0, 2], True),
        with_nan(v, (2, 3, 4)))  # fmt: skip
    w = scaled_input((5, 3, 70), bf16, 0.25, 5)
    add("scaled.max axis 2", reduction(scaled.MaxOp, w, w.shape, [2], False), w)
    big = rng.standard_normal((3000, 7)).astype(np.float32)
    add("nn.sum all of 21000", reduction(nn.SumOp, big, big.shape, [0, 1], False), big)
    sb = scaled_input((3000, 7), bf16, 2.0, 6)
    add("scaled.mean all of 21000", reduction(scaled.MeanOp, sb, sb.shape, [0, 1], False), sb)
    return cases


def run_synthetic() -> None:
    for i, (label, op, values, args) in enumerate(synthetic()):
        step = Step(None, None, GenContext({}, {}), {})
        step.values.update(zip(args, values))
        out = evaluate(op, RefEnv(), *values)
        step.values.update(zip(op.results, out if len(op.results) > 1 else (out,)))
        group = KernelGroup(f"k{i}_reduce_{op.name.split('.')[-1]}", "reduce", "synthetic", [op])
        print(json.dumps(check(label, step, group, reduce_extra)), flush=True)


if __name__ == "__main__":
    run_checks("reduce", reduce_extra)
    run_synthetic()
