"""Optimizer updates with PyTorch's semantics (docs/train.md): ``nn.sgd`` as
``torch.optim.SGD`` (dampening 0) and ``nn.adamw`` as ``torch.optim.AdamW``.

Scalar arithmetic (``lr``, ``t``, bias corrections) is done in Python floats, as PyTorch
does, and only then applied to the tensors, which keep their dtype. Every kernel returns
new arrays; the executor writes them back with ``nn.set_param`` / ``nn.set_state``.
"""

from __future__ import annotations

import math

import numpy as np

from scalc.dialects import nn
from scalc.runtime.backends.reference.env import RefEnv
from scalc.runtime.backends.reference.registry import reference


@reference(nn.SgdOp)
def sgd(
    op: nn.SgdOp, env: RefEnv, w: np.ndarray, g: np.ndarray, buf: np.ndarray, lr: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(w, buf)`` after one step. With ``momentum = 0`` the buffer is unused and is
    returned unchanged (PyTorch keeps no buffer then); the step is ``-lr * g``."""
    momentum, weight_decay = op.momentum.value.data, op.weight_decay.value.data
    step = float(lr)
    if weight_decay != 0:
        g = g + weight_decay * w
    if momentum == 0:
        return w - step * g, buf
    buf = momentum * buf + g
    direction = g + momentum * buf if op.nesterov.value.data else buf
    return w - step * direction, buf


@reference(nn.AdamWOp)
def adamw(
    op: nn.AdamWOp,
    env: RefEnv,
    w: np.ndarray,
    g: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    lr: np.ndarray,
    t: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(w, m, v)`` after step ``t`` (1-based): decoupled weight decay first, then Adam
    with bias correction, in the operation order of PyTorch's single-tensor AdamW."""
    beta1, beta2 = op.beta1.value.data, op.beta2.value.data
    eps, weight_decay = op.eps.value.data, op.weight_decay.value.data
    step, count = float(lr), float(t)
    w = w * (1.0 - step * weight_decay)
    m = beta1 * m + (1.0 - beta1) * g
    v = beta2 * v + (1.0 - beta2) * (g * g)
    correction1 = 1.0 - beta1**count
    correction2_sqrt = math.sqrt(1.0 - beta2**count)
    denominator = np.sqrt(v) / correction2_sqrt + eps
    return w - (step / correction1) * (m / denominator), m, v
