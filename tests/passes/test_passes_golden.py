"""Golden tests of the passes: ``golden/NAME.scl`` -> ``--emit train`` (autodiff and the
optimizer) or, with ``--emit scaled``, scalify.

A first line ``# OPTIONS: --optimizer sgd ...`` (or ``--emit scaled --recipe fp8``) sets the
compile options, read by the real CLI parser. Each expected ``NAME.mlir`` must also
parse, verify and print back identically. Regenerate with ``SCALC_UPDATE_GOLDEN=1`` (see
tests/golden_support.py) and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scalc.cli import build_parser
from scalc.dialects.context import parse_module, print_module
from scalc.driver import run_stages
from scalc.passes.autodiff_rules import GRAD_RULES
from scalc.passes.optimizer import OptimizerConfig
from scalc.passes.recipes import resolve_recipe
from tests.golden_support import assert_matches_golden

GOLDEN = Path(__file__).resolve().parent / "golden"
REPO = GOLDEN.parents[2]
SOURCES = sorted(GOLDEN.glob("*.scl"))


def compile_golden(path: Path) -> str:
    """Compile as ``scalc compile`` would with the ``# OPTIONS:`` line (default: --emit train)."""
    source = path.read_text()
    first = source.splitlines()[0]
    flags = first.split("OPTIONS:", 1)[1].split() if "OPTIONS:" in first else []
    args = build_parser().parse_args(["compile", "x.scl", *flags])
    keys = ("lr", "weight_decay", "beta1", "beta2", "eps", "momentum", "nesterov")
    optimizer = OptimizerConfig.make(args.optimizer, **{k: getattr(args, k) for k in keys})
    name = path.relative_to(REPO).as_posix()
    return run_stages(source, name, args.emit or "train", optimizer, resolve_recipe(args.recipe)).show()


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_pass_output_matches_golden_file(path: Path) -> None:
    assert_matches_golden(compile_golden(path), path.with_suffix(".mlir"), f"output of {path.name}")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_golden_train_module_parses_and_prints_back(path: Path) -> None:
    text = path.with_suffix(".mlir").read_text()
    module = parse_module(text)
    module.verify()
    assert print_module(module) == text


def test_every_gradient_rule_is_exercised_by_a_golden() -> None:
    used = {op.name for p in SOURCES for op in parse_module(p.with_suffix(".mlir").read_text()).walk()}
    # A forward op with a rule shows up in @train_forward when a golden differentiates it.
    missing = sorted(op.name for op in GRAD_RULES if op.name not in used)
    assert not missing, f"no golden differentiates {missing}"


# Ops with no operands to differentiate: module-level declarations and leaves.
_LEAVES = {"nn.param", "nn.get_param", "nn.constant"}
# Modules of ops a program's forward graph can contain (the rest are grads/optimizer/state).
_FORWARD_MODULES = ("elementwise", "linalg", "reduce", "shape", "layers", "loss", "module")


def test_every_forward_op_has_a_gradient_rule() -> None:
    from scalc.dialects import nn

    forward = [
        op for op in nn.NN.operations if op.__module__.rsplit(".", 1)[-1] in _FORWARD_MODULES
    ]
    missing = sorted(op.name for op in forward if op not in GRAD_RULES and op.name not in _LEAVES)
    assert not missing, f"no @grad_rule for {missing}"
    assert len(forward) > 25  # the filter above still finds the forward ops
