"""The example models written in plain PyTorch, the baselines scalc is measured against.

Each function takes a dict of weights named as the ``param``s of the ``.scl`` file (so
``{k: torch.from_numpy(v) for k, v in sess.params.items()}`` fits) and the model's inputs,
and computes exactly what the example computes, op for op:

- `mlp` mirrors examples/mlp.scl: ``relu(x @ w1 + b1) @ w2 + b2``.
- `gpt` mirrors examples/gpt.scl: pre-norm blocks with stacked per-layer weights
  (layer ``l`` uses ``w[l]``), one ``[D, 3D]`` qkv projection split into q, k, v, heads
  reshaped ``[B, T, H, DH]`` and transposed to ``[B, H, T, DH]``, scores scaled by
  ``1/sqrt(DH)`` with a causal ``-inf`` mask, exact-erf GELU, layernorm with eps 1e-5
  and the biased variance, an untied output projection.
- `cross_entropy` is the ``loss =`` line of both: the mean over every position.

bench/reference_step.py times `gpt` against scalc; tests/e2e/test_torch_parity.py checks
scalc's loss, outputs, gradients and optimizer updates against these. The benchmark is the
owner of this module (it must run without the test suite); the tests import it from here,
so there is one copy of the PyTorch models.

``read_consts`` and ``with_consts`` (bench/scl_consts.py, re-exported here) read and
rewrite ``const NAME = value`` lines, so a test can compile a smaller variant of the real
example and still follow the file as it changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F

try:  # imported as bench.torch_models (the tests) or as torch_models (the bench scripts)
    from bench.scl_consts import read_consts, with_consts
except ImportError:
    from scl_consts import read_consts, with_consts  # type: ignore[no-redef]

Weights = Mapping[str, torch.Tensor]

LAYERNORM_EPS = 1e-5  # the builtin layernorm's eps (docs/language.md)


# --- examples/mlp.scl -----------------------------------------------------------------


def mlp(w: Weights, x: torch.Tensor) -> torch.Tensor:
    """``logits = dense(relu(dense(x, w1, b1)), w2, b2)``, ``dense(h, w, b) = h @ w + b``."""
    hidden = torch.relu(x @ w["w1"] + w["b1"])
    return hidden @ w["w2"] + w["b2"]


# --- examples/gpt.scl -----------------------------------------------------------------


def gpt(w: Weights, tokens: torch.Tensor, heads: int) -> torch.Tensor:
    """The logits ``[B, T, VOCAB]`` of examples/gpt.scl; ``heads`` is its ``HEADS`` (the
    only size the weights' shapes do not give). ``tokens`` are ids ``[B, T]``."""
    _, t = tokens.shape
    layers = w["w_qkv"].shape[0]
    h = w["tok_emb"][tokens] + w["pos_emb"][0:t]  # embedding(tok_emb, tokens) + pos_emb[0:T]
    for l in range(layers):
        h = _block(w, h, l, heads)
    return _layernorm(h, w["lnf_g"], w["lnf_b"]) @ w["w_out"]


def _block(w: Weights, x: torch.Tensor, l: int, heads: int) -> torch.Tensor:
    h = x + _attention(w, _layernorm(x, w["ln1_g"][l], w["ln1_b"][l]), l, heads)
    return h + _mlp(w, _layernorm(h, w["ln2_g"][l], w["ln2_b"][l]), l)


def _attention(w: Weights, x: torch.Tensor, l: int, heads: int) -> torch.Tensor:
    d = x.shape[-1]
    dh = d // heads
    qkv = x @ w["w_qkv"][l]  # [B, T, 3D]
    q = _split_heads(qkv[:, :, 0:d], heads)
    k = _split_heads(qkv[:, :, d : 2 * d], heads)
    v = _split_heads(qkv[:, :, 2 * d : 3 * d], heads)
    scores = _causal_mask(q @ k.transpose(-2, -1) / math.sqrt(dh))  # [B, H, T, T]
    out = torch.softmax(scores, dim=-1) @ v
    return _merge_heads(out) @ w["w_proj"][l]


def _mlp(w: Weights, x: torch.Tensor, l: int) -> torch.Tensor:
    up = F.gelu(x @ w["w_up"][l] + w["b_up"][l], approximate="none")  # exact-erf GELU
    return up @ w["w_down"][l] + w["b_down"][l]


def _split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """``[B, T, D] -> [B, H, T, DH]``: ``transpose(reshape(x, [B, T, H, DH]), [0, 2, 1, 3])``."""
    b, t, d = x.shape
    return x.reshape(b, t, heads, d // heads).permute(0, 2, 1, 3)


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    """``[B, H, T, DH] -> [B, T, D]``: ``reshape(transpose(x, [0, 2, 1, 3]), [B, T, D])``."""
    b, h, t, dh = x.shape
    return x.permute(0, 2, 1, 3).reshape(b, t, h * dh)


def _causal_mask(scores: torch.Tensor) -> torch.Tensor:
    """``scores[..., i, j]`` for ``j <= i``, ``-inf`` above the diagonal."""
    t = scores.shape[-1]
    keep = torch.ones(t, t, dtype=torch.bool, device=scores.device).tril()
    return scores.masked_fill(~keep, -math.inf)


def _layernorm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """Over the last axis, biased variance, eps 1e-5: ``torch.nn.LayerNorm``'s formula."""
    return F.layer_norm(x, (x.shape[-1],), gamma, beta, eps=LAYERNORM_EPS)


# --- the loss ---------------------------------------------------------------------------


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``cross_entropy(logits, labels)``: softmax cross-entropy averaged over every position
    (all leading axes), labels integer class ids."""
    classes = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, classes), labels.reshape(-1).long())


# --- reading and rewriting .scl constants --------------------------------------------------

