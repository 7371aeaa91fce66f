"""Golden tests of the frontend: a .scl program in, the exact text of one stage out.

Each ``golden/NAME.scl`` is compiled and compared with ``golden/NAME.mlir`` (``--emit nn``)
or ``golden/NAME.ast`` (``--emit ast``); the examples ``examples/NAME.scl`` are compared
with ``golden/example_NAME.mlir``. A mismatch fails with a unified diff (expected -> got).
Every expected ``.mlir`` must also parse, verify and print back identically, so a golden
file can never pin IR that the `nn` dialect rejects.

The golden files are the specification of what the frontend emits: review every line of
a regenerated file as you would review code. After an intended change, regenerate with

    SCALC_UPDATE_GOLDEN=1 python -m pytest tests/frontend/test_golden.py

and read ``git diff tests/frontend/golden`` before committing it. A new ``NAME.scl`` gets
a ``NAME.mlir`` on the first such run; to make it an ``--emit ast`` golden instead, create
an empty ``NAME.ast`` first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from scalc.dialects.context import parse_module, print_module
from scalc.driver import run_stages
from scalc.frontend.builtins import BUILTINS
from tests.golden_support import assert_matches_golden

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLES = REPO / "examples"

# The stage each expected-output suffix holds.
STAGE_OF_SUFFIX = {".mlir": "nn", ".ast": "ast"}


@dataclass(frozen=True)
class Case:
    """One golden comparison: compile ``source`` up to ``stage``, expect ``expected``."""

    source: Path
    expected: Path
    stage: str

    @property
    def id(self) -> str:
        return self.expected.name


def _cases() -> list[Case]:
    cases = []
    for source in sorted(GOLDEN.glob("*.scl")):
        # A source is an `--emit ast` golden when NAME.ast exists, an `nn` golden otherwise.
        ast = source.with_suffix(".ast")
        expected = ast if ast.exists() else source.with_suffix(".mlir")
        cases.append(Case(source, expected, STAGE_OF_SUFFIX[expected.suffix]))
    for source in sorted(EXAMPLES.glob("*.scl")):
        cases.append(Case(source, GOLDEN / f"example_{source.stem}.mlir", "nn"))
    return cases


CASES = _cases()


def _compile(case: Case) -> str:
    # Repository-relative names keep the output (file names in the AST, model names
    # taken from the file stem) independent of where pytest runs.
    name = case.source.relative_to(REPO).as_posix()
    return run_stages(case.source.read_text(), name, case.stage).show()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_frontend_output_matches_golden_file(case: Case) -> None:
    what = f"`{case.stage}` output of {case.source.name}"
    assert_matches_golden(_compile(case), case.expected, what)


MLIR_GOLDEN = sorted(GOLDEN.glob("*.mlir"))


@pytest.mark.parametrize("path", MLIR_GOLDEN, ids=lambda p: p.name)
def test_golden_mlir_parses_verifies_and_prints_back_identically(path: Path) -> None:
    text = path.read_text()
    module = parse_module(text)
    module.verify()
    assert print_module(module) == text


def test_every_golden_output_has_its_source() -> None:
    sources = {p.stem for p in GOLDEN.glob("*.scl")}
    sources |= {f"example_{p.stem}" for p in EXAMPLES.glob("*.scl")}
    outputs = [p for suffix in STAGE_OF_SUFFIX for p in GOLDEN.glob(f"*{suffix}")]
    orphans = sorted(p.name for p in outputs if p.stem not in sources)
    assert not orphans, f"golden outputs without a .scl source: {orphans}"
    both = sorted(
        s for s in sources if all((GOLDEN / s).with_suffix(x).exists() for x in STAGE_OF_SUFFIX)
    )
    assert not both, f"golden sources with both a .mlir and a .ast output: {both}"


def test_every_builtin_is_called_in_some_golden_program() -> None:
    sources = [p.read_text() for p in GOLDEN.glob("*.scl")]
    sources += [p.read_text() for p in EXAMPLES.glob("*.scl")]
    called = {name for name in BUILTINS if any(re.search(rf"\b{name}\(", s) for s in sources)}
    assert called == set(BUILTINS), f"no golden program calls {sorted(set(BUILTINS) - called)}"


# Every op the IR builder can emit (scalc/frontend/build.py), each shown by some golden.
FRONTEND_OPS = {
    "func.func", "func.return", "nn.param", "nn.get_param", "nn.constant",
    "nn.neg", "nn.relu", "nn.gelu", "nn.tanh", "nn.sigmoid", "nn.exp", "nn.log", "nn.sqrt",
    "nn.add", "nn.sub", "nn.mul", "nn.div", "nn.matmul", "nn.sum", "nn.mean", "nn.max",
    "nn.reshape", "nn.broadcast", "nn.transpose", "nn.slice", "nn.index",
    "nn.softmax", "nn.layernorm", "nn.embedding", "nn.causal_mask", "nn.cross_entropy",
}  # fmt: skip


def test_every_op_the_frontend_emits_appears_in_some_golden_file() -> None:
    used = {op.name for path in MLIR_GOLDEN for op in parse_module(path.read_text()).walk()}
    assert FRONTEND_OPS <= used, f"no golden file shows {sorted(FRONTEND_OPS - used)}"
