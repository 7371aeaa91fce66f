"""The op tables of docs/ir.md, docs/train.md and docs/collage.md show exactly what the
printer writes.

Each form is placed in a module that declares what it refers to: the parameters ``@w``
and ``@w1``, the state ``@w1.m``, and a function whose arguments are the form's operands,
typed by the form's trailing ``: ...``.
"""

import re
from pathlib import Path

import pytest
from xdsl.dialects.builtin import FunctionType
from xdsl.parser import Parser

from scalc.dialects.context import make_context, parse_module, print_module

DOCS = Path(__file__).parents[2] / "docs"
TABLES = {"ir.md": "## Ops", "train.md": "## New ops", "collage.md": "## New ops"}
"""Each document and the heading of its op table."""

FORM = re.compile(r"^\| [^|]+ \| `([^`]+)` \|", re.MULTILINE)
RESULTS = re.compile(r"^(%\w+(?:, %\w+)*) = ")
SYMBOLS = {
    "@w": '  nn.param @w : tensor<64x256xf32> {init = "zeros"}\n',
    "@w1": '  nn.param @w1 : tensor<64x256xf32> {init = "zeros"}\n',
    "@w1.m": "  nn.state @w1.m : tensor<64x256xf32> {param = @w1}\n",
}
SCALAR_OPERANDS = {"%lr", "%t"}
"""Operands that ``: T`` does not type: the optimizers' learning rate and step are
``tensor<f32>`` whatever the parameter type."""


def table(doc: str) -> str:
    return (DOCS / doc).read_text().split(TABLES[doc], 1)[1].split("\n## ", 1)[0]


FORMS = [(doc, form) for doc in TABLES for form in FORM.findall(table(doc))]


def function_arguments(form: str) -> str:
    """Declare the form's operands with the types its trailing ``: ...`` gives them."""
    head, types = form.rsplit(" : ", 1)
    if results := RESULTS.match(head):
        head = head[results.end() :]
    operands = re.findall(r"%\w+", head)
    if "->" not in types:
        shared = [types if name not in SCALAR_OPERANDS else "tensor<f32>" for name in operands]
        return ", ".join(f"{name}: {ty}" for name, ty in zip(operands, shared, strict=True))
    if not types.startswith("("):
        types = "({}) -> {}".format(*types.split(" -> ", 1))
    signature = Parser(make_context(), types).parse_type()
    assert isinstance(signature, FunctionType)
    return ", ".join(f"{name}: {ty}" for name, ty in zip(operands, signature.inputs, strict=True))


def module_around(form: str) -> str:
    """A module holding ``form``: at module level if it declares a symbol, else in a
    function; it declares every other symbol of `SYMBOLS`."""
    defined = re.match(r"nn\.(?:param|state) (@[\w.]+)", form)
    symbols = "".join(text for name, text in SYMBOLS.items() if not defined or name != defined[1])
    if defined:
        return f"builtin.module {{\n{symbols}  {form}\n}}\n"
    body = f"  func.func @f({function_arguments(form)}) {{\n    {form}\n    func.return\n  }}\n"
    return f"builtin.module {{\n{symbols}{body}}}\n"


def form_id(doc: str, form: str) -> str:
    """``train.md:nn.sgd``."""
    return f"{doc}:{re.findall(r'nn[.][a-z_]+', form)[0]}"


@pytest.mark.parametrize(("doc", "form"), FORMS, ids=[form_id(*case) for case in FORMS])
def test_doc_form_prints_back_exactly(doc: str, form: str) -> None:
    text = module_around(form)
    module = parse_module(text)
    module.verify()
    assert print_module(module) == text


@pytest.mark.parametrize("doc", TABLES)
def test_every_op_row_has_a_form(doc: str) -> None:
    rows = [line for line in table(doc).splitlines() if line.startswith("| ") and "`" in line]
    assert len(FORM.findall(table(doc))) == len(rows) > 0
