"""Run the row-wise templates (lowering/templates/rowwise.py) under Triton's CPU interpreter
against the reference kernels (``REFERENCE[nn.SoftmaxOp]`` after ``nn.CausalMaskOp``,
``nn.SoftmaxGradOp`` then ``nn.CausalMaskGradOp``, ``nn.LayerNormOp``,
``nn.LayerNormGradOp``, ``nn.CrossEntropyOp``, ``nn.CrossEntropyGradOp``,
``nn.EmbeddingOp``, ``nn.EmbeddingGradOp``), all fp32 with scale 1, and print one JSON
line per case with the measured errors. Started by test_rowwise_interpret.py in a
subprocess (``TRITON_INTERPRET=1`` must be set before ``triton`` is imported).

Errors are normalised so that cancellation does not inflate them (the magnitudes of the
terms before a cancelling sum or difference, per element):
- softmax: ``|got - want| / want`` (every output is a positive normal number or 0);
- softmax_grad: ``|got - want| / (y * (|dy| + sum |dy * y|))``, masked entries exactly 0;
- layernorm: ``|got - want| / ((|x| + |mean|) * inv_std * |gamma| + |beta|)``: the magnitudes
  before the centring's cancellation (the mean's last-ulp rounding, which depends on the
  summation order, moves every ``x - mean`` by up to ulp(mean), i.e. by ~2^-23 |mean|);
- layernorm_grad: dx by ``inv_std * (|g| + mean |g| + xspan * mean |g * xhat|)`` with
  ``xspan = (|x| + |mean|) * inv_std`` (``xhat`` before the centring's cancellation);
  dgamma by ``sum |dy| * xspan``, dbeta by ``sum |dy|`` (over the rows);
- CE terms: ``|got - want| / (|logsumexp| + |logit[label]|)``;
- CE grad: ``|got - want| / |dloss / R|`` (every entry has magnitude ≤ that);
- loss: ``|got - want| / (mean |logsumexp| + mean |logit[label]|)``;
- embedding, embedding_grad: exact (a copy; the same sums in the same order).
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
# Patches the interpreter on import: before anything imports a kernel.
from scalc.runtime.backends.triton import interpreter_patch  # noqa: I001
import torch
from xdsl.dialects.builtin import TensorType, f32, i32, i64
from xdsl.ir import Block

from scalc.dialects import nn
from scalc.lowering.templates import rowwise
from scalc.runtime.backends.reference import RefEnv, evaluate

assert interpreter_patch.is_applied()


def run(op, *operands):
    return evaluate(op, RefEnv(), *operands)


def args(*arrays: np.ndarray):
    types = [
        TensorType({np.int32: i32, np.int64: i64}.get(a.dtype.type, f32), list(a.shape))
        for a in arrays
    ]
    return Block(arg_types=types).args


def ref_softmax(x: np.ndarray, causal: bool) -> np.ndarray:
    if causal:
        x = run(nn.CausalMaskOp(args(x)[0]), x)
    return run(nn.SoftmaxOp(args(x)[0], x.ndim - 1), x)


def ref_softmax_grad(y: np.ndarray, dy: np.ndarray, causal: bool) -> np.ndarray:
    vy, vdy = args(y, dy)
    g = run(nn.SoftmaxGradOp(vy, vdy, y.ndim - 1), y, dy)
    return run(nn.CausalMaskGradOp(args(g)[0]), g) if causal else g


def ref_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return run(nn.CrossEntropyOp(*args(logits, labels)), logits, labels)


def torch_of(a: np.ndarray, layout: str = "contiguous") -> torch.Tensor:
    """``a`` as a torch tensor: contiguous, or a non-contiguous view of the same values as
    host groups hand them over: ``transposed`` (the first two axes swapped in memory: the
    host function copies it into rows) or ``padded`` (rows of a wider buffer: the kernel
    reads them in place with their row stride)."""
    if layout == "transposed":
        return torch.from_numpy(np.ascontiguousarray(np.swapaxes(a, 0, 1))).transpose(0, 1)
    if layout == "padded":
        wide = np.zeros((*a.shape[:-1], a.shape[-1] + 3), a.dtype)
        wide[..., : a.shape[-1]] = a
        return torch.from_numpy(wide)[..., : a.shape[-1]]
    return torch.from_numpy(np.ascontiguousarray(a).copy())


def softmax_case(shape, causal, spread, seed, layout="contiguous") -> dict:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * spread).astype(np.float32)
    want = ref_softmax(x, causal)
    out = torch.empty(shape, dtype=torch.float32)
    start = time.perf_counter()
    rowwise.softmax(torch_of(x, layout), out, causal=causal)
    seconds = time.perf_counter() - start
    got = out.numpy()
    err = np.abs(got.astype(np.float64) - want) / np.where(want > 0, want, 1.0)
    return {
        "max_rel_err": float(err.max()),
        "max_row_sum_err": float(np.abs(got.astype(np.float64).sum(-1) - 1.0).max()),
        "zeros_match": bool(np.array_equal(got == 0, want == 0)),
        "finite": bool(np.isfinite(got).all()),
        "seconds": seconds,
    }


def softmax_grad_case(shape, causal, spread, seed) -> dict:
    rng = np.random.default_rng(seed)
    y = ref_softmax((rng.standard_normal(shape) * spread).astype(np.float32), causal)
    dy = rng.standard_normal(shape).astype(np.float32)
    want = ref_softmax_grad(y, dy, causal)
    out = torch.empty(shape, dtype=torch.float32)
    start = time.perf_counter()
    rowwise.softmax_grad(torch_of(y), torch_of(dy), out, causal=causal)
    seconds = time.perf_counter() - start
    got = out.numpy().astype(np.float64)
    y64, dy64 = y.astype(np.float64), dy.astype(np.float64)
    scale = y64 * (np.abs(dy64) + np.abs(dy64 * y64).sum(-1, keepdims=True))
    diff = np.abs(got - want)
    err = np.where(scale > 0, diff / np.where(scale > 0, scale, 1.0), np.where(diff > 0, np.inf, 0))
    return {
        "max_rel_err": float(err.max()),
        "zeros_match": bool(np.array_equal(got == 0, want == 0)),
        "finite": bool(np.isfinite(got).all()),
        "seconds": seconds,
    }


def layernorm_inputs(shape, offset, spread, seed):
    rng = np.random.default_rng(seed)
    d = shape[-1]
    x = (offset + rng.standard_normal(shape) * spread).astype(np.float32)
    gamma = (1.0 + 0.5 * rng.standard_normal(d)).astype(np.float32)
    beta = (0.5 * rng.standard_normal(d)).astype(np.float32)
    x64 = x.astype(np.float64)
    mean = x64.mean(-1, keepdims=True)
    c = x64 - mean
    inv_std = 1.0 / np.sqrt((c * c).mean(-1, keepdims=True) + 1e-5)
    xspan = (np.abs(x64) + np.abs(mean)) * inv_std
    return rng, x, gamma, beta, inv_std, xspan


def layernorm_case(shape, offset, spread, eps, seed) -> dict:
    _, x, gamma, beta, _, xspan = layernorm_inputs(shape, offset, spread, seed)
    want = run(nn.LayerNormOp(*args(x, gamma, beta), eps), x, gamma, beta)
    out = torch.empty(shape, dtype=torch.float32)
    start = time.perf_counter()
    rowwise.layernorm(torch_of(x), torch_of(gamma), torch_of(beta), out, eps=eps)
    seconds = time.perf_counter() - start
    got = out.numpy().astype(np.float64)
    scale = xspan * np.abs(gamma) + np.abs(beta)
    return {
        "max_rel_err": float((np.abs(got - want) / scale).max()),
        "finite": bool(np.isfinite(got).all()),
        "seconds": seconds,
    }


def layernorm_grad_case(shape, offset, spread, eps, seed, layout="contiguous") -> dict:
    rng, x, gamma, _, inv_std, xspan = layernorm_inputs(shape, offset, spread, seed)
    dy = rng.standard_normal(shape).astype(np.float32)
    want = run(nn.LayerNormGradOp(*args(x, gamma, dy), eps), x, gamma, dy)
    dx, dgamma, dbeta = torch.empty(shape), torch.empty(shape[-1]), torch.empty(shape[-1])
    start = time.perf_counter()
    rowwise.layernorm_grad(
        torch_of(x, layout), torch_of(gamma), torch_of(dy, layout), dx, dgamma, dbeta,
        eps=eps,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    g = np.abs(dy.astype(np.float64) * gamma)
    mean_gx = (g * xspan).mean(-1, keepdims=True)
    dx_scale = inv_std * (g + g.mean(-1, keepdims=True) + xspan * mean_gx)
    lead = tuple(range(len(shape) - 1))
    dgamma_scale = (np.abs(dy) * xspan).sum(lead)
    dbeta_scale = np.abs(dy.astype(np.float64)).sum(lead)
    got = [t.numpy().astype(np.float64) for t in (dx, dgamma, dbeta)]
    errs = [np.abs(h - w) / s for h, w, s in zip(got, want, (dx_scale, dgamma_scale, dbeta_scale))]
    return {
        "max_rel_err": float(max(e.max() for e in errs)),
        "finite": bool(all(np.isfinite(h).all() for h in got)),
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
    d = np.asarray(dloss, np.float32)
    want_grad = run(nn.CrossEntropyGradOp(*args(logits, labels, d)), logits, labels, d)
    rows = logits.reshape(-1, c)
    flat_labels = labels.reshape(-1)
    want_terms = np.array(  # the reference's mean over one position is that position's term
        [
            float(ref_cross_entropy(rows[r : r + 1], flat_labels[r : r + 1]))
            for r in range(len(rows))
        ]
    )
    loss, grad = torch.empty(()), torch.empty(shape)
    start = time.perf_counter()
    terms = rowwise.cross_entropy(torch_of(logits), torch_of(labels), loss)
    rowwise.cross_entropy_grad(torch_of(logits), torch_of(labels), torch_of(d), grad)
    seconds = time.perf_counter() - start
    grad, terms, loss = grad.numpy().astype(np.float64), terms.numpy().reshape(-1), float(loss)

    r64 = rows.astype(np.float64)
    peak = r64.max(-1)
    lse = peak + np.log(np.exp(r64 - peak[:, None]).sum(-1))
    picked = r64[np.arange(len(rows)), flat_labels]
    term_scale = np.abs(lse) + np.abs(picked)
    grad_scale = abs(dloss) / len(rows)
    return {
        "max_term_err": float((np.abs(terms - want_terms) / term_scale).max()),
        "loss_err": abs(loss - want_loss) / float(term_scale.mean()),
        "max_grad_err": float((np.abs(grad - want_grad) / grad_scale).max()),
        "max_grad_row_sum": float(np.abs(grad.reshape(-1, c).sum(-1)).max() / grad_scale),
        "finite": bool(np.isfinite(grad).all() and np.isfinite(terms).all()),
        "seconds": seconds,
    }


def embedding_case(vocab, width, ids_shape, id_type, seed) -> dict:
    rng = np.random.default_rng(seed)
    table = rng.standard_normal((vocab, width)).astype(np.float32)
    ids = rng.integers(0, vocab, ids_shape).astype(np.int32 if id_type == "i32" else np.int64)
    ids.reshape(-1)[:2] = [0, vocab - 1]  # both edges, and repeats when ids outnumber rows
    dy = rng.standard_normal((*ids_shape, width)).astype(np.float32)
    want = run(nn.EmbeddingOp(*args(table, ids), TensorType(f32, [*ids_shape, width])), table, ids)
    want_grad = run(nn.EmbeddingGradOp(*args(ids, dy), TensorType(f32, [vocab, width])), ids, dy)
    out, grad = torch.empty((*ids_shape, width)), torch.empty((vocab, width))
    start = time.perf_counter()
    # The table and dy as transposed views (column stride != 1): the host makes them rows.
    rowwise.embedding(torch_of(table.T).T, torch_of(ids), out)
    rowwise.embedding_grad(torch_of(ids), torch_of(dy), grad)
    seconds = time.perf_counter() - start
    return {
        "exact": bool(np.array_equal(out.numpy(), want)),
        "grad_exact": bool(np.array_equal(grad.numpy(), want_grad)),
        "repeated_ids": int(ids.size - np.unique(ids).size),
        "finite": bool(np.isfinite(grad.numpy()).all()),
        "seconds": seconds,
    }


KINDS = {
    "softmax": softmax_case,
    "softmax_grad": softmax_grad_case,
    "layernorm": layernorm_case,
    "layernorm_grad": layernorm_grad_case,
    "cross_entropy": cross_entropy_case,
    "embedding": embedding_case,
}

if __name__ == "__main__":
    for spec in json.loads(sys.argv[1]):
        kind = spec.pop("kind")
        for key in ("shape", "ids_shape"):
            if key in spec:
                spec[key] = tuple(spec[key])
        print(json.dumps({"kind": kind, **KINDS[kind](**spec)}), flush=True)
