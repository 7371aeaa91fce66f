"""``--emit ast``: the AST as indented text, one node per line, spans as LINE:COL.

    Program(file='examples/mlp.scl')
      ConstDecl(name='D') @3:1
        Num(value=64) @3:11
"""

from __future__ import annotations

import dataclasses

from scalc.diagnostics import Span
from scalc.frontend import ast


def dump_ast(program: ast.Program) -> str:
    """Render ``program`` as indented text (stable: used by golden tests)."""
    lines = [f"Program(file={program.file!r})"]
    for item in program.items:
        _dump(item, 1, lines)
    return "\n".join(lines) + "\n"


def _dump(node: object, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    scalars, children = [], []
    span = None
    for field in dataclasses.fields(node):  # type: ignore[arg-type]
        value = getattr(node, field.name)
        if field.name == "span":
            span = value
        elif isinstance(value, Span):
            continue  # secondary spans (name_span, func_span) would only add noise
        elif dataclasses.is_dataclass(value):
            children.append((field.name, [value]))
        elif isinstance(value, tuple) and value and all(dataclasses.is_dataclass(v) for v in value):
            children.append((field.name, list(value)))
        elif isinstance(value, tuple) and value and isinstance(value[0], tuple):
            scalars.append(f"{field.name}={[name for name, _ in value]!r}")
        elif value is not None and value != ():
            scalars.append(f"{field.name}={value!r}")
    where = f" @{span.line}:{span.col}" if isinstance(span, Span) else ""
    lines.append(f"{pad}{type(node).__name__}({', '.join(scalars)}){where}")
    for name, nodes in children:
        lines.append(f"{pad}  {name}:")
        for child in nodes:
            _dump(child, depth + 2, lines)
