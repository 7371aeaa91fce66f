"""docs/language.md stays true: its examples compile and its grammar is the real one.

Every ```` ```scl ```` block of the reference is a complete program and must pass
``scalc check`` (parse, type-check and build the `nn` IR). A block that cannot stand alone
is fenced ```` ```scl-fragment ```` instead and is not compiled. The ```` ```lark ````
block must be ``scalc/frontend/scl.lark`` verbatim, and the builtin table must list
exactly the builtins the checker knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest

from scalc.diagnostics import ScalcError
from scalc.dialects.context import print_module
from scalc.driver import run_stages
from scalc.frontend.builtins import BUILTINS

DOC = Path(__file__).resolve().parents[2] / "docs" / "language.md"

# A fenced block: the info string (```scl) and the lines up to the closing fence.
_FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    line: int  # the line of the opening fence, for test ids and messages

    @property
    def id(self) -> str:
        return f"line{self.line}"


def _blocks(lang: str) -> list[Block]:
    doc = DOC.read_text()
    return [
        Block(m.group(1), m.group(2), doc.count("\n", 0, m.start()) + 1)
        for m in _FENCE.finditer(doc)
        if m.group(1) == lang
    ]


SCL_BLOCKS = _blocks("scl")


def test_the_reference_has_examples_to_check() -> None:
    # Guards the extraction itself: a broken fence regex must not pass vacuously.
    assert len(SCL_BLOCKS) >= 20


@pytest.mark.parametrize("block", SCL_BLOCKS, ids=lambda b: b.id)
def test_scl_example_in_language_reference_compiles(block: Block) -> None:
    try:
        result = run_stages(block.text, "doc.scl", "nn")
    except ScalcError as err:
        # The diagnostic's line numbers count from the block's first line.
        pytest.fail(f"docs/language.md:{block.line}: the example does not compile:\n{err}")
    assert result.compilation.nn is not None


def test_grammar_in_language_reference_is_scl_lark_verbatim() -> None:
    grammar = resources.files("scalc.frontend").joinpath("scl.lark").read_text()
    blocks = _blocks("lark")
    assert len(blocks) == 1, "docs/language.md must contain exactly one ```lark block"
    assert blocks[0].text == grammar, (
        "the grammar in docs/language.md differs from scalc/frontend/scl.lark; "
        "copy the file into the ```lark block"
    )


def test_ir_example_in_language_reference_is_what_scalc_prints() -> None:
    # Section 9 shows a program and its IR: the first ```mlir block after the last
    # ```scl block that precedes it.
    mlir = _blocks("mlir")
    assert len(mlir) == 1, "docs/language.md must contain exactly one ```mlir block"
    source = max((b for b in SCL_BLOCKS if b.line < mlir[0].line), key=lambda b: b.line)
    module = run_stages(source.text, "doc.scl", "nn").compilation.nn
    assert module is not None
    assert print_module(module) == mlir[0].text, f"{DOC.name}:{mlir[0].line} is stale"


def test_builtin_table_lists_exactly_the_builtins() -> None:
    doc = DOC.read_text()
    section = doc[doc.index("## 8. Builtin functions") : doc.index("## 9.")]
    listed = set(re.findall(r"^\| `(\w+)\(", section, re.MULTILINE))
    assert listed == set(BUILTINS), (
        f"missing from the table: {sorted(set(BUILTINS) - listed)}; "
        f"not builtins: {sorted(listed - set(BUILTINS))}"
    )
