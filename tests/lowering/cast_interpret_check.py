"""Run the FP8 cast template (lowering/templates/cast.py) under Triton's CPU interpreter,
with runtime/backends/triton/interpreter_patch.py making ``.to(fp8)`` round like the GPU, against the
reference ``scaled.amax`` -> ``scaled.rescale {target = F8_MAX}`` -> ``scaled.cast``; print
one JSON line per case. Started by test_cast_interpret.py in a subprocess
(``TRITON_INTERPRET=1`` must be set before ``triton`` is imported). A ``transpose`` case
hands the template the (M, N) transposed view of an (N, M) array: a strided input, which
the launcher makes contiguous.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

assert os.environ.get("TRITON_INTERPRET") == "1", "run with TRITON_INTERPRET=1"
sys.path.insert(0, str(Path(__file__).parent))
from scalc.runtime.backends.triton import interpreter_patch  # patches the interpreter on import, before any kernel runs
import ml_dtypes
import torch
from xdsl.dialects.builtin import TensorType, bf16, f8E4M3FN, f8E5M2, f32
from xdsl.ir import Block

from scalc.dialects import scaled
from scalc.dialects.scaled import ScaledTensorType as S
from scalc.lowering.templates.cast import amax_rescale_cast
from scalc.runtime.backends.reference import RefEnv, evaluate
from scalc.runtime.scaled_array import ScaledArray

assert interpreter_patch.is_applied()
FORMATS = {"f8E4M3FN": f8E4M3FN, "f8E5M2": f8E5M2}
IN_TYPES = {"f32": (f32, np.float32), "bf16": (bf16, ml_dtypes.bfloat16)}
# Ties of each format at unit scale (halfway between neighbours, both parities), and just
# either side of one, subnormal ties included.
TIES = {
    "f8E4M3FN": [
        1.0625,
        1.1875,
        1.0625 + 2**-12,
        1.0625 - 2**-12,
        2**-10,
        3 * 2**-10,
        232.0,
        248.0,
    ],
    "f8E5M2": [1.125, 1.375, 1.125 + 2**-12, 1.125 - 2**-12, 2**-17, 3 * 2**-17, 40960.0, 53248.0],
}
MAX = {"f8E4M3FN": 448.0, "f8E5M2": 57344.0}


def run(op, *operands):
    return evaluate(op, RefEnv(), *operands)


def reference(x: ScaledArray, in_type, fmt, margin: int) -> tuple[ScaledArray, float]:
    shape = list(x.data.shape)
    (v,) = Block(arg_types=[S(in_type, shape)]).args
    amax = run(scaled.AmaxOp(v), x)
    v, r = Block(arg_types=[S(in_type, shape), TensorType(f32, [])]).args
    x = run(scaled.RescaleOp(v, r, scaled.F8_MAX[fmt], margin), x, amax)
    (v,) = Block(arg_types=[S(in_type, shape)]).args
    return run(scaled.CastOp(v, S(fmt, shape)), x), float(amax)


def make(kind: str, M: int, N: int, fmt: str, rng) -> np.ndarray:
    g = rng.standard_normal((M, N))
    if kind == "gaussian":
        return g
    if kind == "zeros":
        return np.zeros((M, N))
    if kind == "huge":
        return g * 1e36
    if kind == "tiny":  # amax below the 1e-30 floor
        return g * 1e-33
    if kind == "heavy":  # wide dynamic range: saturation-free but deep subnormal tails
        return g * np.exp2(rng.integers(-30, 8, (M, N)))
    if kind in ("ties", "boundary"):
        # amax exactly target * 2^5 (s = 2^5, no rounding of the amax element), or one fp32
        # step above it (ceil -> s = 2^6); the rest ties of the format at that scale.
        x = rng.choice(TIES[fmt], (M, N)) * rng.choice([-1.0, 1.0], (M, N)) * 32.0
        top = MAX[fmt] * 32.0
        x.flat[rng.integers(x.size)] = (
            top if kind == "ties" else np.nextafter(np.float32(top), np.float32(np.inf))
        )
        return x
    if kind == "nonfinite":
        x = g.copy()
        x.flat[rng.integers(x.size)] = np.inf
        return x
    if kind == "nan":
        x = g.copy()
        x.flat[rng.integers(x.size)] = np.nan
        return x
    raise ValueError(kind)


def case(M, N, fmt, transpose, kind, in_type, in_scale, margin, seed) -> dict:
    rng = np.random.default_rng(seed)
    ir_in, np_in = IN_TYPES[in_type]
    data = make(kind, M, N, fmt, rng).astype(np.float32).astype(np_in)
    ref, ref_amax = reference(ScaledArray(data, in_scale), ir_in, FORMATS[fmt], margin)

    stored = np.ascontiguousarray(data.T) if transpose else data  # (N, M) when transposed
    if in_type == "bf16":
        x = torch.from_numpy(stored.view(np.int16).copy()).view(torch.bfloat16)
    else:
        x = torch.from_numpy(stored.copy())
    if transpose:
        x = x.T  # the (M, N) view of the (N, M) array: strided
    q, scale, amax = amax_rescale_cast(x, in_scale, fmt, margin)
    got = q.view(torch.uint8).numpy()
    want = ref.data.view(np.uint8)
    got_nan = np.isnan(q.float().numpy())
    want_nan = np.isnan(ref.data.astype(np.float32))
    same = (got == want) | (got_nan & want_nan)  # NaN encodings may differ in sign
    ref_scale = float(ref.scale)
    return {
        "case": [M, N, fmt, transpose, kind, in_type, in_scale, margin],
        "shape": list(got.shape),
        "mismatches": int((~same).sum()),
        "nan": int(got_nan.sum()),
        "scale": scale,
        "ref_scale": ref_scale,
        "scale_equal": bool(scale == ref_scale or (np.isnan(scale) and np.isnan(ref_scale))),
        "amax_equal": bool(amax == ref_amax or (np.isnan(amax) and np.isnan(ref_amax))),
        "saturated": int(np.sum(np.abs(ref.data.astype(np.float32)) == MAX[fmt])),
        "subnormal_or_zero": int(np.sum(np.abs(ref.data.astype(np.float32)) < 2.0**-6)),
    }


if __name__ == "__main__":
    for spec in json.loads(sys.argv[1]):
        print(json.dumps(case(**spec)), flush=True)
