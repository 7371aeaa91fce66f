"""Name resolution: nested scopes, each binding remembering what kind of thing it is.

Functions see the globals that are fixed for the whole program (consts, dims, inputs,
params and other functions) but not top-level ``let`` bindings, which can change: a
function's meaning never depends on where it is called from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scalc.diagnostics import Span
from scalc.frontend.types import Value

# Kinds of binding visible from inside a function body when declared at top level.
GLOBAL_KINDS = frozenset({"const", "dim", "input", "param", "fn"})
# Kinds a nested `let` must not silently hide: inside an unrolled loop that would make
# `let h = f(h)` a no-op instead of the update the author meant (`h = f(h)`).
LOCAL_KINDS = frozenset({"let", "output", "arg", "loop", "dimparam"})

# How diagnostics name each kind of binding: "`x` is an input".
_KIND_WORDS = {
    "const": "a const",
    "dim": "a dim",
    "input": "an input",
    "param": "a param",
    "fn": "a function",
    "let": "a let",
    "arg": "a function argument",
    "loop": "a loop variable",
    "dimparam": "a dimension parameter",
    "output": "an output",
}

# Words of the grammar (scl.lark). Lark's contextual lexer would accept most of them as
# names where no keyword can stand, but `let loss = x` followed by `loss = y` would then
# mean two different things, so the checker refuses them as names.
KEYWORDS = frozenset(
    "model const dim input param fn let return for in range output loss true false int "
    "f32 bf16 f16 i32 i64".split()
)


def describe_kind(kind: str) -> str:
    """The kind of a binding with its article, for messages: ``describe_kind("input")``
    is ``"an input"``."""
    return _KIND_WORDS.get(kind, f"a {kind}")


@dataclass
class Binding:
    value: object  # a types.Value, or an evaluate.Function
    kind: str  # const | dim | input | param | fn | let | arg | loop | dimparam
    span: Span


@dataclass
class Scope:
    """One level of names; ``is_function`` marks the body scope of a ``fn``."""

    parent: Scope | None = None
    is_function: bool = False
    names: dict[str, Binding] = field(default_factory=dict)

    def child(self, is_function: bool = False) -> Scope:
        return Scope(self, is_function)

    def lookup(self, name: str) -> tuple[Binding | None, bool]:
        """The binding for ``name`` and whether it is hidden by a function boundary."""
        scope: Scope | None = self
        crossed = False
        while scope is not None:
            found = scope.names.get(name)
            if found is not None:
                hidden = crossed and scope.parent is None and found.kind not in GLOBAL_KINDS
                return found, hidden
            crossed = crossed or scope.is_function
            scope = scope.parent
        return None, False

    def visible_names(self) -> set[str]:
        names: set[str] = set()
        scope: Scope | None = self
        crossed = False
        while scope is not None:
            for name, b in scope.names.items():
                if not (crossed and scope.parent is None and b.kind not in GLOBAL_KINDS):
                    names.add(name)
            crossed = crossed or scope.is_function
            scope = scope.parent
        return names

    def function_scope_of(self, name: str) -> bool:
        """Whether ``name`` is bound in this function (or top level) without crossing a fn."""
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return True
            if scope.is_function:
                return False
            scope = scope.parent
        return False

    def enclosing_binding(self, name: str) -> Binding | None:
        """``name`` in a scope around this one within the same function (or top level)."""
        scope = self
        while not scope.is_function and scope.parent is not None:
            scope = scope.parent
            if name in scope.names:
                return scope.names[name]
        return None

    def define(self, name: str, value: Value | object, kind: str, span: Span) -> None:
        self.names[name] = Binding(value, kind, span)

    def rebind(self, name: str, value: Value) -> None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                scope.names[name].value = value
                return
            scope = scope.parent
        raise KeyError(name)

    def root(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope
