"""The values the checker reasons about, and the broadcasting rule.

A .scl expression evaluates (at compile time) to one of:

- :class:`Tensor`: a run-time tensor of a :class:`TensorType`; while building IR it also
  carries the SSA value that holds it (``handle``);
- :class:`Number`: a compile-time number (a literal, a ``const``, a loop variable);
- :class:`DimValue`: a size (``B`` from ``dim B``, or a function's dimension parameter),
  usable only inside shapes;
- :class:`ListValue` / :class:`BoolValue`: arguments to builtins (shapes, permutations, flags);
- :data:`POISON`: the result of an expression that already produced a diagnostic. Every
  rule passes it through silently, so one mistake is reported once, not at every use.

**Broadcasting** (NumPy's rule, written down once here): align the two shapes at their
last axis; each pair of sizes must be equal or one of them must be the static size 1, and
the result takes the other. A symbolic size equals only the same symbolic size
(``B`` ≠ ``T`` even if they might coincide at run time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from scalc.dialects.nn.dims import Dim, format_shape

FLOAT_DTYPES = ("f32", "bf16", "f16")
INT_DTYPES = ("i32", "i64")
DTYPES = FLOAT_DTYPES + INT_DTYPES


@dataclass(frozen=True)
class TensorType:
    dtype: str
    dims: tuple[Dim, ...]

    @property
    def rank(self) -> int:
        return len(self.dims)

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOAT_DTYPES

    def with_dims(self, dims: tuple[Dim, ...] | list[Dim]) -> TensorType:
        return TensorType(self.dtype, tuple(dims))

    def substitute(self, binding: dict[str, Dim]) -> TensorType:
        return TensorType(self.dtype, tuple(d.substitute(binding) for d in self.dims))

    def __str__(self) -> str:
        return self.dtype + (format_shape(self.dims) if self.dims else "")


@dataclass(frozen=True)
class Tensor:
    type: TensorType
    handle: Any = None  # the SSA value while building IR; None while checking

    def describe(self) -> str:
        return f"a tensor of type {self.type}"


@dataclass(frozen=True)
class Number:
    """A compile-time number. ``value`` is None for a loop variable checked generically."""

    value: int | float | None
    is_int: bool

    def describe(self) -> str:
        return "an integer" if self.is_int else "a number"


@dataclass(frozen=True)
class DimValue:
    dim: Dim

    def describe(self) -> str:
        return f"the dimension {self.dim}"


@dataclass(frozen=True)
class ListValue:
    items: tuple[Value, ...]

    def describe(self) -> str:
        return "a list"


@dataclass(frozen=True)
class BoolValue:
    value: bool

    def describe(self) -> str:
        return "a boolean"


class _Poison:
    def describe(self) -> str:
        return "an erroneous value"

    def __repr__(self) -> str:
        return "POISON"


POISON = _Poison()

Value = Union[Tensor, Number, DimValue, ListValue, BoolValue, _Poison]


def broadcast_dims(a: tuple[Dim, ...], b: tuple[Dim, ...]) -> tuple[Dim, ...] | None:
    """The broadcast of two shapes by the rule above, or None when they do not broadcast."""
    one = Dim(1)
    out: list[Dim] = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else one
        y = b[-i] if i <= len(b) else one
        if x == y or y == one:
            out.append(x)
        elif x == one:
            out.append(y)
        else:
            return None
    return tuple(reversed(out))
