"""The row-wise templates (lowering/templates/rowwise.py) compile for Hopper (sm_90) on a
machine without a GPU, with no spills in ``ptxas``'s log, at a short row (BLOCK_N = 128,
16 rows per program) and at the longest row they hold in registers (BLOCK_N = 4096, one
row, 8 warps), with fp32 and bf16 data: softmax with and without the fused causal mask and
its gradient, layernorm and its gradient (both passes), cross-entropy (terms and mean) and
its gradient, embedding and its gradient. The divisions and the square root are the IEEE
ones (``div.rn.f32``, ``sqrt.rn.f32``), as the reference's; bf16 stores round to nearest
even (``cvt.rn.bf16.f32``).

A launch specialises an integer argument equal to 1 into a constant (a row of one column,
one row, ``T = 1``): the kernels must compile that way too (`test_kernels_compile_with_sizes_of_one`).

Compiled with tests/lowering/hopper.py.
"""

from __future__ import annotations

import re

import pytest

from scalc.lowering.templates import rowwise
from scalc.lowering.templates.rowwise import row_config
from tests.lowering.hopper import compile_for_hopper, spill_bytes

ROW_LENGTHS = [128, 4096]
INTS = ("R", "N", "C", "T", "V", "D", "stride_x", "stride_y", "stride_dy", "stride_dx",
        "stride_out", "stride_logits", "stride_grad", "stride_table", "programs", "n")  # fmt: skip


def signature(kernel, data: str, **special: str) -> dict[str, str]:
    """Every argument of ``kernel`` typed: pointers to ``data``, ids/labels i32, partial sums
    and terms fp32, integers i32, scales and eps fp32; ``special`` overrides."""
    out = {}
    for name in (p.name for p in kernel.params if not p.is_constexpr):
        if name in special:
            out[name] = special[name]
        elif name in ("ids_ptr", "labels_ptr"):
            out[name] = "*i32"
        elif name in ("order_ptr", "bounds_ptr"):
            out[name] = "*i64"
        elif name in ("partial_ptr", "terms_ptr"):
            out[name] = "*fp32"
        elif name.endswith("_ptr"):
            out[name] = f"*{data}"
        elif name in INTS:
            out[name] = "i32"
        else:
            out[name] = "fp32"
    return out


def check(kernel, data: str, constexprs: dict, num_warps: int, **special: str) -> str:
    sig = signature(kernel, data, **special)
    aligned = tuple(n for n in sig if n.endswith("_ptr") or n.startswith("stride"))
    compiled, log, seconds = compile_for_hopper(
        kernel, sig, constexprs, aligned, num_warps=num_warps
    )
    regs = re.search(r"Used (\d+) registers", log)
    print(
        f"sm_90 {kernel.fn.__name__} {data} {constexprs}: {regs.group(1) if regs else '?'} "
        f"registers, spills {spill_bytes(log)}, compile {seconds:.1f} s"
    )
    assert spill_bytes(log) == (0, 0), log
    return compiled.asm["ptx"]


def row_constexprs(n_cols: int) -> tuple[dict, int]:
    block_m, block_n, num_warps = row_config(n_cols)
    return {"BLOCK_M": block_m, "BLOCK_N": block_n}, num_warps


@pytest.mark.parametrize("data", ["fp32", "bf16"])
@pytest.mark.parametrize("n_cols", ROW_LENGTHS)
@pytest.mark.parametrize("causal", [False, True], ids=["plain", "causal"])
def test_softmax_and_grad_compile_without_spills(causal: bool, n_cols: int, data: str) -> None:
    constexprs, warps = row_constexprs(n_cols)
    for kernel in (rowwise.softmax_kernel, rowwise.softmax_grad_kernel):
        ptx = check(kernel, data, {**constexprs, "CAUSAL": causal}, warps)
        if kernel is rowwise.softmax_kernel:
            assert "div.rn.f32" in ptx
        if data == "bf16":
            assert "cvt.rn.bf16.f32" in ptx or "cvt.rn.bf16x2.f32" in ptx


@pytest.mark.parametrize("data", ["fp32", "bf16"])
@pytest.mark.parametrize("n_cols", ROW_LENGTHS)
def test_layernorm_and_grad_compile_without_spills(n_cols: int, data: str) -> None:
    constexprs, warps = row_constexprs(n_cols)
    for kernel in (rowwise.layernorm_kernel, rowwise.layernorm_grad_kernel):
        assert "sqrt.rn.f32" in check(kernel, data, constexprs, warps)
    check(rowwise.layernorm_grad_params_kernel, data, {"BLOCK_N": min(n_cols, 1024)}, 4)


@pytest.mark.parametrize("n_cols", ROW_LENGTHS)
@pytest.mark.parametrize("label_type", ["i32", "i64"])
def test_cross_entropy_and_grad_compile_without_spills(label_type: str, n_cols: int) -> None:
    constexprs, warps = row_constexprs(n_cols)
    labels = {"labels_ptr": f"*{label_type}"}
    check(rowwise.cross_entropy_kernel, "bf16", constexprs, warps, **labels)
    ptx = check(rowwise.cross_entropy_grad_kernel, "bf16", constexprs, warps, **labels)
    assert "div.rn.f32" in ptx
    check(rowwise.mean_kernel, "fp32", {"BLOCK": 1024}, 4, x_ptr="*fp32")


@pytest.mark.parametrize("n_cols", [32, 1024])
@pytest.mark.parametrize("data", ["fp32", "bf16"])
def test_embedding_and_grad_compile_without_spills(data: str, n_cols: int) -> None:
    constexprs, warps = row_constexprs(n_cols)
    check(rowwise.embedding_kernel, data, constexprs, warps)
    check(rowwise.embedding_grad_kernel, data, {"BLOCK_N": constexprs["BLOCK_N"]}, warps)


def test_kernels_compile_with_sizes_of_one() -> None:
    ones = {"R": 1, "N": 1, "T": 1, "C": 1, "n": 1, "programs": 1}
    for kernel in (
        rowwise.softmax_kernel,
        rowwise.layernorm_kernel,
        rowwise.layernorm_grad_kernel,
        rowwise.cross_entropy_grad_kernel,
        rowwise.mean_kernel,
    ):
        constexprs = {k: v for k, v in ones.items() if k in kernel.arg_names}
        if "BLOCK_M" in kernel.arg_names:  # a row of one column, 16 rows (15 padding)
            constexprs |= {"BLOCK_M": 16, "BLOCK_N": 1}
        if "CAUSAL" in kernel.arg_names:
            constexprs["CAUSAL"] = True
        if "BLOCK" in kernel.arg_names:
            constexprs["BLOCK"] = 1024
        sig = {k: v for k, v in signature(kernel, "fp32").items() if k not in constexprs}
        compiled, log, _ = compile_for_hopper(kernel, sig, constexprs, (), num_warps=4)
        assert f".entry {kernel.fn.__name__}(" in compiled.asm["ptx"]
        assert compiled.asm["cubin"] and spill_bytes(log) == (0, 0), log
