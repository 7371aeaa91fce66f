"""The .scl abstract syntax tree: frozen dataclasses, each with the source span it came from.

The parser (``parser.py``) builds these from Lark's parse tree; the checker and the IR
builder (``check.py``, ``build.py``) read them. Nothing here knows about types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from scalc.diagnostics import Span


# ----------------------------------------------------------------------------- expressions
@dataclass(frozen=True)
class Num:
    """An integer or floating-point literal: ``3``, ``0.02``, ``1e-5``."""

    value: int | float
    span: Span


@dataclass(frozen=True)
class Bool:
    value: bool
    span: Span


@dataclass(frozen=True)
class Name:
    id: str
    span: Span


@dataclass(frozen=True)
class Binary:
    """``lhs OP rhs`` for ``OP`` in ``+ - * / @``."""

    op: str
    lhs: Expr
    rhs: Expr
    span: Span


@dataclass(frozen=True)
class Neg:
    operand: Expr
    span: Span


@dataclass(frozen=True)
class Keyword:
    """``name = value`` inside a call."""

    name: str
    value: Expr
    span: Span


@dataclass(frozen=True)
class Call:
    """``func(args..., name=value...)``; ``func`` names a builtin or a user ``fn``."""

    func: str
    func_span: Span
    args: tuple[Expr, ...]
    kwargs: tuple[Keyword, ...]
    span: Span


@dataclass(frozen=True)
class Slice:
    """``lo:hi`` in a subscript; either bound may be omitted."""

    lo: Expr | None
    hi: Expr | None
    span: Span


@dataclass(frozen=True)
class Index:
    """``base[i, lo:hi, ...]``: integer indices and slices along the leading axes."""

    base: Expr
    items: tuple[Expr | Slice, ...]
    span: Span


@dataclass(frozen=True)
class ListExpr:
    """``[a, b, c]``: shapes and permutations given to builtins."""

    items: tuple[Expr, ...]
    span: Span


Expr = Union[Num, Bool, Name, Binary, Neg, Call, Index, ListExpr]


# ----------------------------------------------------------------------------- types
@dataclass(frozen=True)
class TypeExpr:
    """``f32[B, 64]``; ``dims`` is empty for a scalar such as ``f32``."""

    dtype: str
    dims: tuple[Expr, ...]
    span: Span


# ----------------------------------------------------------------------------- statements
@dataclass(frozen=True)
class Let:
    name: str
    annotation: TypeExpr | None
    value: Expr
    span: Span
    name_span: Span


@dataclass(frozen=True)
class Assign:
    """``h = expr``: rebinds an existing ``let`` to a value of the same type."""

    name: str
    value: Expr
    span: Span
    name_span: Span


@dataclass(frozen=True)
class Return:
    value: Expr
    span: Span


@dataclass(frozen=True)
class For:
    """``for i in range(lo, hi) { ... }``: unrolled at compile time."""

    var: str
    lo: Expr | None
    hi: Expr
    body: tuple[Stmt, ...]
    span: Span
    var_span: Span


Stmt = Union[Let, Assign, Return, For]


# ----------------------------------------------------------------------------- declarations
@dataclass(frozen=True)
class ModelDecl:
    name: str
    span: Span


@dataclass(frozen=True)
class ConstDecl:
    """``const D = 128``: a compile-time number."""

    name: str
    value: Expr
    span: Span
    name_span: Span


@dataclass(frozen=True)
class DimDecl:
    """``dim B, T``: symbolic sizes bound from the inputs at run time."""

    names: tuple[tuple[str, Span], ...]
    span: Span


@dataclass(frozen=True)
class InputDecl:
    name: str
    type: TypeExpr
    span: Span
    name_span: Span


@dataclass(frozen=True)
class ParamDecl:
    """``param w: f32[64, 10] = normal(std=0.1)``."""

    name: str
    type: TypeExpr
    init: Expr
    span: Span
    name_span: Span


@dataclass(frozen=True)
class FnParam:
    """``x: f32[N, K]`` (a tensor) or ``l: int`` (a compile-time integer, ``type`` None)."""

    name: str
    type: TypeExpr | None
    span: Span


@dataclass(frozen=True)
class FnDef:
    """``fn name[N, K](x: f32[N, K], ...) -> f32[N, K] { ... }``; inlined at each call."""

    name: str
    dim_params: tuple[tuple[str, Span], ...]
    params: tuple[FnParam, ...]
    result: TypeExpr | None
    body: tuple[Stmt, ...]
    span: Span
    name_span: Span


@dataclass(frozen=True)
class OutputDecl:
    """``output logits = expr``: a value returned by the ``forward`` entry point."""

    name: str
    value: Expr
    span: Span
    name_span: Span


@dataclass(frozen=True)
class LossDecl:
    """``loss = expr``: the scalar that training minimises."""

    value: Expr
    span: Span


Decl = Union[ModelDecl, ConstDecl, DimDecl, InputDecl, ParamDecl, FnDef, OutputDecl, LossDecl]


@dataclass(frozen=True)
class Program:
    """A whole .scl file: declarations and top-level statements, in source order."""

    file: str
    items: tuple[Decl | Stmt, ...]
