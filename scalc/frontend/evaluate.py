"""One evaluator for checking and for building IR.

The program is evaluated at compile time: consts fold, ``for`` loops unroll and values
are tensors of known types. With a checking emitter the evaluator only infers types and
reports diagnostics; with the IR emitter (``build.py``) the same walk also emits `nn` ops.
So the checker and the IR builder cannot disagree about what a program means.

Function bodies are checked once, generically, where they are defined (their dimension
parameters stay symbols), so mistakes in a function are reported even if it is never
called; calls are then checked against the signature. When building, calls are inlined.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from scalc.diagnostics import DiagnosticSink, Span, did_you_mean
from scalc.dialects.nn.dims import Dim, format_shape
from scalc.frontend import ast
from scalc.frontend.scope import GLOBAL_KINDS, KEYWORDS, LOCAL_KINDS, Scope, describe_kind
from scalc.frontend.types import (
    DTYPES,
    POISON,
    BoolValue,
    DimValue,
    ListValue,
    Number,
    Tensor,
    TensorType,
    Value,
    broadcast_dims,
)


MAX_INT = 2**63 - 1  # sizes, indices and axes are 64-bit integers in the IR

# Function bodies are checked once for every call, so an `int` parameter has no value there.
_INT_PARAM_UNKNOWN = "an `int` parameter cannot be used {where}: it is known only at each call"


class Reported(Exception):
    """Unwinds the current statement after its diagnostic has been recorded."""


class Emitter(Protocol):
    """Where evaluated tensor operations go: nowhere (checking) or into IR (building)."""

    building: bool

    def emit(self, op: str, operands: list[Tensor], result: TensorType, **props: Any) -> Tensor:
        """Apply the `nn` op named ``op`` (e.g. ``"nn.relu"``) and return its result."""
        ...

    def name(self, value: Tensor, hint: str) -> None:
        """Give ``value`` a readable SSA name (``%h``) in the printed IR."""
        ...


class CheckEmitter:
    """Emits nothing: every op just yields a tensor of its inferred type."""

    building = False

    def emit(self, op: str, operands: list[Tensor], result: TensorType, **props: Any) -> Tensor:
        return Tensor(result)

    def name(self, value: Tensor, hint: str) -> None:
        pass


@dataclass
class Function:
    """A user ``fn``: its definition and, once checked, its result type (None if broken)."""

    node: ast.FnDef
    params: list[tuple[str, TensorType | None]] | None = None  # None type: an `int`
    result: TensorType | None = None


_BINARY_OPS = {"+": "nn.add", "-": "nn.sub", "*": "nn.mul", "/": "nn.div"}
_FOLD: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
}


class Evaluator:
    """Evaluates a program; diagnostics go to ``sink``, tensor ops to ``emitter``."""

    def __init__(self, sink: DiagnosticSink, emitter: Emitter):
        self.sink = sink
        self.emitter = emitter
        # Runs one statement; set by the program runner (statements live in program.py).
        self.run_stmt: Callable[[Any, Scope], None] = _no_statements
        # The calls being inlined (function name, call span), outermost first. An error
        # found only when a body is inlined (an `int` argument indexing out of range)
        # names the call that caused it, not just the line in the body.
        self.call_sites: list[tuple[str, Span]] = []

    # ------------------------------------------------------------------ diagnostics
    def fail(self, span: Span, message: str) -> Reported:
        """Record an error and return the exception that unwinds the statement."""
        if self.call_sites:
            name, site = self.call_sites[-1]
            outer = "".join(f", from line {s.line}" for _, s in reversed(self.call_sites[:-1]))
            message += f" (in `{name}` called at line {site.line}{outer})"
        self.sink.error(span, message)
        return Reported()

    # ------------------------------------------------------------------ names
    def lookup(self, name: str, span: Span, scope: Scope) -> Value | Function:
        binding, hidden = scope.lookup(name)
        if binding is None:
            hint = did_you_mean(name, scope.visible_names() | self.callable_names(scope))
            raise self.fail(span, f"unknown name `{name}`{hint}")
        if hidden:
            raise self.fail(
                span,
                f"`{name}` is a top-level `{binding.kind}`, which functions cannot see; "
                "pass it as an argument",
            )
        if binding.value is POISON:
            raise Reported()
        return binding.value  # type: ignore[return-value]

    def callable_names(self, scope: Scope) -> set[str]:
        from scalc.frontend.builtins import BUILTINS

        return set(BUILTINS)

    def define(self, scope: Scope, name: str, value: object, kind: str, span: Span) -> None:
        """Bind ``name`` in ``scope``, refusing keywords, redefinitions and hidden names."""
        if name in KEYWORDS:
            self.sink.error(span, f"`{name}` is a keyword and cannot be used as a name")
            return
        existing, _ = scope.root().lookup(name) if scope.parent else (None, False)
        local = scope.names.get(name)
        clash = local or existing
        if clash is not None and clash.kind in GLOBAL_KINDS:
            self.sink.error(
                span,
                f"`{name}` is already defined as {describe_kind(clash.kind)} "
                f"at line {clash.span.line}",
            )
            return
        if local is not None:
            self.sink.error(span, f"`{name}` is already defined at line {local.span.line}")
            return
        outer = scope.enclosing_binding(name)
        if kind == "let" and outer is not None and outer.kind in LOCAL_KINDS:
            self.sink.error(
                span,
                f"`{name}` is already {describe_kind(outer.kind)} (line {outer.span.line}); "
                f"to update it write `{name} = ...` without `let`",
            )
            return
        scope.define(name, value, kind, span)

    # ------------------------------------------------------------------ dims and types
    def eval_dim(self, expr: ast.Expr, scope: Scope) -> Dim:
        """A size: an integer, a dimension name, or a product/quotient of them."""
        if isinstance(expr, ast.Binary) and expr.op in "*/+-":
            lhs, rhs = self.eval_dim(expr.lhs, scope), self.eval_dim(expr.rhs, scope)
            return self._dim_arith(expr, lhs, rhs)
        value = self.eval(expr, scope, dims_ok=True)
        if isinstance(value, DimValue):
            return value.dim
        if isinstance(value, Number) and value.is_int and value.value is not None:
            if value.value < 0:
                raise self.fail(expr.span, f"a size cannot be negative, got {value.value}")
            return Dim(int(value.value))
        if isinstance(value, Number) and value.is_int:
            raise self.fail(expr.span, _INT_PARAM_UNKNOWN.format(where="as a size"))
        got = value.value if isinstance(value, Number) else value.describe()
        raise self.fail(expr.span, f"expected a size (an integer or a dimension), got {got}")

    def _dim_arith(self, expr: ast.Binary, lhs: Dim, rhs: Dim) -> Dim:
        if expr.op == "*":
            if (lhs * rhs).coeff > MAX_INT:
                raise self.fail(expr.span, "this size is too large: sizes must be below 2**63")
            return lhs * rhs
        if expr.op == "/":
            quotient = lhs.divide(rhs)
            if quotient is None:
                raise self.fail(expr.span, f"size {lhs} is not divisible by {rhs}")
            return quotient
        if lhs.is_static and rhs.is_static:
            total = lhs.value + rhs.value if expr.op == "+" else lhs.value - rhs.value
            if total < 0:
                raise self.fail(expr.span, f"a size cannot be negative, got {total}")
            return Dim(total)
        raise self.fail(expr.span, f"`{expr.op}` on symbolic sizes ({lhs}, {rhs}) is not a size")

    def eval_type(self, texpr: ast.TypeExpr, scope: Scope) -> TensorType:
        if texpr.dtype not in DTYPES:  # the grammar admits only known dtypes
            raise self.fail(texpr.span, f"unknown dtype `{texpr.dtype}`")
        dims: list[Dim] = []
        failed = False
        for d in texpr.dims:
            try:
                dims.append(self.eval_dim(d, scope))
            except Reported:
                failed = True
        if failed:
            raise Reported()
        return TensorType(texpr.dtype, tuple(dims))

    # ------------------------------------------------------------------ expressions
    def eval(self, expr: ast.Expr, scope: Scope, dims_ok: bool = False) -> Value:
        """Evaluate ``expr``; ``dims_ok`` allows a bare dimension name (inside shapes)."""
        value = self._EVAL[type(expr)](self, expr, scope)
        if isinstance(value, DimValue) and not dims_ok:
            raise self.fail(
                expr.span,
                f"`{value.dim}` is a dimension, not a value; dimensions appear only in shapes",
            )
        return value

    def eval_tensor(self, expr: ast.Expr, scope: Scope, what: str) -> Tensor:
        value = self.eval(expr, scope)
        if not isinstance(value, Tensor):
            raise self.fail(expr.span, f"{what} must be a tensor, got {value.describe()}")
        return value

    def _eval_num(self, expr: ast.Num, scope: Scope) -> Value:
        is_int = isinstance(expr.value, int)
        what = "this integer" if is_int else "this number"
        return self.number(expr.span, expr.value, is_int, what)

    def number(self, span: Span, value: int | float, is_int: bool, what: str) -> Number:
        """``Number(value)``, or a diagnostic when ``value`` leaves the range the IR holds."""
        if is_int and abs(value) > MAX_INT:
            raise self.fail(span, f"{what} is too large: compile-time integers must be below 2**63")
        if not is_int and not math.isfinite(value):
            raise self.fail(span, f"{what} is too large for a float")
        return Number(value, is_int)

    def _eval_bool(self, expr: ast.Bool, scope: Scope) -> Value:
        return BoolValue(expr.value)

    def _eval_name(self, expr: ast.Name, scope: Scope) -> Value:
        value = self.lookup(expr.id, expr.span, scope)
        if isinstance(value, Function):
            raise self.fail(expr.span, f"function `{expr.id}` must be called: `{expr.id}(...)`")
        return value

    def _eval_list(self, expr: ast.ListExpr, scope: Scope) -> Value:
        return ListValue(tuple(self.eval(item, scope, dims_ok=True) for item in expr.items))

    def _eval_neg(self, expr: ast.Neg, scope: Scope) -> Value:
        value = self.eval(expr.operand, scope)
        if isinstance(value, Number):
            # None: a function's `int` parameter, checked generically; its value comes per call.
            return Number(None if value.value is None else -value.value, value.is_int)
        if isinstance(value, Tensor):
            self.require_float(value, expr.operand.span, "`-`")
            return self.emitter.emit("nn.neg", [value], value.type)
        raise self.fail(expr.span, f"cannot negate {value.describe()}")

    def _eval_binary(self, expr: ast.Binary, scope: Scope) -> Value:
        lhs, rhs = self.eval(expr.lhs, scope), self.eval(expr.rhs, scope)
        if isinstance(lhs, Number) and isinstance(rhs, Number):
            return self._fold(expr, lhs, rhs)
        if expr.op == "@":
            from scalc.frontend.builtins import matmul_rule

            return matmul_rule(self, expr, lhs, rhs)
        return self.elementwise(expr.op, lhs, rhs, expr)

    def _fold(self, expr: ast.Binary, lhs: Number, rhs: Number) -> Number:
        if expr.op == "@":
            raise self.fail(expr.span, "`@` needs tensors, got two numbers")
        if lhs.value is None or rhs.value is None:
            return Number(None, lhs.is_int and rhs.is_int and expr.op != "/")
        what = f"the result of `{expr.op}`"
        if expr.op == "/":
            if rhs.value == 0:
                raise self.fail(expr.span, "division by zero")
            exact = lhs.is_int and rhs.is_int and lhs.value % rhs.value == 0
            quotient = lhs.value // rhs.value if exact else lhs.value / rhs.value
            return self.number(expr.span, quotient, exact, what)
        result = _FOLD[expr.op](lhs.value, rhs.value)
        return self.number(expr.span, result, lhs.is_int and rhs.is_int, what)

    def require_float(self, t: Tensor, span: Span, what: str) -> None:
        if not t.type.is_float:
            raise self.fail(span, f"{what} needs a float tensor, got {t.type}")

    def scalar_like(self, number: Number, like: Tensor) -> Tensor:
        """A compile-time number as a tensor broadcast to ``like``'s type.

        The value is unknown (None) only while a function body is checked generically, where
        nothing is emitted; every inlined call knows it.
        """
        scalar = self.emitter.emit(
            "nn.constant", [], TensorType(like.type.dtype, ()), value=float(number.value or 0.0)
        )
        return self.broadcast_to(scalar, like.type.dims)

    def broadcast_to(self, t: Tensor, dims: tuple[Dim, ...]) -> Tensor:
        if t.type.dims == dims:
            return t
        return self.emitter.emit("nn.broadcast", [t], t.type.with_dims(dims), shape=dims)

    def elementwise(self, op: str, lhs: Value, rhs: Value, expr: ast.Binary | ast.Call) -> Tensor:
        """``lhs op rhs`` for ``op`` in ``+ - * /``, broadcasting explicitly."""
        spans = (expr.lhs.span, expr.rhs.span) if isinstance(expr, ast.Binary) else (expr.span,) * 2
        for value, span in zip((lhs, rhs), spans):
            if not isinstance(value, (Tensor, Number)):
                raise self.fail(span, f"`{op}` needs tensors or numbers, got {value.describe()}")
            if isinstance(value, Tensor):
                self.require_float(value, span, f"`{op}`")
        if isinstance(lhs, Number):
            assert isinstance(rhs, Tensor)
            lhs = self.scalar_like(lhs, rhs)
        if isinstance(rhs, Number):
            assert isinstance(lhs, Tensor)
            rhs = self.scalar_like(rhs, lhs)
        assert isinstance(lhs, Tensor) and isinstance(rhs, Tensor)
        if lhs.type.dtype != rhs.type.dtype:
            raise self.fail(expr.span, f"`{op}` mixes dtypes {lhs.type.dtype} and {rhs.type.dtype}")
        dims = broadcast_dims(lhs.type.dims, rhs.type.dims)
        if dims is None:
            raise self.fail(
                expr.span,
                f"`{op}`: shapes {format_shape(lhs.type.dims)} and {format_shape(rhs.type.dims)} "
                "do not broadcast",
            )
        lhs, rhs = self.broadcast_to(lhs, dims), self.broadcast_to(rhs, dims)
        return self.emitter.emit(_BINARY_OPS[op], [lhs, rhs], lhs.type.with_dims(dims))

    def _eval_call(self, expr: ast.Call, scope: Scope) -> Value:
        from scalc.frontend.builtins import BUILTINS, call_builtin

        binding, _ = scope.lookup(expr.func)
        if binding is not None and binding.value is POISON:
            raise Reported()  # a function whose definition was already reported
        if binding is not None and isinstance(binding.value, Function):
            from scalc.frontend.functions import call_function

            return call_function(self, binding.value, expr, scope)
        if expr.func in BUILTINS:
            return call_builtin(self, BUILTINS[expr.func], expr, scope)
        if binding is not None:
            raise self.fail(
                expr.func_span, f"`{expr.func}` is {describe_kind(binding.kind)}, not a function"
            )
        hint = did_you_mean(expr.func, set(BUILTINS) | self.function_names(scope))
        raise self.fail(expr.func_span, f"unknown function `{expr.func}`{hint}")

    def function_names(self, scope: Scope) -> set[str]:
        return {n for n in scope.visible_names() if isinstance(scope.lookup(n)[0].value, Function)}  # type: ignore[union-attr]

    def _eval_index(self, expr: ast.Index, scope: Scope) -> Value:
        from scalc.frontend.builtins import index_rule

        return index_rule(self, expr, scope)

    _EVAL: dict[type, Callable[[Evaluator, Any, Scope], Value]] = {
        ast.Num: _eval_num,
        ast.Bool: _eval_bool,
        ast.Name: _eval_name,
        ast.ListExpr: _eval_list,
        ast.Neg: _eval_neg,
        ast.Binary: _eval_binary,
        ast.Call: _eval_call,
        ast.Index: _eval_index,
    }

    def eval_static(self, expr: ast.Expr, scope: Scope, want_int: bool) -> int | float:
        """A compile-time number (``const`` values, range bounds, indices)."""
        value = self.eval(expr, scope)
        if isinstance(value, Number) and value.value is None:
            raise self.fail(expr.span, _INT_PARAM_UNKNOWN.format(where="here"))
        ok = isinstance(value, Number)
        if not ok or (want_int and not value.is_int):  # type: ignore[union-attr]
            kind = "integer" if want_int else "number"
            raise self.fail(expr.span, f"expected a compile-time {kind}, got {value.describe()}")
        return value.value  # type: ignore[union-attr,return-value]


def bind_arguments(
    ev: Evaluator,
    what: str,
    names: list[str],
    args: tuple[ast.Expr, ...],
    kwargs: tuple[ast.Keyword, ...],
) -> dict[str, ast.Expr]:
    """Match a call's arguments to parameter ``names``; ``what`` prefixes the messages.

    Builtins, user functions and initialisers all bind arguments this way, so a misplaced,
    unknown or repeated argument reads the same everywhere. Missing arguments are the
    caller's to report (which parameters are required differs).
    """
    if len(args) > len(names):
        allowed = f"at most {len(names)}" if names else "no"
        noun = "argument" if len(names) == 1 else "arguments"
        raise ev.fail(args[len(names)].span, f"{what}: takes {allowed} {noun}, got {len(args)}")
    first_keyword = min((kw.span for kw in kwargs), default=None)
    exprs: dict[str, ast.Expr] = {}
    for name, expr in zip(names, args):
        # The AST keeps positional and keyword arguments apart; spans recover the order.
        if first_keyword is not None and expr.span > first_keyword:
            raise ev.fail(expr.span, f"{what}: positional argument after a keyword argument")
        exprs[name] = expr
    for kw in kwargs:
        if kw.name not in names:
            hint = did_you_mean(kw.name, names)
            raise ev.fail(kw.span, f"{what}: unknown argument `{kw.name}`{hint}")
        if kw.name in exprs:
            raise ev.fail(kw.span, f"{what}: argument `{kw.name}` is given twice")
        exprs[kw.name] = kw.value
    return exprs


def _no_statements(stmt: Any, scope: Scope) -> None:
    raise AssertionError("Evaluator.run_stmt was not set by a program runner")


def math_fold(name: str, x: float) -> float | None:
    """Compile-time value of an elementwise builtin on a number (``sqrt(64)``), or None."""
    table: dict[str, Callable[[float], float]] = {
        "sqrt": math.sqrt,
        "exp": math.exp,
        "log": math.log,
        "tanh": math.tanh,
        "sigmoid": lambda v: 0.5 * (1.0 + math.tanh(0.5 * v)),  # no overflow for large |v|
        "relu": lambda v: max(v, 0.0),
        "gelu": lambda v: 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))),
    }
    fn = table.get(name)
    try:
        return fn(x) if fn else None
    except (ValueError, OverflowError):
        return None
