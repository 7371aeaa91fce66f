"""Evaluate a whole program: declarations in source order, statements, ``for`` unrolling.

``evaluate_program`` walks the AST once with an :class:`~scalc.frontend.evaluate.Evaluator`
and returns what the program declares (inputs, parameters, outputs, loss). Declarations
must come before their uses, as in a script.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from scalc.diagnostics import DiagnosticSink, Span
from scalc.frontend import ast
from scalc.frontend.evaluate import Emitter, Evaluator, Reported, bind_arguments
from scalc.frontend.functions import define_function
from scalc.frontend.scope import Scope, describe_kind
from scalc.frontend.types import POISON, DimValue, Number, Tensor, TensorType, Value
from scalc.dialects.nn.dims import Dim

MAX_UNROLL = 4096  # iterations of one `for`: loops are unrolled into the IR


@dataclass(frozen=True)
class Init:
    """How a parameter is initialised: ``normal(std, mean)``, ``zeros``, ``ones``, ``constant``."""

    kind: str
    std: float | None = None
    mean: float | None = None
    value: float | None = None


@dataclass
class ProgramInfo:
    """What a program declares, in declaration order."""

    model: str
    symbols: list[str] = field(default_factory=list)
    inputs: list[tuple[str, TensorType]] = field(default_factory=list)
    params: list[tuple[str, TensorType, Init]] = field(default_factory=list)
    outputs: list[tuple[str, Tensor]] = field(default_factory=list)
    loss: Tensor | None = None


class ProgramEmitter(Emitter, Protocol):
    """An emitter that also materialises inputs and parameters."""

    def input(self, name: str, type: TensorType) -> Tensor:
        """The value of input ``name`` (an entry-point argument when building)."""
        ...

    def param(self, name: str, type: TensorType) -> Tensor:
        """The value of parameter ``name`` (an ``nn.get_param`` when building)."""
        ...


def evaluate_program(
    program: ast.Program, sink: DiagnosticSink, emitter: ProgramEmitter
) -> ProgramInfo:
    """Evaluate ``program``; diagnostics go to ``sink`` (the caller raises them)."""
    ev = Evaluator(sink, emitter)
    runner = _ProgramRunner(ev, emitter, program)
    ev.run_stmt = runner.run_item
    for item in program.items:
        try:
            runner.run_item(item, runner.scope)
        except Reported:
            pass
    return runner.info


# Initialisers: (positional parameter names, required) and how to make an Init.
_INITIALISERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "normal": (("std", "mean"), ("std",)),
    "zeros": ((), ()),
    "ones": ((), ()),
    "constant": (("value",), ("value",)),
}


class _ProgramRunner:
    def __init__(self, ev: Evaluator, emitter: ProgramEmitter, program: ast.Program):
        self.ev = ev
        self.emitter = emitter
        self.scope = Scope()
        name = next((i.name for i in program.items if isinstance(i, ast.ModelDecl)), None)
        stem = program.file.rsplit("/", 1)[-1].removesuffix(".scl")
        self.info = ProgramInfo(model=name or (stem if stem.isidentifier() else "model"))
        self.seen_model = False

    def run_item(self, item: Any, scope: Scope) -> None:
        self._HANDLERS[type(item)](self, item, scope)

    # ------------------------------------------------------------------ declarations
    def _model(self, item: ast.ModelDecl, scope: Scope) -> None:
        if self.seen_model:
            raise self.ev.fail(item.span, "`model` may be declared only once")
        self.seen_model = True

    def _const(self, item: ast.ConstDecl, scope: Scope) -> None:
        try:
            value = self.ev.eval_static(item.value, scope, want_int=False)
        except Reported:
            self.ev.define(scope, item.name, POISON, "const", item.name_span)
            raise
        is_int = isinstance(value, int)
        self.ev.define(scope, item.name, Number(value, is_int), "const", item.name_span)

    def _dim(self, item: ast.DimDecl, scope: Scope) -> None:
        for name, span in item.names:
            self.ev.define(scope, name, DimValue(Dim(1, (name,))), "dim", span)
            if name not in self.info.symbols:
                self.info.symbols.append(name)

    def _input(self, item: ast.InputDecl, scope: Scope) -> None:
        try:
            type = self.ev.eval_type(item.type, scope)
        except Reported:
            self.ev.define(scope, item.name, POISON, "input", item.name_span)
            raise
        self.ev.define(scope, item.name, self.emitter.input(item.name, type), "input", item.name_span)
        self.info.inputs.append((item.name, type))

    def _param(self, item: ast.ParamDecl, scope: Scope) -> None:
        try:
            type = self.ev.eval_type(item.type, scope)
            if not type.is_float:
                raise self.ev.fail(
                    item.type.span,
                    f"a parameter must have a float dtype (f32, bf16, f16), got {type.dtype}",
                )
            symbolic = [s for d in type.dims for s in d.symbols]
            if symbolic:
                # Parameters are allocated once, before any input binds a dimension.
                raise self.ev.fail(
                    item.type.span,
                    f"a parameter's shape must be static, got {type} (`{symbolic[0]}` is a `dim`)",
                )
            init = self._initialiser(item.init, scope)
        except Reported:
            self.ev.define(scope, item.name, POISON, "param", item.name_span)
            raise
        value = self.emitter.param(item.name, type)
        self.ev.define(scope, item.name, value, "param", item.name_span)
        self.info.params.append((item.name, type, init))

    def _initialiser(self, expr: ast.Expr, scope: Scope) -> Init:
        name, args, kwargs, span = _as_call(expr)
        if name not in _INITIALISERS:
            choices = "normal(std=...), zeros, ones or constant(value=...)"
            if not name:
                raise self.ev.fail(span, f"a parameter is initialised with {choices}")
            raise self.ev.fail(span, f"unknown initialiser `{name}`; use {choices}")
        names, required = _INITIALISERS[name]
        exprs = bind_arguments(self.ev, name, list(names), args, kwargs)
        missing = [p for p in required if p not in exprs]
        if missing:
            raise self.ev.fail(
                span, f"{name}: missing argument `{missing[0]}`, e.g. {name}({missing[0]}=0.02)"
            )
        given = {p: self.ev.eval_static(e, scope, want_int=False) for p, e in exprs.items()}
        if name == "normal" and given["std"] <= 0:
            raise self.ev.fail(
                exprs["std"].span, f"normal: `std` must be positive, got {given['std']}"
            )
        return Init(name, **{k: float(v) for k, v in given.items()})

    def _fn(self, item: ast.FnDef, scope: Scope) -> None:
        define_function(self.ev, item, scope)

    def _output(self, item: ast.OutputDecl, scope: Scope) -> None:
        try:
            value = self.ev.eval_tensor(item.value, scope, f"output `{item.name}`")
        except Reported:
            self.ev.define(scope, item.name, POISON, "output", item.name_span)
            raise
        if any(name == item.name for name, _ in self.info.outputs):
            raise self.ev.fail(item.name_span, f"output `{item.name}` is declared twice")
        self.ev.define(scope, item.name, value, "output", item.name_span)
        self.emitter.name(value, item.name)
        self.info.outputs.append((item.name, value))

    def _loss(self, item: ast.LossDecl, scope: Scope) -> None:
        if self.info.loss is not None:
            raise self.ev.fail(item.span, "`loss` is declared twice")
        value = self.ev.eval_tensor(item.value, scope, "the loss")
        if value.type.rank != 0 or not value.type.is_float:
            raise self.ev.fail(
                item.value.span,
                f"the loss must be a float scalar, got {value.type}; reduce it, e.g. mean(...)",
            )
        self.emitter.name(value, "loss")
        self.info.loss = value

    # ------------------------------------------------------------------ statements
    def _let(self, item: ast.Let, scope: Scope) -> None:
        try:
            value = self.ev.eval(item.value, scope)
            if item.annotation is not None:
                self._check_annotation(item, value, scope)
        except Reported:
            self.ev.define(scope, item.name, POISON, "let", item.name_span)
            raise
        self.ev.define(scope, item.name, value, "let", item.name_span)
        if isinstance(value, Tensor):
            self.emitter.name(value, item.name)

    def _check_annotation(self, item: ast.Let, value: Value, scope: Scope) -> None:
        assert item.annotation is not None
        declared = self.ev.eval_type(item.annotation, scope)
        if not isinstance(value, Tensor) or value.type != declared:
            got = value.type if isinstance(value, Tensor) else value.describe()
            raise self.ev.fail(item.value.span, f"`{item.name}` is declared {declared} but the value is {got}")

    def _assign(self, item: ast.Assign, scope: Scope) -> None:
        binding, _ = scope.lookup(item.name)
        if binding is None and item.name == "loss":
            # Keywords are not reserved: inside `{ }` a loss declaration parses as assignment.
            raise self.ev.fail(
                item.span, "`loss = ...` belongs at the top level, not inside a block `{ ... }`"
            )
        if binding is None:
            raise self.ev.fail(
                item.name_span,
                f"unknown name `{item.name}`; use `let {item.name} = ...` to bind a new name",
            )
        if binding.kind != "let":
            raise self.ev.fail(
                item.name_span,
                f"cannot assign to `{item.name}`: it is {describe_kind(binding.kind)}; "
                "use `let` to bind a new name",
            )
        if not scope.function_scope_of(item.name):
            raise self.ev.fail(item.name_span, f"cannot assign to `{item.name}` from inside a function")
        value = self.ev.eval(item.value, scope)
        old = binding.value
        if old is not POISON and _type_of(old) != _type_of(value):
            raise self.ev.fail(
                item.value.span,
                f"`{item.name}` is {_type_of(old)}; cannot assign {_type_of(value)} to it",
            )
        scope.rebind(item.name, value)
        if isinstance(value, Tensor):
            self.emitter.name(value, item.name)

    def _return(self, item: ast.Return, scope: Scope) -> None:
        raise self.ev.fail(item.span, "`return` outside a function")

    def _for(self, item: ast.For, scope: Scope) -> None:
        run_for(self.ev, item, scope, lambda stmt, s: self.run_item(stmt, s))

    _HANDLERS: dict[type, Callable[[_ProgramRunner, Any, Scope], None]] = {
        ast.ModelDecl: _model,
        ast.ConstDecl: _const,
        ast.DimDecl: _dim,
        ast.InputDecl: _input,
        ast.ParamDecl: _param,
        ast.FnDef: _fn,
        ast.OutputDecl: _output,
        ast.LossDecl: _loss,
        ast.Let: _let,
        ast.Assign: _assign,
        ast.Return: _return,
        ast.For: _for,
    }


def run_for(
    ev: Evaluator, item: ast.For, scope: Scope, run_stmt: Callable[[Any, Scope], None]
) -> None:
    """Unroll ``for var in range(lo, hi)``: each iteration gets a fresh scope for its lets."""
    lo = int(ev.eval_static(item.lo, scope, want_int=True)) if item.lo is not None else 0
    hi = int(ev.eval_static(item.hi, scope, want_int=True))
    if hi - lo > MAX_UNROLL:
        bounds = (item.lo or item.hi).span.to(item.hi.span)
        raise ev.fail(
            bounds,
            f"this loop runs {hi - lo} iterations; scalc unrolls loops and allows at most "
            f"{MAX_UNROLL}",
        )
    for i in range(lo, hi):
        body = scope.child()
        ev.define(body, item.var, Number(i, True), "loop", item.var_span)
        failed = False
        for stmt in item.body:
            try:
                run_stmt(stmt, body)
            except Reported:
                failed = True
        if failed:
            raise Reported()


def _type_of(value: object) -> object:
    if isinstance(value, Tensor):
        return value.type
    return value.describe() if hasattr(value, "describe") else type(value).__name__


def _as_call(expr: ast.Expr) -> tuple[str, tuple[ast.Expr, ...], tuple[ast.Keyword, ...], Span]:
    if isinstance(expr, ast.Call):
        return expr.func, expr.args, expr.kwargs, expr.span
    if isinstance(expr, ast.Name):
        return expr.id, (), (), expr.span
    return "", (), (), expr.span  # type: ignore[attr-defined]
