"""Symbolic dimension sizes shared by the frontend checker and the `nn` dialect.

A dimension is a monomial: an integer coefficient times a product of named symbolic
sizes bound at run time (``B``, ``T``).  ``128``, ``B``, ``B*T`` and ``4*B`` are all
dimensions.  Monomials are closed under multiplication, which is all that reshapes such
as ``[B, T, D] -> [B*T, D]`` need, and division is defined exactly when it is exact.

>>> Dim.parse("T*B") * Dim.of(4)
Dim(coeff=4, symbols=('B', 'T'))
>>> str(Dim.parse("B*T").divide(Dim.parse("T")))
'B'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import reduce

_SYMBOL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True, order=True)
class Dim:
    """``coeff * prod(symbols)``; ``symbols`` is sorted so equal sizes compare equal."""

    coeff: int
    symbols: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.coeff < 0:
            raise ValueError(f"a dimension cannot be negative: {self.coeff}")
        if tuple(sorted(self.symbols)) != self.symbols:
            object.__setattr__(self, "symbols", tuple(sorted(self.symbols)))

    @staticmethod
    def of(value: int | str | Dim) -> Dim:
        """A static size from an int, a symbolic size from a name, or ``value`` itself."""
        if isinstance(value, Dim):
            return value
        if isinstance(value, bool):
            raise TypeError("a dimension is an int or a symbol name, not a bool")
        if isinstance(value, int):
            return Dim(value)
        return Dim.parse(value)

    @staticmethod
    def parse(text: str) -> Dim:
        """Parse ``"B*T"``, ``"4*B"`` or ``"128"``; raise ``ValueError`` on anything else."""
        coeff, symbols = 1, list[str]()
        factors = text.replace(" ", "").split("*")
        if not text.strip() or any(not f for f in factors):
            raise ValueError(f"malformed dimension {text!r}")
        for factor in factors:
            if factor.isdigit():
                coeff *= int(factor)
            elif _SYMBOL.match(factor):
                symbols.append(factor)
            else:
                raise ValueError(f"malformed dimension {text!r}: bad factor {factor!r}")
        return Dim(coeff, tuple(sorted(symbols)))

    @property
    def is_static(self) -> bool:
        return not self.symbols

    @property
    def value(self) -> int:
        """The size of a static dimension."""
        if self.symbols:
            raise ValueError(f"dimension {self} is symbolic")
        return self.coeff

    def __mul__(self, other: Dim | int) -> Dim:
        other = Dim.of(other)
        return Dim(self.coeff * other.coeff, tuple(sorted(self.symbols + other.symbols)))

    def divide(self, other: Dim | int) -> Dim | None:
        """``self / other`` when it is an exact monomial, else ``None``."""
        other = Dim.of(other)
        if other.coeff == 0 or self.coeff % other.coeff:
            return None
        rest = list(self.symbols)
        for sym in other.symbols:
            if sym not in rest:
                return None
            rest.remove(sym)
        return Dim(self.coeff // other.coeff, tuple(rest))

    def substitute(self, binding: dict[str, Dim]) -> Dim:
        """Replace bound symbols by their sizes (used when a generic function is called)."""
        parts = [binding.get(s, Dim(1, (s,))) for s in self.symbols]
        return reduce(Dim.__mul__, parts, Dim(self.coeff))

    def evaluate(self, sizes: dict[str, int]) -> int:
        """The concrete size once every symbol has a run-time value."""
        missing = [s for s in self.symbols if s not in sizes]
        if missing:
            raise KeyError(f"no size bound for {', '.join(missing)}")
        return reduce(lambda acc, s: acc * sizes[s], self.symbols, self.coeff)

    def __str__(self) -> str:
        if not self.symbols:
            return str(self.coeff)
        head = [] if self.coeff == 1 else [str(self.coeff)]
        return "*".join(head + list(self.symbols))


def product(dims: tuple[Dim, ...] | list[Dim]) -> Dim:
    """The number of elements of a shape."""
    return reduce(Dim.__mul__, dims, Dim(1))


def format_shape(dims: tuple[Dim, ...] | list[Dim]) -> str:
    """``[B, T, 128]``: how shapes appear in diagnostics."""
    return "[" + ", ".join(str(d) for d in dims) + "]"
