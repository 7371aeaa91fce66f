"""The row-wise templates (lowering/templates/rowwise.py) compile for Hopper (sm_90) on a
machine without a GPU, with no spills in ``ptxas``'s log, at a short row (BLOCK_N = 128,
16 rows per program) and at the longest row they hold in registers (BLOCK_N = 4096, one
row, 8 warps): softmax with and without the fused causal mask, layernorm, and cross-entropy
with its gradient. The divisions and the square root are the IEEE ones (``div.rn.f32``,
``sqrt.rn.f32``), as the reference's.

Compiled with tests/lowering/hopper.py.
"""

from __future__ import annotations

import re

import pytest

from scalc.lowering.templates.rowwise import (
    cross_entropy_kernel,
    layernorm_kernel,
    row_config,
    softmax_kernel,
)
from tests.lowering.hopper import compile_for_hopper, spill_bytes

ROW_LENGTHS = [128, 4096]


def check(name: str, fn, signature: dict, constexprs: dict, aligned: tuple, n_cols: int) -> str:
    config = row_config(n_cols)
    constexprs = {**constexprs, "BLOCK_M": config.BLOCK_M, "BLOCK_N": config.BLOCK_N}
    compiled, log, seconds = compile_for_hopper(
        fn, signature, constexprs, aligned, num_warps=config.num_warps
    )
    regs = re.search(r"Used (\d+) registers", log)
    print(
        f"sm_90 {name} N={n_cols} ({config}): {regs.group(1) if regs else '?'} registers, "
        f"spills {spill_bytes(log)}, compile {seconds:.1f} s"
    )
    assert spill_bytes(log) == (0, 0), log
    return compiled.asm["ptx"]


@pytest.mark.parametrize("n_cols", ROW_LENGTHS)
@pytest.mark.parametrize("causal", [False, True], ids=["plain", "causal"])
def test_softmax_compiles_without_spills(causal: bool, n_cols: int) -> None:
    signature = {
        "x_ptr": "*fp32", "out_ptr": "*fp32", "R": "i32", "N": "i32",
        "stride_x": "i32", "stride_out": "i32", "T": "i32",
    }  # fmt: skip
    ptx = check(
        f"softmax{' causal' if causal else ''}",
        softmax_kernel,
        signature,
        {"CAUSAL": causal},
        ("x_ptr", "out_ptr", "R", "N", "stride_x", "stride_out", "T"),
        n_cols,
    )
    assert "div.rn.f32" in ptx


@pytest.mark.parametrize("n_cols", ROW_LENGTHS)
def test_layernorm_compiles_without_spills(n_cols: int) -> None:
    signature = {
        "x_ptr": "*fp32", "gamma_ptr": "*fp32", "beta_ptr": "*fp32", "out_ptr": "*fp32",
        "R": "i32", "N": "i32", "stride_x": "i32", "stride_out": "i32", "eps": "fp32",
    }  # fmt: skip
    aligned = ("x_ptr", "gamma_ptr", "beta_ptr", "out_ptr", "R", "N", "stride_x", "stride_out")
    ptx = check("layernorm", layernorm_kernel, signature, {}, aligned, n_cols)
    assert "sqrt.rn.f32" in ptx


@pytest.mark.parametrize("n_cols", ROW_LENGTHS)
@pytest.mark.parametrize("label_type", ["i32", "i64"])
def test_cross_entropy_compiles_without_spills(label_type: str, n_cols: int) -> None:
    signature = {
        "logits_ptr": "*fp32", "labels_ptr": f"*{label_type}", "dloss_ptr": "*fp32",
        "terms_ptr": "*fp32", "grad_ptr": "*fp32", "R": "i32", "C": "i32",
        "stride_logits": "i32", "stride_grad": "i32",
    }  # fmt: skip
    aligned = ("logits_ptr", "labels_ptr", "terms_ptr", "grad_ptr", "stride_logits", "stride_grad")
    ptx = check("cross_entropy", cross_entropy_kernel, signature, {}, aligned, n_cols)
    assert "div.rn.f32" in ptx
