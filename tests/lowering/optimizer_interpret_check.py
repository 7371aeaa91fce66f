"""Run the fused optimizer templates (lowering/templates/optimizer.py) under Triton's CPU
interpreter for 3 steps on a few parameters of odd sizes packed into one flat buffer,
against ``REFERENCE[nn.AdamWOp]`` / ``REFERENCE[nn.SgdOp]`` applied per parameter; print one
JSON line per case. Started by test_optimizer_interpret.py in a subprocess
(``TRITON_INTERPRET=1`` set before ``triton`` is imported; ``TRITON_DEFAULT_FP_FUSION`` as
the test chooses).

Besides the kernel, each case also runs a numpy model of the multiply-add contraction the
GPU backend does with ``enable_fp_fusion`` (the interpreter never contracts): each
``a * b + c`` of the kernel as one fma (the exact product in float64 plus c, rounded to
fp32; double rounding aside, which is rarer than the effect measured), to bound what the
fused GPU kernel may differ from the reference.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

assert os.environ.get("TRITON_INTERPRET") == "1", "run with TRITON_INTERPRET=1"
sys.path.insert(0, str(Path(__file__).parent))
from scalc.runtime.backends.triton import interpreter_patch  # noqa: F401  (same interpreter set-up as the other template checks)
import torch
from xdsl.dialects.builtin import TensorType, f32
from xdsl.ir import Block

from scalc.dialects import nn
from scalc.lowering.templates.optimizer import adamw_step, flat_like, pack_flat, sgd_step
from scalc.runtime.backends.reference import RefEnv, evaluate

SHAPES = [(7,), (64, 3), (130,), (5, 1, 3), (1,)]
STEPS = 3


def ulps(a: np.ndarray, b: np.ndarray) -> int:
    """Largest distance in fp32 steps between ``a`` and ``b`` (0 for equal bits)."""

    def ordered(x):
        i = np.asarray(x, np.float32).view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)

    return int(np.max(np.abs(ordered(a) - ordered(b)))) if np.size(a) else 0


def ref_adamw(w, g, m, v, lr, t, hp):
    shape = list(w.shape)
    args = Block(arg_types=[TensorType(f32, shape)] * 4 + [TensorType(f32, [])] * 2).args
    op = nn.AdamWOp(*args, **hp)
    return evaluate(op, RefEnv(), w, g, m, v, np.float32(lr), np.float32(t))


def ref_sgd(w, g, buf, lr, hp):
    shape = list(w.shape)
    args = Block(arg_types=[TensorType(f32, shape)] * 3 + [TensorType(f32, [])]).args
    op = nn.SgdOp(*args, **hp)
    return evaluate(op, RefEnv(), w, g, buf, np.float32(lr))


def fma(a, b, c):
    a, b, c = (np.asarray(x, np.float32).astype(np.float64) for x in (a, b, c))
    return (a * b + c).astype(np.float32)


def fused_adamw(w, g, m, v, lr, t, hp):
    """The contracted kernel, modelled: m, v and the final update each one fma."""
    f = np.float32
    lr, t = float(f(lr)), float(f(t))
    b1, b2 = hp["beta1"], hp["beta2"]
    w = w * f(1.0 - lr * hp["weight_decay"])
    m = fma(f(1.0 - b1), g, f(b1) * m)
    v = fma(f(1.0 - b2), g * g, f(b2) * v)
    den = np.sqrt(v) / f(np.sqrt(1.0 - b2**t)) + f(hp["eps"])
    return fma(-f(lr / (1.0 - b1**t)), m / den, w), m, v


def fused_sgd(w, g, buf, lr, hp):
    f = np.float32
    mom, wd = f(hp["momentum"]), f(hp["weight_decay"])
    if wd != 0:
        g = fma(wd, w, g)
    if mom == 0:
        return fma(-f(lr), g, w), buf
    buf = fma(mom, buf, g)
    d = fma(mom, buf, g) if hp["nesterov"] else buf
    return fma(-f(lr), d, w), buf


def make_data(seed: int, grad_scale: str):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = []
    for _ in range(STEPS):
        step = []
        for s in SHAPES:
            gr = rng.standard_normal(s)
            if grad_scale == "wide":  # magnitudes from 2^-40 to 2^20
                gr = gr * np.exp2(rng.integers(-40, 20, s))
            step.append(gr.astype(np.float32))
        grads.append(step)
    return params, grads


def case(kind: str, hp: dict, lr: float, seed: int, grad_scale: str, fp_fusion: bool) -> dict:
    params, grads = make_data(seed, grad_scale)
    n_state = 2 if kind == "adamw" else 1
    # The kernel: everything in flat buffers, the launchers take the views.
    flat_w, w = pack_flat([torch.from_numpy(p) for p in params])
    _, g = flat_like(w)
    states = [flat_like(w) for _ in range(n_state)]
    # The reference, per parameter, and the fused (fma) model.
    ref = [[p.copy()] + [np.zeros_like(p) for _ in range(n_state)] for p in params]
    fused = [[p.copy()] + [np.zeros_like(p) for _ in range(n_state)] for p in params]
    seconds = 0.0
    for step in range(STEPS):
        t = step + 1
        for gv, gr in zip(g, grads[step], strict=True):
            gv.copy_(torch.from_numpy(gr))
        start = time.perf_counter()
        if kind == "adamw":
            adamw_step(w, g, states[0][1], states[1][1], lr, t, fp_fusion=fp_fusion, **hp)
        else:
            sgd_step(w, g, states[0][1], lr, fp_fusion=fp_fusion, **hp)
        seconds += time.perf_counter() - start
        for i, gr in enumerate(grads[step]):
            if kind == "adamw":
                ref[i] = list(ref_adamw(ref[i][0], gr, ref[i][1], ref[i][2], lr, t, hp))
                fused[i] = list(fused_adamw(fused[i][0], gr, fused[i][1], fused[i][2], lr, t, hp))
            else:
                ref[i] = list(ref_sgd(ref[i][0], gr, ref[i][1], lr, hp))
                fused[i] = list(fused_sgd(fused[i][0], gr, fused[i][1], lr, hp))
    got = [flat_w] + [flat for flat, _ in states]
    names = ["w", "m", "v"] if kind == "adamw" else ["w", "buf"]
    out = {"case": [kind, hp, lr, seed, grad_scale, fp_fusion], "seconds": seconds}
    for j, name in enumerate(names):
        want = np.concatenate([r[j].ravel() for r in ref])
        model = np.concatenate([fz[j].ravel() for fz in fused])
        have = got[j].numpy()
        out[f"{name}_max_ref"] = float(np.max(np.abs(want)))
        out[f"{name}_ulps"] = ulps(have, want)
        out[f"{name}_max_abs"] = float(np.max(np.abs(have.astype(np.float64) - want)))
        out[f"{name}_fma_model_ulps"] = ulps(model, want)
        out[f"{name}_fma_model_max_abs"] = float(np.max(np.abs(model.astype(np.float64) - want)))
    # The views the launcher was given see the update (they alias the flat buffer).
    out["views_alias"] = all(
        v.untyped_storage().data_ptr() == flat_w.untyped_storage().data_ptr() for v in w
    ) and bool(torch.equal(torch.cat([v.reshape(-1) for v in w]), flat_w))
    initial = np.concatenate([p.ravel() for p in params])
    out["changed"] = bool(not np.array_equal(flat_w.numpy(), initial))
    return out


def aliasing() -> dict:
    """Flat-buffer aliasing: views made independently of the ones given to the launcher, and
    the buffer itself, see the update; separate (non-flat) tensors get the same numbers,
    updated one contiguous run at a time."""
    params, grads = make_data(7, "normal")
    flat_w, w = pack_flat([torch.from_numpy(p) for p in params])
    _, g = flat_like(w)
    _, m = flat_like(w)
    _, v = flat_like(w)
    other_view = flat_w[7 : 7 + 192].view(64, 3)  # the (64, 3) parameter, sliced anew
    before = other_view.clone()
    for gv, gr in zip(g, grads[0], strict=True):
        gv.copy_(torch.from_numpy(gr))
    adamw_step(w, g, m, v, 1e-2, 1)
    # Separate tensors (no flat buffer): one launch per tensor, same result.
    sw = [torch.from_numpy(p.copy()) for p in params]
    sg = [torch.from_numpy(gr.copy()) for gr in grads[0]]
    sm = [torch.zeros_like(x) for x in sw]
    sv = [torch.zeros_like(x) for x in sw]
    adamw_step(sw, sg, sm, sv, 1e-2, 1)
    return {
        "aliasing": True,
        "other_view_changed": bool(not torch.equal(other_view, before)),
        "other_view_is_w1": bool(torch.equal(other_view, w[1])),
        "flat_is_views": bool(torch.equal(flat_w, torch.cat([x.reshape(-1) for x in w]))),
        "separate_equal_flat": all(torch.equal(a, b) for a, b in zip(sw, w, strict=True))
        and all(torch.equal(a, b) for a, b in zip(sv, v, strict=True)),
    }


if __name__ == "__main__":
    for spec in json.loads(sys.argv[1]):
        print(json.dumps(case(**spec)), flush=True)
    print(json.dumps(aliasing()), flush=True)
