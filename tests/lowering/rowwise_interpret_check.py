"""Run the row-wise templates (lowering/templates/rowwise.py) under Triton's CPU interpreter
against the reference kernels (``REFERENCE[nn.SoftmaxOp]`` after ``nn.CausalMaskOp``,
``nn.LayerNormOp``, ``nn.CrossEntropyOp``, ``nn.CrossEntropyGradOp``) and print one JSON
line per case with the measured errors. Started by test_rowwise_interpret.py in a
subprocess (``TRITON_INTERPRET=1`` must be set before ``triton`` is imported).

Errors are normalised so that cancellation does not inflate them:
- softmax: ``|got - want| / want`` (every output is a positive normal number or 0);
- layernorm: ``|got - want| / ((|x| + |mean|) * inv_std * |gamma| + |beta|)``: the magnitudes before
  the centring's cancellation (the mean's last-ulp rounding, which depends on the summation
  order, moves every ``x - mean`` by up to ulp(mean), i.e. by ~2^-23 |mean|);
- CE terms: ``|got - want| / (|logsumexp| + |logit[label]|)``;
- CE grad: ``|got - want| / |dloss / R|`` (every entry has magnitude ≤ that);
- loss: ``|got - want| / (mean |logsumexp| + mean |logit[label]|)``.
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
from scalc.runtime.backends.triton import interpreter_patch  # patches the interpreter on import, before any kernel runs
import torch
from xdsl.dialects.builtin import TensorType, f32, i32, i64
from xdsl.ir import Block

from scalc.dialects import nn
from scalc.lowering.templates.rowwise import cross_entropy_with_grad, layernorm, softmax
from scalc.runtime.backends.reference import RefEnv, evaluate

assert interpreter_patch.is_applied()


def run(op, *operands):
    return evaluate(op, RefEnv(), *operands)


def ref_softmax(x: np.ndarray, causal: bool) -> np.ndarray:
    shape = list(x.shape)
    if causal:
        (v,) = Block(arg_types=[TensorType(f32, shape)]).args
        x = run(nn.CausalMaskOp(v), x)
    (v,) = Block(arg_types=[TensorType(f32, shape)]).args
    return run(nn.SoftmaxOp(v, len(shape) - 1), x)


def ref_layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    d = x.shape[-1]
    v, g, b = Block(
        arg_types=[TensorType(f32, list(x.shape)), TensorType(f32, [d]), TensorType(f32, [d])]
    ).args
    return run(nn.LayerNormOp(v, g, b, eps), x, gamma, beta)


def ref_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    lt = i32 if labels.dtype == np.int32 else i64
    v, lab = Block(
        arg_types=[TensorType(f32, list(logits.shape)), TensorType(lt, list(labels.shape))]
    ).args
    return run(nn.CrossEntropyOp(v, lab), logits, labels)


def ref_cross_entropy_grad(logits: np.ndarray, labels: np.ndarray, dloss: float) -> np.ndarray:
    lt = i32 if labels.dtype == np.int32 else i64
    v, lab, d = Block(
        arg_types=[
            TensorType(f32, list(logits.shape)),
            TensorType(lt, list(labels.shape)),
            TensorType(f32, []),
        ]
    ).args
    return run(nn.CrossEntropyGradOp(v, lab, d), logits, labels, np.float32(dloss))


def softmax_case(shape, causal, spread, seed) -> dict:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * spread).astype(np.float32)
    want = ref_softmax(x, causal)
    start = time.perf_counter()
    got = softmax(torch.from_numpy(x.copy()), causal=causal).numpy()
    seconds = time.perf_counter() - start
    err = np.abs(got.astype(np.float64) - want) / np.where(want > 0, want, 1.0)
    return {
        "max_rel_err": float(err.max()),
        "max_row_sum_err": float(np.abs(got.astype(np.float64).sum(-1) - 1.0).max()),
        "zeros_match": bool(np.array_equal(got == 0, want == 0)),
        "finite": bool(np.isfinite(got).all()),
        "seconds": seconds,
    }


def layernorm_case(shape, offset, spread, eps, seed) -> dict:
    rng = np.random.default_rng(seed)
    d = shape[-1]
    x = (offset + rng.standard_normal(shape) * spread).astype(np.float32)
    gamma = (1.0 + 0.5 * rng.standard_normal(d)).astype(np.float32)
    beta = (0.5 * rng.standard_normal(d)).astype(np.float32)
    want = ref_layernorm(x, gamma, beta, eps)
    start = time.perf_counter()
    got = layernorm(*(torch.from_numpy(a.copy()) for a in (x, gamma, beta)), eps=eps).numpy()
    seconds = time.perf_counter() - start
    x64 = x.astype(np.float64)
    c = x64 - x64.mean(-1, keepdims=True)
    inv_std = 1.0 / np.sqrt((c * c).mean(-1, keepdims=True) + eps)
    scale = (np.abs(x64) + np.abs(x64.mean(-1, keepdims=True))) * inv_std * np.abs(gamma) + np.abs(
        beta
    )
    err = np.abs(got.astype(np.float64) - want) / scale
    return {
        "max_rel_err": float(err.max()),
        "finite": bool(np.isfinite(got).all()),
        "seconds": seconds,
    }


def cross_entropy_case(shape, spread, labels_kind, label_type, dloss, seed) -> dict:
    rng = np.random.default_rng(seed)
    c = shape[-1]
    logits = (rng.standard_normal(shape) * spread).astype(np.float32)
    np_label = np.int32 if label_type == "i32" else np.int64
    lab_shape = shape[:-1]
    if labels_kind == "first":
        labels = np.zeros(lab_shape, np_label)
    elif labels_kind == "last":
        labels = np.full(lab_shape, c - 1, np_label)
    else:  # random, with both edges present
        labels = rng.integers(0, c, lab_shape).astype(np_label)
        flat = labels.reshape(-1)
        flat[0] = 0
        flat[-1] = c - 1
    want_loss = float(ref_cross_entropy(logits, labels))
    want_grad = ref_cross_entropy_grad(logits, labels, dloss)
    rows = logits.reshape(-1, c)
    flat_labels = labels.reshape(-1)
    want_terms = np.array(  # the reference's mean over one position is that position's term
        [
            float(ref_cross_entropy(rows[r : r + 1], flat_labels[r : r + 1]))
            for r in range(len(rows))
        ]
    )
    start = time.perf_counter()
    loss, grad, terms = cross_entropy_with_grad(
        torch.from_numpy(logits.copy()), torch.from_numpy(labels.copy()), dloss, check_labels=True
    )
    seconds = time.perf_counter() - start
    grad, terms, loss = grad.numpy().astype(np.float64), terms.numpy().reshape(-1), float(loss)

    r64 = rows.astype(np.float64)
    peak = r64.max(-1)
    lse = peak + np.log(np.exp(r64 - peak[:, None]).sum(-1))
    picked = r64[np.arange(len(rows)), flat_labels]
    term_scale = np.abs(lse) + np.abs(picked)
    n = len(rows)
    grad_scale = abs(dloss) / n
    return {
        "max_term_err": float((np.abs(terms - want_terms) / term_scale).max()),
        "loss_err": abs(loss - want_loss) / float(term_scale.mean()),
        "max_grad_err": float((np.abs(grad - want_grad) / grad_scale).max()),
        "max_grad_row_sum": float(np.abs(grad.reshape(-1, c).sum(-1)).max() / grad_scale),
        "finite": bool(np.isfinite(grad).all() and np.isfinite(terms).all()),
        "seconds": seconds,
    }


KINDS = {"softmax": softmax_case, "layernorm": layernorm_case, "cross_entropy": cross_entropy_case}

if __name__ == "__main__":
    for spec in json.loads(sys.argv[1]):
        kind = spec.pop("kind")
        spec["shape"] = tuple(spec["shape"])
        print(json.dumps({"kind": kind, **KINDS[kind](**spec)}), flush=True)
