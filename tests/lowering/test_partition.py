"""The kernel plan (``--emit kernels``, lowering/partition.py): golden plans of the
examples under ``--recipe fp8`` (``golden_kernels/NAME.fp8.txt``; regenerate with
``SCALC_UPDATE_GOLDEN=1``, tests/golden_support.py) and the properties every plan has."""

from __future__ import annotations

from pathlib import Path

import pytest
from xdsl.ir import BlockArgument

from scalc.cli import main
from scalc.dialects import nn, scaled
from scalc.driver import run_stages
from scalc.lowering.partition import KernelPlan
from scalc.passes.recipes import resolve_recipe
from tests.golden_support import assert_matches_golden

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
EXAMPLES = ("mlp", "gpt")


def plan_of(example: str, recipe: str = "fp8") -> tuple[KernelPlan, str]:
    path = REPO / "examples" / f"{example}.scl"
    result = run_stages(path.read_text(), f"examples/{example}.scl", "kernels", None,
                        resolve_recipe(recipe))  # fmt: skip
    plan = result.compilation.kernels
    assert plan is not None
    return plan, result.show()


@pytest.mark.parametrize("example", EXAMPLES)
def test_fp8_kernel_plan_matches_golden_file(example: str) -> None:
    _, text = plan_of(example)
    golden = HERE / "golden_kernels" / f"{example}.fp8.txt"
    assert_matches_golden(text, golden, f"kernel plan of examples/{example}.scl")


CASES = [(e, r) for e in EXAMPLES for r in ("fp8", "fp8-delayed", "bf16", "fp32")]


@pytest.mark.parametrize("example,recipe", CASES)
def test_every_op_is_in_exactly_one_group(example: str, recipe: str) -> None:
    plan, _ = plan_of(example, recipe)
    for entry, groups in plan.groups.items():
        grouped = [op for g in groups for op in g.ops]
        assert len(grouped) == len(set(grouped)), f"@{entry}: an op is in two groups"
        function = groups[0].ops[0].parent_op()
        assert function is not None
        body = [op for op in function.walk() if op is not function and op.name != "func.return"]
        assert set(grouped) == set(body), f"@{entry}: ops outside every group"
        assert all(g.entry == entry for g in groups)


@pytest.mark.parametrize("example,recipe", CASES)
def test_groups_are_in_topological_order(example: str, recipe: str) -> None:
    plan, _ = plan_of(example, recipe)
    for entry, groups in plan.groups.items():
        seen: set[object] = set()
        for group in groups:
            mine = set(group.ops)
            for op in group.ops:
                for value in op.operands:
                    owner = value.owner
                    assert isinstance(value, BlockArgument) or owner in seen | mine, (
                        f"@{entry}: {group.name} reads {op.name}'s operand before it is made"
                    )
            seen |= mine


@pytest.mark.parametrize("example,recipe", CASES)
def test_one_gemm_per_matmul_and_one_optimizer_group(example: str, recipe: str) -> None:
    plan, _ = plan_of(example, recipe)
    matmuls = [
        op for groups in plan.groups.values() for g in groups for op in g.ops
        if isinstance(op, (scaled.MatmulOp, nn.MatmulOp))
    ]  # fmt: skip
    gemms = [g for groups in plan.groups.values() for g in groups if g.kind == "gemm"]
    assert len(gemms) == len(matmuls) > 0
    assert all(sum(isinstance(op, (scaled.MatmulOp, nn.MatmulOp)) for op in g.ops) == 1
               for g in gemms)  # fmt: skip
    optimizer = [g for g in plan.groups["optimizer_step"] if g.kind == "optimizer"]
    assert len(optimizer) == 1
    assert plan.counts()["optimizer"] == 1
    updates = [op for g in plan.groups["optimizer_step"] for op in g.ops
               if isinstance(op, nn.OptimizerOp)]  # fmt: skip
    assert updates and all(op in optimizer[0].ops for op in updates)


def test_mlp_forward_fuses_bias_relu_and_amax_into_the_first_gemm() -> None:
    plan, _ = plan_of("mlp")
    names = [g.name for g in plan.groups["forward"]]
    assert names[:4] == ["k0_host", "k1_cast_e4m3", "k2_cast_e4m3", "k3_gemm_e4m3_bias_relu_amax"]
    gemm = plan.groups["forward"][3]
    assert [op.name for op in gemm.ops] == [
        "scaled.matmul", "scaled.broadcast", "scaled.add", "scaled.relu", "scaled.amax",
    ]  # fmt: skip


def test_backward_cast_of_a_transpose_is_a_kmajor_copy() -> None:
    plan, _ = plan_of("mlp")
    kmajor = [g for g in plan.groups["train_backward"] if "kmajor" in g.name]
    assert kmajor and all(g.kind == "cast" for g in kmajor)
    assert all(g.ops[0].name == "scaled.transpose" for g in kmajor)


def test_gpt_fuses_causal_mask_with_softmax() -> None:
    plan, _ = plan_of("gpt")
    rows = [g.name for g in plan.groups["forward"] if g.kind == "rowwise"]
    assert any(name.endswith("rowwise_causal_mask_softmax") for name in rows)


def test_emit_kernels_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["compile", str(REPO / "examples" / "mlp.scl"), "--recipe", "fp8",
                   "--emit", "kernels"])  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0
    assert "k3_gemm_e4m3_bias_relu_amax  gemm" in out
    assert "%4 = scaled.matmul, %5 = scaled.broadcast, %6 = scaled.add, %7 = scaled.relu" in out
    assert out.splitlines()[-1].startswith("total: gemm 7,")
