"""What reference kernels may read and write besides their operands."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scalc.dialects.nn import DimsAttr


@dataclass
class RefEnv:
    """The run-time state an executor hands to every kernel; the executor owns it.

    ``sizes`` binds the symbolic dims (``B``, ``T``) of the current call, ``params`` and
    ``state`` hold the model's parameters and optimizer state by symbol name (without
    ``@``). ``rng`` draws the initial values of ``normal`` parameters (``nn.param``).
    Kernels never write into an array they were given; ``nn.set_param`` and
    ``nn.set_state`` store copies.
    """

    sizes: dict[str, int] = field(default_factory=dict[str, int])
    params: dict[str, np.ndarray] = field(default_factory=dict[str, np.ndarray])
    state: dict[str, np.ndarray] = field(default_factory=dict[str, np.ndarray])
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    stats: dict[str, dict[str, float]] | None = field(default_factory=dict[str, dict[str, float]])
    """Numerics of the ``scaled.cast`` ops run (name -> scale, amax, saturated, underflow;
    backends/reference/scaled.py); ``None`` turns the recording off."""

    def shape(self, dims: DimsAttr) -> tuple[int, ...]:
        """The concrete shape named by ``dims`` under the current ``sizes``.

        >>> RefEnv(sizes={"B": 2, "T": 3}).shape(DimsAttr(["B*T", 128]))
        (6, 128)
        """
        return tuple(d.evaluate(self.sizes) for d in dims.dims)
