"""The op table of docs/ir.md shows exactly what the printer writes."""

import re
from pathlib import Path

import pytest
from xdsl.dialects.builtin import FunctionType
from xdsl.parser import Parser

from scalc.dialects.context import make_context, parse_module, print_module

IR_MD = Path(__file__).parents[2] / "docs" / "ir.md"
FORMS = re.findall(r"^\| [^|]+ \| `([^`]+)` \|", IR_MD.read_text(), re.MULTILINE)
PARAM = '  nn.param @w : tensor<64x256xf32> {init = "zeros"}\n'


def function_arguments(form: str) -> str:
    """Declare the form's operands with the types its trailing ``: ...`` gives them."""
    head, types = form.split(" = ", 1)[1].rsplit(" : ", 1)
    operands = re.findall(r"%\d+", head)
    if "->" not in types:
        types = f"({', '.join([types] * len(operands))}) -> {types}"
    elif not types.startswith("("):
        types = "({}) -> {}".format(*types.split(" -> "))
    signature = Parser(make_context(), types).parse_type()
    assert isinstance(signature, FunctionType)
    return ", ".join(f"{name}: {ty}" for name, ty in zip(operands, signature.inputs, strict=True))


@pytest.mark.parametrize("form", FORMS, ids=lambda form: re.findall(r"nn\.\w+", form)[0])
def test_ir_md_form_prints_back_exactly(form: str) -> None:
    if form.startswith("nn.param"):
        text = f"builtin.module {{\n  {form}\n}}\n"
    else:
        body = f"  func.func @f({function_arguments(form)}) {{\n    {form}\n    func.return\n  }}\n"
        text = f"builtin.module {{\n{PARAM}{body}}}\n"
    module = parse_module(text)
    module.verify()
    assert print_module(module) == text


def test_every_op_row_of_ir_md_has_a_form() -> None:
    table = IR_MD.read_text().split("## Ops", 1)[1]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`" in line]
    assert len(FORMS) == len(rows) > 0
