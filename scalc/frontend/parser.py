"""Parse .scl source into the AST (``ast.py``) with the Lark grammar ``scl.lark``.

Syntax errors become one :class:`~scalc.diagnostics.Diagnostic` each, worded for people:
Lark's token names (``RPAR``) are turned back into what the user types (``)``).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import lark
from lark import Lark, Token, Transformer, v_args

from scalc.diagnostics import Diagnostic, ScalcError, Span, source_lines
from scalc.frontend import ast

_EXPR_START = {"NAME", "INT", "FLOAT", "LPAR", "MINUS", "LSQB", "TRUE", "FALSE"}
_TERMINAL_WORDS = {
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a number",
    "DTYPE": "a dtype (f32, bf16, f16, i32, i64)",
    "$END": "end of file",
}


@cache
def _parser() -> Lark:
    grammar = resources.files("scalc.frontend").joinpath("scl.lark").read_text()
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True)


def parse(source: str, file: str = "<input>") -> ast.Program:
    """Parse ``source`` (named ``file`` in diagnostics) into an :class:`ast.Program`.

    >>> parse("const D = 4").items[0].name
    'D'
    """
    try:
        tree = _parser().parse(source)
    except lark.exceptions.UnexpectedInput as err:
        raise ScalcError([_syntax_diagnostic(err, source, file)], source) from None
    too_deep = _too_deep(tree, file)
    if too_deep is not None:
        raise ScalcError([too_deep], source)
    return _ToAst(file).transform(tree)


# The AST conversion, the checker and the IR builder recurse once (or a few frames) per
# level of nesting; past this depth Python's recursion limit would end scalc with a
# traceback. Real programs nest a few levels; a long `a + b + ...` chain is one level a term.
MAX_NESTING = 100


_STATEMENT_RULES = {
    "start", "model_decl", "const_decl", "dim_decl", "input_decl", "param_decl", "fn_def",
    "dim_params", "fn_params", "fn_param", "output_decl", "loss_decl", "block", "let_stmt",
    "assign_stmt", "return_stmt", "for_stmt", "type",
}  # fmt: skip


def _too_deep(tree: lark.Tree[Token], file: str) -> Diagnostic | None:
    """A diagnostic at the outermost expression of the first construct nested deeper than
    ``MAX_NESTING`` (counted from the file), or None. Iterative: it must not recurse."""
    stack: list[tuple[lark.Tree[Token], int, lark.Tree[Token] | None]] = [(tree, 1, None)]
    while stack:
        node, depth, outer = stack.pop()
        if outer is None and node.data not in _STATEMENT_RULES:
            outer = node
        if depth > MAX_NESTING:
            m = (outer or node).meta
            return Diagnostic(
                Span(file, m.line, m.column, m.end_line, m.end_column),
                f"this expression is nested more than {MAX_NESTING} levels deep; "
                "split it into steps with `let`",
            )
        stack.extend((c, depth + 1, outer) for c in node.children if isinstance(c, lark.Tree))
    return None


# ----------------------------------------------------------------------------- syntax errors
def _describe_token(token: Token | None) -> str:
    if token is None or token.type == "$END":
        return "end of file"
    return f"`{token.value}`"


def _describe_expected(expected: set[str]) -> str:
    words: list[str] = []
    if expected & {"NAME", "INT", "LPAR", "MINUS"} and len(expected & _EXPR_START) >= 4:
        words.append("an expression")
        expected = expected - _EXPR_START
    literals = {t.name: t.pattern.value for t in _parser().terminals}
    for name in sorted(expected):
        if name in _TERMINAL_WORDS:
            words.append(_TERMINAL_WORDS[name])
        elif name in literals:
            words.append(f"`{literals[name]}`")
    if not words:
        return ""
    if len(words) > 6:
        words = words[:6] + ["..."]
    return "; expected " + (words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1])


def _syntax_diagnostic(err: lark.exceptions.UnexpectedInput, source: str, file: str) -> Diagnostic:
    line, col = max(err.line, 1), max(err.column, 1)
    if isinstance(err, lark.exceptions.UnexpectedCharacters):
        char = source[err.pos_in_stream] if err.pos_in_stream < len(source) else ""
        # An invisible character is named by its code point, or the message would show nothing.
        shown = f"`{char}`" if char.isprintable() else f"U+{ord(char):04X}" if char else "end"
        message = f"unexpected character {shown}"
        return Diagnostic(Span(file, line, col, line, col + 1), message)
    token = getattr(err, "token", None)
    expected = set(getattr(err, "expected", set()) or getattr(err, "accepts", set()) or set())
    if token is None or token.type == "$END":
        # Point just past the last token, where the missing text belongs (not past the
        # comments and blank lines after it); Lark's end token borrows that position.
        if token is not None and token.end_line is not None and token.end_column is not None:
            line, col = token.end_line, token.end_column
        else:
            lines = source_lines(source)
            line, col = len(lines), len(lines[-1]) + 1
        return Diagnostic(
            Span(file, line, col, line, col + 1),
            "unexpected end of file" + _describe_expected(expected),
        )
    misplaced = _misplaced_declaration(err, token, expected, source, file)
    if misplaced is not None:
        return misplaced
    width = max(1, len(str(token.value)))
    return Diagnostic(
        Span(file, line, col, line, col + width),
        f"unexpected {_describe_token(token)}" + _describe_expected(expected),
    )


_DECLARATION_KEYWORDS = ("model", "const", "dim", "input", "param", "fn", "output")


def _misplaced_declaration(
    err: lark.exceptions.UnexpectedInput, token: Token, expected: set[str], source: str, file: str
) -> Diagnostic | None:
    """``output y = ...`` inside ``{ }``: keywords are not reserved, so in a block the parser
    reads ``output`` as a name being assigned and trips over ``y``. Say what really happened."""
    if token.type != "NAME" or expected != {"EQUAL"}:
        return None
    before = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*\Z", source[: err.pos_in_stream])
    if before is None or before.group(1) not in _DECLARATION_KEYWORDS:
        return None
    at = before.start(1)
    line = source.count("\n", 0, at) + 1
    col = at - (source.rfind("\n", 0, at) + 1) + 1
    keyword = before.group(1)
    return Diagnostic(
        Span(file, line, col, line, col + len(keyword)),
        f"`{keyword}` declarations belong at the top level, not inside a block `{{ ... }}`",
    )


# ----------------------------------------------------------------------------- tree -> AST
def _tok_span(file: str, tok: Token) -> Span:
    return Span(file, tok.line, tok.column, tok.end_line, tok.end_column)


@v_args(meta=True)
class _ToAst(Transformer[Any, ast.Program]):
    """One method per grammar rule; an unknown rule is a grammar/AST mismatch (our bug)."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def __default__(self, data: Any, children: Any, meta: Any) -> Any:
        raise AssertionError(f"grammar rule {data!r} has no AST conversion")

    def _span(self, meta: Any) -> Span:
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    # --- program and declarations
    def start(self, meta: Any, items: list[Any]) -> ast.Program:
        return ast.Program(self.file, tuple(items))

    def model_decl(self, meta: Any, c: list[Token]) -> ast.ModelDecl:
        return ast.ModelDecl(str(c[0]), self._span(meta))

    def const_decl(self, meta: Any, c: list[Any]) -> ast.ConstDecl:
        return ast.ConstDecl(str(c[0]), c[1], self._span(meta), _tok_span(self.file, c[0]))

    def dim_decl(self, meta: Any, c: list[Token]) -> ast.DimDecl:
        names = tuple((str(t), _tok_span(self.file, t)) for t in c)
        return ast.DimDecl(names, self._span(meta))

    def input_decl(self, meta: Any, c: list[Any]) -> ast.InputDecl:
        return ast.InputDecl(str(c[0]), c[1], self._span(meta), _tok_span(self.file, c[0]))

    def param_decl(self, meta: Any, c: list[Any]) -> ast.ParamDecl:
        span = self._span(meta)
        return ast.ParamDecl(str(c[0]), c[1], c[2], span, _tok_span(self.file, c[0]))

    def output_decl(self, meta: Any, c: list[Any]) -> ast.OutputDecl:
        return ast.OutputDecl(str(c[0]), c[1], self._span(meta), _tok_span(self.file, c[0]))

    def loss_decl(self, meta: Any, c: list[Any]) -> ast.LossDecl:
        return ast.LossDecl(c[0], self._span(meta))

    def fn_def(self, meta: Any, c: list[Any]) -> ast.FnDef:
        name, dim_params, params, result, body = c
        return ast.FnDef(
            str(name),
            dim_params or (),
            params or (),
            result,
            body,
            self._span(meta),
            _tok_span(self.file, name),
        )

    def dim_params(self, meta: Any, c: list[Token]) -> tuple[tuple[str, Span], ...]:
        return tuple((str(t), _tok_span(self.file, t)) for t in c)

    def fn_params(self, meta: Any, c: list[ast.FnParam]) -> tuple[ast.FnParam, ...]:
        return tuple(c)

    def fn_param(self, meta: Any, c: list[Any]) -> ast.FnParam:
        type = None if isinstance(c[1], Token) else c[1]  # the INT_TYPE token: `int`
        return ast.FnParam(str(c[0]), type, self._span(meta))

    def type(self, meta: Any, c: list[Any]) -> ast.TypeExpr:
        dtype, *dims = c
        return ast.TypeExpr(str(dtype), tuple(d for d in dims if d is not None), self._span(meta))

    # --- statements
    def block(self, meta: Any, c: list[Any]) -> tuple[ast.Stmt, ...]:
        return tuple(c)

    def let_stmt(self, meta: Any, c: list[Any]) -> ast.Let:
        return ast.Let(str(c[0]), c[1], c[2], self._span(meta), _tok_span(self.file, c[0]))

    def assign_stmt(self, meta: Any, c: list[Any]) -> ast.Assign:
        return ast.Assign(str(c[0]), c[1], self._span(meta), _tok_span(self.file, c[0]))

    def return_stmt(self, meta: Any, c: list[Any]) -> ast.Return:
        return ast.Return(c[0], self._span(meta))

    def for_stmt(self, meta: Any, c: list[Any]) -> ast.For:
        var, first, second, body = c
        lo, hi = (None, first) if second is None else (first, second)
        return ast.For(str(var), lo, hi, body, self._span(meta), _tok_span(self.file, var))

    # --- expressions
    def _binary(self, op: str, meta: Any, c: list[Any]) -> ast.Binary:
        return ast.Binary(op, c[0], c[1], self._span(meta))

    def add(self, meta: Any, c: list[Any]) -> ast.Binary:
        return self._binary("+", meta, c)

    def sub(self, meta: Any, c: list[Any]) -> ast.Binary:
        return self._binary("-", meta, c)

    def mul(self, meta: Any, c: list[Any]) -> ast.Binary:
        return self._binary("*", meta, c)

    def div(self, meta: Any, c: list[Any]) -> ast.Binary:
        return self._binary("/", meta, c)

    def matmul(self, meta: Any, c: list[Any]) -> ast.Binary:
        return self._binary("@", meta, c)

    def neg(self, meta: Any, c: list[Any]) -> ast.Neg:
        return ast.Neg(c[0], self._span(meta))

    def index(self, meta: Any, c: list[Any]) -> ast.Index:
        return ast.Index(c[0], tuple(c[1:]), self._span(meta))

    def slice(self, meta: Any, c: list[Any]) -> ast.Slice:
        return ast.Slice(c[0], c[1], self._span(meta))

    def call(self, meta: Any, c: list[Any]) -> ast.Call:
        name, *args = c
        args = [a for a in args if a is not None]
        positional = tuple(a for a in args if not isinstance(a, ast.Keyword))
        keywords = tuple(a for a in args if isinstance(a, ast.Keyword))
        return ast.Call(str(name), _tok_span(self.file, name), positional, keywords, self._span(meta))

    def kwarg(self, meta: Any, c: list[Any]) -> ast.Keyword:
        return ast.Keyword(str(c[0]), c[1], self._span(meta))

    def name(self, meta: Any, c: list[Token]) -> ast.Name:
        return ast.Name(str(c[0]), self._span(meta))

    def int(self, meta: Any, c: list[Token]) -> ast.Num:
        # Python refuses to convert more than 4300 digits. Any literal that long is far past
        # the range the checker accepts (and reports), so its leading digits stand for it.
        digits = str(c[0]).lstrip("0") or "0"
        return ast.Num(int(digits[:4000]), self._span(meta))

    def float(self, meta: Any, c: list[Token]) -> ast.Num:
        return ast.Num(float(c[0]), self._span(meta))

    def true(self, meta: Any, c: list[Any]) -> ast.Bool:
        return ast.Bool(True, self._span(meta))

    def false(self, meta: Any, c: list[Any]) -> ast.Bool:
        return ast.Bool(False, self._span(meta))

    def list(self, meta: Any, c: list[Any]) -> ast.ListExpr:
        return ast.ListExpr(tuple(x for x in c if x is not None), self._span(meta))
