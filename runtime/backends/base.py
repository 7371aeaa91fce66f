"""What a `Session` asks of a backend (DESIGN.md §7-§8, docs/runtime.md "Backends"): one
interface that the NumPy reference (`ReferenceBackend`) and the Triton backends
(`TritonBackend`) implement, so the session never branches on which one it runs.

A backend makes the environment the kernels read and write (parameters, state, sizes), an
`Executor` per entry point, and answers the few questions the session asks about a step's
device values: the gradient norm (and which gradient is not finite), the metrics a step
leaves on the device (cast statistics, descent metrics: read when the user reads them),
and a device value as a NumPy array when the user asks for one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
from xdsl.dialects import func

from scalc.runtime.executor import Executor


class Backend(Protocol):
    """The session's side of a backend."""

    name: str
    """``reference``, ``triton`` or ``triton-interpret``."""

    def env(self, rng: np.random.Generator) -> Any:
        """A fresh environment (a `RefEnv` or a subclass) whose tables the session fills."""
        ...

    def executor(self, fn: func.FuncOp) -> Executor:
        """The executor of one entry point of the program's train module."""
        ...

    def grad_norm(self, grads: Mapping[str, Any]) -> tuple[float, str | None]:
        """The global L2 norm of ``grads`` and the first parameter whose gradient is not
        finite (``None`` if all are)."""
        ...

    def step_metrics(
        self, recorded: dict[str, Any], update_stats: Sequence[Any] | None
    ) -> Callable[[], dict[str, Any]]:
        """The metrics a step leaves on the device, made when called (a device backend
        reads them then, in one transfer): ``tensors`` from what the casts recorded in
        ``env.stats`` (name -> ``{"scale", "amax", "saturated", "underflow"}``; absent if
        nothing was recorded) and, from the ``nn.update_stats`` results of
        ``@optimizer_step`` (``None`` for a skipped step), ``edq`` and ``stalled``
        (docs/collage.md)."""
        ...

    def to_host(self, value: Any) -> np.ndarray:
        """A value an executor returned (NumPy array or device tensor) as a NumPy array
        the caller owns."""
        ...
