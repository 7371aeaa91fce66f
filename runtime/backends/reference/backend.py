"""`ReferenceBackend`: the NumPy reference as a session backend (runtime/backends/base.py).
Every kernel is the op's reference kernel (`REFERENCE`); values are NumPy arrays."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from xdsl.dialects import func

from scalc.runtime.backends.reference.env import RefEnv
from scalc.runtime.backends.reference.registry import REFERENCE
from scalc.runtime.executor import Executor


class ReferenceBackend:
    """The oracle: vectorised NumPy with exact FP8/BF16 emulation."""

    name = "reference"

    def env(self, rng: np.random.Generator) -> RefEnv:
        return RefEnv(rng=rng)

    def executor(self, fn: func.FuncOp) -> Executor:
        return Executor(fn, REFERENCE)

    def grad_norm(self, grads: Mapping[str, np.ndarray]) -> tuple[float, str | None]:
        total = 0.0
        for name, g in grads.items():
            flat = g.reshape(-1)
            square = float(np.dot(flat, flat))
            if not math.isfinite(square):
                if not np.isfinite(flat).all():
                    return math.nan, name
                square = float(np.dot(flat.astype(np.float64), flat.astype(np.float64)))
            total += square
        return math.sqrt(total), None

    def step_metrics(
        self, recorded: dict[str, Any], update_stats: Sequence[np.ndarray] | None
    ) -> Callable[[], dict[str, Any]]:
        metrics: dict[str, Any] = {"tensors": recorded} if recorded else {}
        if update_stats:
            sums = np.sum(np.stack(update_stats).astype(np.float64), axis=0)
            metrics |= descent_from_sums(*(float(v) for v in sums))
        return lambda: metrics  # computed already, as the kernels ran

    def to_host(self, value: Any) -> np.ndarray:
        return np.array(value, copy=True)


def descent_from_sums(dot: float, norm2: float, stalled: float, nonzero: float) -> dict[str, float]:
    """``edq`` = <θ_new - θ_old, -Δ> / ||Δ||² (1: nothing lost) and ``stalled``, the
    fraction of elements whose intended update was non-zero but whose stored value did not
    change, from the four sums of ``nn.update_stats`` over all parameters."""
    return {
        "edq": dot / norm2 if norm2 > 0 else 1.0,
        "stalled": stalled / nonzero if nonzero > 0 else 0.0,
    }
