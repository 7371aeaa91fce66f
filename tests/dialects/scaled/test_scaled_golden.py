"""Golden scaled IR: every file under golden/ parses, verifies and prints back to itself,
in the custom form and through the generic form; together they use every scaled op."""

from pathlib import Path

import pytest

from scalc.dialects.context import parse_module, print_module
from scalc.dialects.scaled import SCALED

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.mlir"))


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_scaled_golden_file_prints_back_identically(path: Path) -> None:
    text = path.read_text()
    module = parse_module(text)
    module.verify()
    assert print_module(module) == text


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_scaled_generic_form_parses_back_to_the_same_module(path: Path) -> None:
    module = parse_module(path.read_text())
    generic = print_module(module, generic=True)
    assert "!scaled.tensor<" in generic and '"scaled.' in generic
    reparsed = parse_module(generic)
    reparsed.verify()
    assert reparsed.is_structurally_equivalent(module)
    assert print_module(reparsed) == path.read_text()


def test_every_scaled_op_has_a_golden_example() -> None:
    used = {op.name for path in GOLDEN for op in parse_module(path.read_text()).walk()}
    missing = {op.name for op in SCALED.operations} - used
    assert not missing, f"no golden file uses {sorted(missing)}"


def test_fp8_golden_multiplies_e5m2_gradients_by_e4m3_values() -> None:
    # The backward matmuls of the fp8 recipes mix the two formats (docs/scaled.md).
    text = (Path(__file__).parent / "golden" / "fp8_backward.mlir").read_text()
    assert "(!scaled.tensor<?x10xf8E5M2>, !scaled.tensor<10x256xf8E4M3FN>)" in text
