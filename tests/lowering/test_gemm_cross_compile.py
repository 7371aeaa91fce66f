"""The FP8 GEMM template compiles for Hopper (sm_90) on a machine without a GPU: the PTX
uses the FP8 tensor-core instruction (``wgmma`` with e4m3 / e5m2 operands) and ``ptxas``
(shipped in Triton's wheel) reports no register spills, for both operand pairs and both
configs.

Spills come from the ``ptxas -v`` log (tests/lowering/hopper.py: ``n_spills`` needs a
device).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from scalc.lowering.templates.gemm import CONFIGS, GemmConfig, scaled_matmul_kernel
from tests.lowering.hopper import compile_for_hopper, spill_bytes


def compile_gemm(b_type: str, config: GemmConfig) -> tuple[Any, str, float]:
    """The kernel as a real launch on (1024, 1024, 1024) would specialise it: pointers and
    sizes 16-byte aligned, the unit strides (K-major operands, row-major out) constants.
    Returns (compiled kernel, ptxas log, seconds)."""
    fn = scaled_matmul_kernel
    signature = {
        "a_ptr": "*fp8e4nv",
        "b_ptr": f"*{b_type}",
        "out_ptr": "*fp32",
        "amax_ptr": "*fp32",
        "alpha": "fp32",
        "M": "i32",
        "N": "i32",
        "K": "i32",
        "stride_am": "i32",
        "stride_ak": "constexpr",
        "stride_bn": "i32",
        "stride_bk": "constexpr",
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
        "stride_bk": 1,
        "stride_on": 1,
        "BLOCK_M": config.BLOCK_M,
        "BLOCK_N": config.BLOCK_N,
        "BLOCK_K": config.BLOCK_K,
        "GROUP_M": config.GROUP_M,
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
        "stride_bn",
        "stride_om",
    )
    return compile_for_hopper(
        fn, signature, constexprs, aligned, num_warps=config.num_warps, num_stages=config.num_stages
    )



@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.BLOCK_M}x{c.BLOCK_N}x{c.BLOCK_K}")
@pytest.mark.parametrize("b_type,ptx_b", [("fp8e4nv", "e4m3"), ("fp8e5", "e5m2")])
def test_fp8_gemm_uses_wgmma_without_spills(b_type: str, ptx_b: str, config: GemmConfig) -> None:
    compiled, log, seconds = compile_gemm(b_type, config)
    ptx = compiled.asm["ptx"]
    wgmma = [line.strip() for line in ptx.splitlines() if "wgmma.mma_async" in line]
    regs = re.search(r"Used (\d+) registers", log)
    print(
        f"sm_90 {config}: B {ptx_b}, {len(wgmma)} wgmma, compile {seconds:.1f} s, "
        f"{regs.group(1) if regs else '?'} registers, spills {spill_bytes(log)}; {wgmma[0].split()[0]}"
    )
    assert wgmma, "no wgmma in the PTX: the FP8 tensor-core path was not taken"
    assert all(f".e4m3.{ptx_b}" in line for line in wgmma), wgmma[:2]
    assert ".f32.e4m3" in wgmma[0], "accumulator is not fp32"
    assert spill_bytes(log) == (0, 0), log
