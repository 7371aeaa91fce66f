"""Parsing and printing scalc IR text.

>>> module = parse_module('builtin.module { nn.param @b : tensor<4xf32> {init = "zeros"} }')
>>> module.verify()
>>> print(print_module(module), end="")
builtin.module {
  nn.param @b : tensor<4xf32> {init = "zeros"}
}
"""

from __future__ import annotations

from io import StringIO

from xdsl.context import Context
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.dialects.func import Func
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.printer import Printer

from scalc.dialects.nn import NN
from scalc.dialects.scaled import SCALED


def make_context() -> Context:
    """An xDSL context that knows the dialects of scalc IR: builtin, func, nn and scaled."""
    context = Context()
    for dialect in (Builtin, Func, NN, SCALED):
        context.load_dialect(dialect)
    return context


def parse_module(text: str) -> ModuleOp:
    """Parse a ``builtin.module``, custom or generic form; the caller verifies it."""
    return Parser(make_context(), text).parse_module()


def print_module(op: Operation, *, generic: bool = False) -> str:
    """The text of ``op`` (usually a module), ending with a newline.

    ``generic=True`` prints the generic form (``"nn.add"(%0, %1) : (...) -> ...``), which
    upstream MLIR tools can parse without knowing the ``nn`` dialect.
    """
    stream = StringIO()
    Printer(stream=stream, print_generic_format=generic).print_op(op)
    stream.write("\n")
    return stream.getvalue()
