"""The table of reference kernels, keyed by op class (one ``@reference(nn.XOp)`` each).

A kernel takes the op (for its attributes), the environment and the operand arrays, and
returns the result array, a tuple of them for ops with several results, or ``None`` for
ops that only write into the environment (``nn.set_param``, ``nn.set_state``)::

    @reference(nn.ReluOp)
    def relu(op: nn.ReluOp, env: RefEnv, x: np.ndarray) -> np.ndarray: ...

``tests/runtime/test_reference_registry.py`` checks that every op of the ``nn`` dialect
has exactly one kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from xdsl.ir import Operation

from scalc.runtime.backends.reference.env import RefEnv

KernelResult = np.ndarray | tuple[np.ndarray, ...] | None
Kernel = Callable[..., KernelResult]
"""``kernel(op, env, *operands)``; typed loosely because each kernel takes its own op class."""

REFERENCE: dict[type[Operation], Kernel] = {}
"""Op class -> its NumPy kernel. Filled when ``scalc.runtime.backends.reference`` is imported."""

_K = TypeVar("_K", bound=Callable[..., Any])


class DuplicateKernelError(ValueError):
    """An op class was given a second reference kernel (a bug in scalc, not user input)."""


def reference(op_class: type[Operation]) -> Callable[[_K], _K]:
    """Register the decorated function as the reference kernel of ``op_class``.

    Raises `DuplicateKernelError` if ``op_class`` already has one, so two modules can never
    silently disagree about an op's semantics.
    """

    def register(kernel: _K) -> _K:
        if op_class in REFERENCE:
            existing = REFERENCE[op_class]
            raise DuplicateKernelError(
                f"{op_class.name} already has a reference kernel: "
                f"{existing.__module__}.{existing.__qualname__}"
            )
        REFERENCE[op_class] = kernel
        return kernel

    return register


def evaluate(op: Operation, env: RefEnv, *operands: np.ndarray) -> KernelResult:
    """Run ``op`` on ``operands`` with its reference kernel: for ``op = nn.ReluOp(x)``,
    ``evaluate(op, RefEnv(), np.array([-1.0, 2.0]))`` is ``array([0., 2.])``."""
    kernel = REFERENCE.get(type(op))
    if kernel is None:
        raise NotImplementedError(f"{op.name} has no reference kernel")
    return kernel(op, env, *operands)
