"""The calling convention between a generated kernel module and the runtime (docs/lowering.md,
"Generated modules").

Every non-host kernel group becomes one Python module of readable Triton source:
``@triton.jit`` kernels plus one host function

    def launch(ops, sizes, *args: KernelValue) -> tuple[KernelValue, ...]

``ops`` is the group's op list (`KernelGroup.ops`, in the group's order: the host code reads
op properties and calls `result_scales` on them), ``sizes`` the run-time sizes the runtime
bound from the inputs (``{"B": 32, "T": 64}``), ``args`` one `KernelValue` per group input
(`KernelSource.inputs` order) and the result one per group output (`KernelSource.outputs`).
The host function allocates its results with `empty` on the device of its inputs; it never
writes into an argument.

Scales are host floats: a launch computes the scales of the values it makes from its input
scales with the ops' scale rules (`result_scales`, the same ``SCALE_RULES`` the reference
uses) and, for a dynamic ``scaled.rescale``, from the amax a kernel of the group produced
(`rescale_scale`; reading that amax back is one device sync per dynamic cast). Kernels take
the scales as fp32 arguments (``data_in * scale_in``, ``value / scale_out``), so scaled data
crosses the kernel boundary in its storage format (f8, bf16, f32).

This module imports no torch or triton at import time; generated modules import it as
``from scalc.lowering.codegen import abi``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Operation, SSAValue

from scalc.dialects.scaled.rules import SCALE_RULES, rescale_scale
from scalc.dialects.scaled.types import ScaledTensorType

__all__ = [
    "KernelValue",
    "FLUSH_BELOW",
    "FORMAT_MAX",
    "LARGEST",
    "TRITON_TYPE",
    "element_name",
    "empty",
    "format_of_value",
    "rescale_scale",
    "result_scales",
    "torch_dtype",
]


@dataclass(frozen=True)
class KernelValue:
    """A value crossing a kernel group's boundary.

    ``data`` is a torch tensor in the value's storage dtype (``float8_e4m3fn``,
    ``float8_e5m2``, ``bfloat16``, ``float32``, ``int32``/``int64`` ids); ``scale`` the fp32
    power-of-two scale of a ``!scaled.tensor`` (value = data * scale), or ``None`` for a
    plain tensor (an ``nn`` value of the fp32 recipe, an amax, ids, an amax history).
    The data may be a strided view (a transpose is free): kernels take strides.
    """

    data: Any
    scale: float | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)


# Element type names (as MLIR prints them) -> torch dtype attribute names and Triton types.
_TORCH = {
    "f32": "float32",
    "bf16": "bfloat16",
    "f16": "float16",
    "f8E4M3FN": "float8_e4m3fn",
    "f8E5M2": "float8_e5m2",
    "i32": "int32",
    "i64": "int64",
}
TRITON_TYPE = {
    "f32": "fp32",
    "bf16": "bf16",
    "f16": "fp16",
    "f8E4M3FN": "fp8e4nv",
    "f8E5M2": "fp8e5",
    "i32": "i32",
    "i64": "i64",
}
"""Element type name -> the Triton type string a signature uses (``*fp8e4nv`` for a pointer)."""

LARGEST = {"f8E4M3FN": 448.0, "f8E5M2": 57344.0, "bf16": 3.3895313892515355e38}
"""Largest finite value of each low-precision format (stores saturate to it)."""

FORMAT_MAX = {**LARGEST, "f16": 65504.0, "f32": 3.4028234663852886e38}
"""Largest finite value of every format (what a cast's statistics call saturated above)."""

FLUSH_BELOW = {"f8E4M3FN": 2.0**-10, "f8E5M2": 2.0**-17, "bf16": 2.0**-134, "f16": 2.0**-25,
               "f32": 0.0}  # fmt: skip
"""A nonzero magnitude at or below this rounds to zero in each format (half its smallest
subnormal: the tie goes to the even neighbour, zero); the reference's ``flush_below``."""


def element_name(t: Attribute) -> str:
    """``f32``, ``bf16``, ``f8E4M3FN``, ``f8E5M2``, ``i32`` ... of a tensor or scaled type."""
    assert isinstance(t, TensorType | ScaledTensorType), t
    return str(t.get_element_type())


def format_of_value(value: SSAValue) -> str:
    """The element type name of ``value`` (see `element_name`)."""
    return element_name(value.type)


def torch_dtype(name: str) -> Any:
    """The torch dtype of element type ``name``."""
    import torch

    return getattr(torch, _TORCH[name])


def empty(shape: Sequence[int], name: str, device: Any) -> Any:
    """An uninitialised contiguous tensor of element type ``name`` on ``device``."""
    import torch

    return torch.empty(tuple(int(s) for s in shape), dtype=torch_dtype(name), device=device)


def result_scales(
    op: Operation, scales: Sequence[float | None], shapes: Sequence[Sequence[int]]
) -> tuple[float, ...]:
    """The scales of ``op``'s results from its operands' scales and run-time shapes: the
    op's ``SCALE_RULES`` entry, as the reference backend applies it (a NaN or infinite
    input scale gives NaN results: the step is then reported and skipped, not crashed)."""
    if not all(s is None or 0.0 < s < math.inf for s in scales):
        return (math.nan,) * len(op.results)
    return SCALE_RULES[type(op)](op, tuple(scales), tuple(tuple(s) for s in shapes))
