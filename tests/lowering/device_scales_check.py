"""Run the device scale code under Triton's CPU interpreter and compare it with its Python
twin bit for bit; print one JSON line for the helpers and one for the rule expressions.
Started by test_device_scales.py in a subprocess (``TRITON_INTERPRET=1``).

The kernels are generated here as text (the expressions of lowering/codegen/scales.py for
every case of scale_cases.py, static and symbolic sizes; the helper calls of
``HELPER_EXPRS``), written to a file in the kernel cache and imported (`codegen.load`),
as the generated modules are. Inputs: fp32 scales (random powers of two, with NaN, inf,
zero and negative values mixed in) loaded and widened to fp64 as a kernel does; for the
helpers, arbitrary fp64 values over many binades plus the boundary cases (powers of two,
``k * sqrt 2`` and its neighbours, ``448 * 2^k``, ``57344 * 2^k`` and theirs).
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import numpy as np

assert os.environ.get("TRITON_INTERPRET") == "1", "run with TRITON_INTERPRET=1"
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch

from scalc.lowering.codegen import load, scales
from tests.lowering.scale_cases import CASES, HELPER_EXPRS, size_values, symbolic

BLOCK = 1024
IMPORTS = ", ".join(sorted(n for n in scales.PY_HELPERS))


def module(kernels: list[str]) -> str:
    head = ["import triton", "import triton.language as tl", "",
            f"from scalc.lowering.templates.scales import {IMPORTS}"]  # fmt: skip
    return "\n".join(head) + "\n\n\n" + "\n\n\n".join(kernels) + "\n"


def kernel(name: str, floats: list[str], ints: list[str], exprs: list[str]) -> str:
    params = [f"{v}_ptr" for v in floats + ints] + ["out_ptr", "BLOCK: tl.constexpr"]
    body = ["offs = tl.arange(0, BLOCK)"]
    body += [f"{v} = tl.load({v}_ptr + offs).to(tl.float64)" for v in floats]
    body += [f"{v} = tl.load({v}_ptr + offs)" for v in ints]
    body += [f"tl.store(out_ptr + {i} * BLOCK + offs, {e})" for i, e in enumerate(exprs)]
    lines = ["@triton.jit", f"def {name}({', '.join(params)}):", *(f"    {b}" for b in body)]
    return "\n".join(lines)


def python_values(exprs: list[str], inputs: dict[str, np.ndarray]) -> np.ndarray:
    out = np.empty((len(exprs), BLOCK), np.float64)
    env = {"__builtins__": {"float": float}}
    for i, e in enumerate(exprs):
        code = compile(e, "<expr>", "eval")
        for j in range(BLOCK):
            names = {
                k: (float(v[j]) if v.dtype.kind == "f" else int(v[j])) for k, v in inputs.items()
            }
            out[i, j] = eval(code, env, {**scales.PY_HELPERS, **names})
    return out


def compare(what: str, exprs: list[str], got: np.ndarray, want: np.ndarray) -> list[list]:
    bad = []
    for i, e in enumerate(exprs):
        same = (got[i] == want[i]) | (np.isnan(got[i]) & np.isnan(want[i]))
        for j in np.flatnonzero(~same)[:3]:
            bad.append([what, e, int(j), float(got[i, j]), float(want[i, j])])
    return bad


def scale_inputs(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    out = []
    for _ in range(count):
        s = np.ldexp(1.0, rng.integers(-126, 128, BLOCK)).astype(np.float32)
        bad = rng.random(BLOCK) < 0.05
        s[bad] = rng.choice(np.array([np.nan, np.inf, 0.0, -1.0, -np.inf], np.float32), bad.sum())
        out.append(s)
    return out


def run_rules(rng: np.random.Generator) -> dict:
    kernels, runs = [], []
    for c, case in enumerate(CASES):
        names = [f"s{i}" if scaled else None for i, scaled in enumerate(case.scaled)]
        floats = [n for n in names if n is not None]
        exprs = []
        for shapes in ([list(s) for s in case.shapes], symbolic(case)):
            raw = scales.DEVICE_RULES[case.rule](case.op, names, shapes)
            exprs += [scales.guarded(e, names) for e in raw]
        ints = sorted(size_values(case))
        kernels.append(kernel(f"case_{c}", floats, ints, exprs))
        runs.append((f"case_{c}", case, floats, ints, exprs))
    generated = load("device_scales_check", module(kernels))
    bad, total = [], 0
    for name, case, floats, ints, exprs in runs:
        inputs = dict(zip(floats, scale_inputs(rng, len(floats))))
        inputs |= {
            k: np.full(BLOCK, v, np.int32) for k, v in size_values(case).items() if k in ints
        }
        out = torch.empty((len(exprs), BLOCK), dtype=torch.float64)
        getattr(generated, name)[(1,)](*(torch.from_numpy(inputs[k]) for k in floats + ints), out,
                                       BLOCK=BLOCK)  # fmt: skip
        want = python_values(exprs, {k: v.astype(np.float64) if k in floats else v
                                     for k, v in inputs.items()})  # fmt: skip
        bad += compare(case.name, exprs, out.numpy(), want)
        total += len(exprs)
    return {"what": "rules", "exprs": total, "mismatches": bad}


def helper_inputs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    k = rng.integers(-140, 140, 64).astype(np.float64)
    sqrt2 = np.ldexp(math.sqrt(2.0), k.astype(int))
    e4m3 = 448.0 * np.ldexp(1.0, k.astype(int))
    crafted = np.concatenate([
        np.ldexp(1.0, k.astype(int)), sqrt2, np.nextafter(sqrt2, 0), np.nextafter(sqrt2, np.inf),
        e4m3, np.nextafter(e4m3, np.inf),
        57344.0 * np.ldexp(1.0, k.astype(int)), [np.nan, np.inf, -np.inf, 0.0, -1.0, 1e-30, 1e-31],
    ])  # fmt: skip
    x = np.exp2(rng.uniform(-150, 150, BLOCK))
    x[: crafted.size] = crafted
    y = np.exp2(rng.uniform(-150, 150, BLOCK))
    return x, y


def run_helpers(rng: np.random.Generator) -> dict:
    # add_scale reads maxima, whose NaN handling only the guard decides: guard it, as the
    # generated code always does.
    exprs = [e if not e.startswith("add_scale") else
             f"pick(valid(x) & valid(y), {e}, float('nan'))" for e in HELPER_EXPRS]  # fmt: skip
    generated = load("device_scales_helpers_check", module([
        kernel("helpers", [], ["x", "y"], exprs)]))  # fmt: skip
    x, y = helper_inputs(rng)
    out = torch.empty((len(exprs), BLOCK), dtype=torch.float64)
    generated.helpers[(1,)](torch.from_numpy(x), torch.from_numpy(y), out, BLOCK=BLOCK)
    want = python_values(exprs, {"x": x, "y": y})
    return {"what": "helpers", "n": int(x.size), "exprs": len(exprs),
            "mismatches": compare("helpers", exprs, out.numpy(), want)}  # fmt: skip


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    print(json.dumps(run_helpers(rng)), flush=True)
    print(json.dumps(run_rules(rng)), flush=True)
