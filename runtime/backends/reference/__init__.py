"""The NumPy reference backend: the semantics of every ``nn`` and ``scaled`` op
(docs/ir.md, docs/train.md, docs/scaled.md), the oracle every other backend is tested
against.

Importing this package registers one kernel per op class in `REFERENCE` (the only side
effect); `evaluate` runs one op. Kernels compute in vectorised NumPy, keep the operands'
float type (float64 in, float64 out) and never write into their operands.
"""

# The kernel modules, one per op family: importing them registers their kernels.
from scalc.runtime.backends.reference import (
    elementwise,
    grads,
    layers,
    linalg,
    loss,
    mcf,
    module,
    optim,
    reduce,
    scaled,
    shape,
)
from scalc.runtime.backends.reference.env import RefEnv
from scalc.runtime.backends.reference.registry import REFERENCE, Kernel, evaluate, reference

__all__ = [
    "REFERENCE",
    "Kernel",
    "RefEnv",
    "elementwise",
    "evaluate",
    "grads",
    "layers",
    "linalg",
    "loss",
    "mcf",
    "module",
    "optim",
    "reduce",
    "reference",
    "scaled",
    "shape",
]
