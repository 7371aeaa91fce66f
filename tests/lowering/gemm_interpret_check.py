"""Run the FP8 GEMM template under Triton's CPU interpreter against the reference
``scaled.matmul`` and print one JSON line per case. Started by test_gemm_interpret.py in a
subprocess: ``TRITON_INTERPRET=1`` must be set before ``triton`` is imported.

What the check leaves to the reference, around Triton 3.9 interpreter gaps:
- the FP8 inputs are quantised on the host by the reference (amax rescale + ``round_to``),
  never by a cast inside a kernel (the interpreter's fp32 -> fp8 cast truncates ~8% of
  values and does not saturate);
- the output is compared in fp32, ``data_out`` before its final rounding, i.e. against a
  ``scaled.matmul`` whose result type is f32 (the generated kernels, which round in the
  kernel, are checked in codegen_gemm_check.py);
- E5M2 operands hold no subnormals, so the check means the same without the interpreter
  patch (whose ``tl.dot`` reads them right): each case reports how many it has, and the
  test asserts zero.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

assert os.environ.get("TRITON_INTERPRET") == "1", "run with TRITON_INTERPRET=1"

import torch
from xdsl.dialects.builtin import TensorType, bf16, f8E4M3FN, f8E5M2, f32
from xdsl.ir import Block

from scalc.dialects import scaled
from scalc.dialects.scaled import ScaledTensorType as S
from scalc.lowering.templates.gemm import gemm_configs, scaled_matmul
from scalc.runtime.backends.reference import RefEnv, evaluate
from scalc.runtime.backends.reference.formats import round_to, value_of
from scalc.runtime.backends.triton import interpreter_patch  # noqa: F401  (patches on import)

FORMATS = {"e4m3": (f8E4M3FN, torch.float8_e4m3fn), "e5m2": (f8E5M2, torch.float8_e5m2)}
E5M2_MIN_NORMAL = 2.0**-14


def run(op, *operands):
    return evaluate(op, RefEnv(), *operands)


def quantise(x: np.ndarray, fmt) -> object:
    """Reference dynamic scaling: from_tensor -> amax -> rescale {target = fmt max} -> cast."""
    shape = list(x.shape)
    (t,) = Block(arg_types=[TensorType(f32, shape)]).args
    s = run(scaled.FromTensorOp(t, S(f32, shape)), x)
    (v,) = Block(arg_types=[S(f32, shape)]).args
    amax = run(scaled.AmaxOp(v), s)
    v, r = Block(arg_types=[S(f32, shape), TensorType(f32, [])]).args
    s = run(scaled.RescaleOp(v, r, scaled.F8_MAX[fmt], 0), s, amax)
    (v,) = Block(arg_types=[S(f32, shape)]).args
    return run(scaled.CastOp(v, S(fmt, shape)), s)


def case(
    M: int, N: int, K: int, b_name: str, config_index: int | None, seed: int, data: str
) -> dict:
    """``data="gaussian"``: standard normal inputs; ``"integer"``: integers in [-8, 8]
    (exact in both FP8 formats), so every partial sum is an integer below 2^24 and the
    fp32 result is exact in any summation order: the kernel must match bit for bit."""
    rng = np.random.default_rng(seed)
    b_fmt, b_torch = FORMATS[b_name]
    if data == "gaussian":
        a, b = rng.standard_normal((M, K)), rng.standard_normal((K, N))
    else:
        a, b = rng.integers(-8, 9, (M, K)), rng.integers(-8, 9, (K, N))
    qa = quantise(a.astype(np.float32), f8E4M3FN)
    qb = quantise(b.astype(np.float32), b_fmt)

    # Reference scaled.matmul with an f32 result: data_out = value_out / scale_out.
    x, y = Block(arg_types=[S(f8E4M3FN, [M, K]), S(b_fmt, [K, N])]).args
    ref = run(scaled.MatmulOp(x, y, S(f32, [M, N])), qa, qb)
    alpha = qa.scale * qb.scale / ref.scale

    # The kernel's operands: A as stored, B transposed to K-major (N, K).
    a_q = torch.from_numpy(qa.data.view(np.uint8).copy()).view(torch.float8_e4m3fn)
    b_q_t = torch.from_numpy(np.ascontiguousarray(qb.data.T).view(np.uint8)).view(b_torch)
    config = None if config_index is None else gemm_configs(1)[config_index]
    out, amax = scaled_matmul(a_q, b_q_t, alpha, amax=True, config=config)
    out = out.numpy()

    expected = ref.data.astype(np.float64)
    # fp32 accumulation-order error bound per element: K * eps32 * sum_k |a_ik b_kj| * alpha.
    abs_products = (
        np.abs(value_of(qa.data)).astype(np.float64) @ np.abs(value_of(qb.data)).astype(np.float64)
    ) * alpha
    row_norms = np.linalg.norm(expected, axis=1, keepdims=True)
    b_values = np.abs(value_of(qb.data))

    # bf16 result: the host rounds the kernel's fp32 output (round_to, as the reference).
    # It may differ from the reference's bf16 data only where the fp32 values differ
    # (accumulation order moved the value across a rounding boundary), by one bf16 step.
    ref_bf16 = run(scaled.MatmulOp(x, y, S(bf16, [M, N])), qa, qb)
    assert ref_bf16.scale == ref.scale
    got_bf16 = value_of(round_to(out, bf16)).astype(np.float64)
    want_bf16 = value_of(ref_bf16.data).astype(np.float64)
    differ = got_bf16 != want_bf16
    one_step = np.abs(got_bf16 - want_bf16) <= np.abs(want_bf16) * 2.0**-7
    return {
        "shape": [M, N, K],
        "b": b_name,
        "data": data,
        "config": config_index,
        "alpha": alpha,
        "max_rel_err_rows": float(np.max(np.abs(out - expected) / np.maximum(row_norms, 1e-30))),
        "max_err_over_bound": float(
            np.max(np.abs(out - expected) / np.maximum(K * 2.0**-24 * abs_products, 1e-30))
        ),
        "exact_fraction": float(np.mean(out == ref.data)),
        "amax": float(amax),
        "max_abs_out": float(np.max(np.abs(out))),
        "ref_amax": float(np.max(np.abs(ref.data))),
        "b_subnormals": int(np.sum((b_values > 0) & (b_values < E5M2_MIN_NORMAL)))
        if b_name == "e5m2"
        else 0,
        "bf16_mismatches": int(differ.sum()),
        "bf16_mismatches_unexplained": int(np.sum(differ & ((out == ref.data) | ~one_step))),
        "finite": bool(np.all(np.isfinite(out))),
    }


if __name__ == "__main__":
    for spec in json.loads(sys.argv[1]):
        print(json.dumps(case(**spec)), flush=True)
