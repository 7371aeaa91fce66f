"""The GEMM template compiles for Hopper (sm_90) on a machine without a GPU: the PTX uses
the tensor-core instruction (``wgmma`` with e4m3 / e5m2 operands for FP8, bf16 for bf16;
fp32 with ``input_precision="ieee"`` runs on FMA units) and ``ptxas`` (shipped in Triton's
wheel) reports no register spills, for every operand pair and every config of its width
(`gemm_configs`: the generated gemm kernels' main loops; their ``HOPPER`` entries, with
the epilogues, are compiled in test_codegen_gemm.py at the largest config).

Spills come from the ``ptxas -v`` log (tests/lowering/hopper.py: ``n_spills`` needs a
device).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from scalc.lowering.templates.gemm import gemm_configs, scaled_matmul_kernel
from tests.lowering.hopper import compile_for_hopper, spill_bytes


def compile_gemm(
    a_type: str, b_type: str, config: dict[str, int], b_k_major: bool = True
) -> tuple[Any, str, float]:
    """The kernel as a real launch on (1024, 1024, 1024) would specialise it: pointers and
    sizes 16-byte aligned, the unit strides (row-major A and out, B K-major or, with
    ``b_k_major=False``, row-major) constants. Returns (compiled kernel, ptxas log, seconds)."""
    b_unit, b_other = ("stride_bk", "stride_bn") if b_k_major else ("stride_bn", "stride_bk")
    fn = scaled_matmul_kernel
    signature = {
        "a_ptr": f"*{a_type}",
        "b_ptr": f"*{b_type}",
        "out_ptr": "*fp32",
        "amax_ptr": "*i32",
        "alpha": "fp32",
        "M": "i32",
        "N": "i32",
        "K": "i32",
        "stride_am": "i32",
        "stride_ak": "constexpr",
        b_other: "i32",
        b_unit: "constexpr",
        "stride_om": "i32",
        "stride_on": "constexpr",
        "BLOCK_M": "constexpr",
        "BLOCK_N": "constexpr",
        "BLOCK_K": "constexpr",
        "GROUP_M": "constexpr",
        "WRITE_AMAX": "constexpr",
    }
    constexprs = {
        "stride_ak": 1,
        b_unit: 1,
        "stride_on": 1,
        "BLOCK_M": config["BLOCK_M"],
        "BLOCK_N": config["BLOCK_N"],
        "BLOCK_K": config["BLOCK_K"],
        "GROUP_M": config["GROUP_M"],
        "WRITE_AMAX": True,
    }
    aligned = (
        "a_ptr",
        "b_ptr",
        "out_ptr",
        "amax_ptr",
        "M",
        "N",
        "K",
        "stride_am",
        b_other,
        "stride_om",
    )
    options = {"num_warps": config["num_warps"], "num_stages": config["num_stages"]}
    return compile_for_hopper(fn, signature, constexprs, aligned, **options)


# (A type, B type, the wgmma operand forms or None for no tensor cores, bytes per operand)
OPERANDS = [
    ("fp8e4nv", "fp8e4nv", "e4m3.e4m3", 1),
    ("fp8e4nv", "fp8e5", "e4m3.e5m2", 1),
    ("bf16", "bf16", "bf16.bf16", 2),
    ("fp32", "fp32", None, 4),
]
CASES = [(a, b, form, config) for a, b, form, width in OPERANDS for config in gemm_configs(width)]


def case_id(case: tuple) -> str:
    a, b, _, c = case
    return f"{a}x{b}-{c['BLOCK_M']}x{c['BLOCK_N']}x{c['BLOCK_K']}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_gemm_uses_the_tensor_cores_without_spills(case: tuple) -> None:
    a_type, b_type, form, config = case
    compiled, log, seconds = compile_gemm(a_type, b_type, config)
    ptx = compiled.asm["ptx"]
    wgmma = [line.strip() for line in ptx.splitlines() if "wgmma.mma_async" in line]
    regs = re.search(r"Used (\d+) registers", log)
    print(
        f"sm_90 {config}: {a_type} x {b_type}, {len(wgmma)} wgmma, compile {seconds:.1f} s, "
        f"{regs.group(1) if regs else '?'} registers, spills {spill_bytes(log)}"
        + (f"; {wgmma[0].split()[0]}" if wgmma else "")
    )
    if form is None:
        assert not wgmma and "fma.rn.f32" in ptx, "fp32 ieee: exact fp32 FMAs, no TF32 MMA"
    else:
        assert wgmma, "no wgmma in the PTX: the tensor-core path was not taken"
        assert all(f".f32.{form}" in line for line in wgmma), wgmma[:2]
    assert spill_bytes(log) == (0, 0), log


def test_fp8_gemm_with_an_n_major_b_still_uses_wgmma() -> None:
    """A row-major (N-major) FP8 B, as a forward weight cast without a transpose arrives:
    Triton still runs it on FP8 ``wgmma`` (the K-major layout is what the hardware reads,
    so it is the cheaper one to hand over)."""
    config = gemm_configs(1)[0]
    compiled, log, _ = compile_gemm("fp8e4nv", "fp8e4nv", config, b_k_major=False)
    wgmma = [line for line in compiled.asm["ptx"].splitlines() if "wgmma.mma_async" in line]
    assert wgmma and all(".f32.e4m3.e4m3" in line for line in wgmma), wgmma[:2]
    assert spill_bytes(log) == (0, 0), log
