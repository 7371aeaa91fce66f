"""The fused optimizer templates (lowering/templates/optimizer.py) compile for Hopper (sm_90)
on a machine without a GPU, with and without multiply-add contraction: division and square
root are the correctly rounded ``div.rn.f32`` / ``sqrt.rn.f32`` (no ``div.full`` /
``sqrt.approx``), ``enable_fp_fusion=False`` (the launchers' default) leaves no
``fma.rn.f32`` (so the GPU does the reference's fp32 op sequence exactly), ``True`` contracts
some (counted and printed), and ``ptxas`` reports no spills. Compiled like
test_cast_cross_compile.py (``dump_ptxas_log``; ``n_spills`` needs a device).
"""

from __future__ import annotations

import re

import pytest

from scalc.lowering.templates.optimizer import OptimizerConfig, adamw_kernel, sgd_kernel
from tests.lowering.hopper import compile_for_hopper, opcode_counts, spill_bytes

CONFIG = OptimizerConfig()
ARITHMETIC = ("fma", "div", "sqrt", "mul", "add", "sub", "rcp")


def check(name: str, fn, signature: dict, constexprs: dict, fp_fusion: bool) -> dict[str, int]:
    aligned = tuple(k for k in signature if k.endswith("_ptr")) + ("n",)
    compiled, log, seconds = compile_for_hopper(
        fn, signature, constexprs, aligned, num_warps=CONFIG.num_warps, enable_fp_fusion=fp_fusion
    )
    kinds = opcode_counts(compiled.asm["ptx"], lambda op: op.split(".")[0] in ARITHMETIC)
    regs = re.search(r"Used (\d+) registers", log)
    print(
        f"sm_90 {name} fp_fusion={fp_fusion}: {kinds}, "
        f"{regs.group(1) if regs else '?'} registers, spills {spill_bytes(log)}, "
        f"compile {seconds:.1f} s"
    )
    assert spill_bytes(log) == (0, 0), log
    assert not any(k.startswith(("div.full", "div.approx", "sqrt.approx", "rcp")) for k in kinds)
    fmas = sum(n for k, n in kinds.items() if k.startswith("fma"))
    if fp_fusion:
        assert fmas > 0, kinds
    else:
        assert fmas == 0, kinds
    return kinds


@pytest.mark.parametrize("fp_fusion", [False, True], ids=["unfused", "fused"])
def test_adamw_kernel_compiles_correctly_rounded_without_spills(fp_fusion: bool) -> None:
    signature = {f"{x}_ptr": "*fp32" for x in "wgmv"} | {"n": "i64"}
    signature |= {
        k: "fp32"
        for k in (
            "decay",
            "step_size",
            "correction2_sqrt",
            "beta1",
            "one_minus_beta1",
            "beta2",
            "one_minus_beta2",
            "eps",
        )
    }
    kinds = check("adamw", adamw_kernel, signature, {"BLOCK": CONFIG.BLOCK}, fp_fusion)
    assert any(k.startswith("div.rn.f32") for k in kinds), kinds
    assert any(k.startswith("sqrt.rn.f32") for k in kinds), kinds


@pytest.mark.parametrize("fp_fusion", [False, True], ids=["unfused", "fused"])
@pytest.mark.parametrize("nesterov", [False, True], ids=["momentum", "nesterov"])
def test_sgd_kernel_compiles_without_spills(nesterov: bool, fp_fusion: bool) -> None:
    signature = {"w_ptr": "*fp32", "g_ptr": "*fp32", "buf_ptr": "*fp32", "n": "i64"}
    signature |= {"lr": "fp32", "momentum": "fp32", "weight_decay": "fp32"}
    constexprs = {
        "HAS_WEIGHT_DECAY": True,
        "HAS_MOMENTUM": True,
        "NESTEROV": nesterov,
        "BLOCK": CONFIG.BLOCK,
    }
    check(f"sgd nesterov={nesterov}", sgd_kernel, signature, constexprs, fp_fusion)
