"""Golden IR: every file under golden/ parses, verifies and prints back to itself, in
the custom form and through the generic form."""

from pathlib import Path

import pytest

from scalc.dialects.context import parse_module, print_module
from scalc.dialects.nn import NN

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.mlir"))


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_golden_file_prints_back_identically(path: Path) -> None:
    text = path.read_text()
    module = parse_module(text)
    module.verify()
    assert print_module(module) == text


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_generic_form_parses_back_to_the_same_module(path: Path) -> None:
    module = parse_module(path.read_text())
    generic = print_module(module, generic=True)
    reparsed = parse_module(generic)
    reparsed.verify()
    assert reparsed.is_structurally_equivalent(module)
    assert print_module(reparsed) == path.read_text()


def test_every_nn_op_has_a_golden_example() -> None:
    used = {op.name for path in GOLDEN for op in parse_module(path.read_text()).walk()}
    missing = {op.name for op in NN.operations} - used
    assert not missing, f"no golden file uses {sorted(missing)}"
