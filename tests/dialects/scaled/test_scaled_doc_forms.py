"""The scaling-op table of docs/scaled.md and its ``nn.cast`` form show exactly what the
printer writes.

Each form is placed in a function whose arguments are the form's operands: the first
has the type after ``:`` (or before ``->``); the others (``rescale``'s reference,
``update_history``'s amax) are ``tensor<f32>``.
"""

import re
from pathlib import Path

import pytest

from scalc.dialects.context import parse_module, print_module

DOC = (Path(__file__).parents[3] / "docs" / "scaled.md").read_text()
SCALING_TABLE = DOC.split("**Scaling ops.**", 1)[1].split("\n## ", 1)[0]
ROW_FORM = re.compile(r"^\| `scaled\.\w+` \| `([^`]+)` \|", re.MULTILINE)
NN_CAST = re.compile(r"`(%1 = nn\.cast [^`]+)`")
FORMS = ROW_FORM.findall(SCALING_TABLE) + NN_CAST.findall(DOC)


def module_around(form: str) -> str:
    head, types = form.rsplit(" : ", 1)
    operands = re.findall(r"%\w+", head.split(" = ", 1)[1])
    first = types.split(" -> ", 1)[0]
    arguments = [f"{operands[0]}: {first}"] + [f"{name}: tensor<f32>" for name in operands[1:]]
    body = f"  func.func @f({', '.join(arguments)}) {{\n    {form}\n    func.return\n  }}\n"
    return f"builtin.module {{\n{body}}}\n"


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.split(" = ", 1)[1].split()[0])
def test_scaled_doc_form_prints_back_exactly(form: str) -> None:
    text = module_around(form)
    module = parse_module(text)
    module.verify()
    assert print_module(module) == text


def test_the_doc_shows_every_scaling_op_and_nn_cast() -> None:
    shown = {form.split(" = ", 1)[1].split()[0] for form in FORMS}
    assert shown == {
        "scaled.from_tensor",
        "scaled.to_tensor",
        "scaled.amax",
        "scaled.rescale",
        "scaled.cast",
        "scaled.update_history",
        "nn.cast",
    }
