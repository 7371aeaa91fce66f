"""The FP8 GEMM template compiles for Hopper (sm_90) on a machine without a GPU: the PTX
uses the FP8 tensor-core instruction (``wgmma`` with e4m3 / e5m2 operands) and ``ptxas``
(shipped in Triton's wheel) reports no register spills, for both operand pairs and both
configs.

Spills: ``CompiledKernel.n_spills`` is filled only when the cubin is loaded onto a device
(``driver.active.utils.load_binary``), so on CPU it is unavailable. The number comes from
the ``ptxas -v`` log that Triton's own ``make_cubin`` step writes, printed when
``knobs.nvidia.dump_ptxas_log`` (``TRITON_DUMP_PTXAS_LOG=1``) is set; the test captures it.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import time

import pytest

# Say what we compile with rather than rely on Triton 3.9's default (FP fusion on), which
# 3.10 changes; the GEMM epilogue has no multiply-add to fuse either way.
os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")

import triton
from triton.backends.compiler import GPUTarget

from scalc.lowering.templates.gemm import CONFIGS, GemmConfig, scaled_matmul_kernel

HOPPER = GPUTarget("cuda", 90, 32)




def compile_for_hopper(b_type: str, config: GemmConfig):
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
    attrs = {(fn.arg_names.index(name),): [["tt.divisibility", 16]] for name in aligned}
    source = triton.compiler.ASTSource(
        fn=fn, signature=signature, constexprs=constexprs, attrs=attrs
    )
    options = {"num_warps": config.num_warps, "num_stages": config.num_stages}
    log = io.StringIO()
    nvidia, compilation = triton.knobs.nvidia, triton.knobs.compilation
    saved = nvidia.dump_ptxas_log, compilation.always_compile
    # Always run ptxas: a cache hit would skip it and leave no log to read.
    nvidia.dump_ptxas_log, compilation.always_compile = True, True
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(log):
            compiled = triton.compile(source, target=HOPPER, options=options)
    finally:
        nvidia.dump_ptxas_log, compilation.always_compile = saved
    return compiled, log.getvalue(), time.perf_counter() - start


def spill_bytes(ptxas_log: str) -> tuple[int, int]:
    """(spill store bytes, spill load bytes) from a ``ptxas -v`` log."""
    found = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", ptxas_log)
    assert found, f"no spill line in the ptxas log:\n{ptxas_log}"
    return int(found.group(1)), int(found.group(2))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.BLOCK_M}x{c.BLOCK_N}x{c.BLOCK_K}")
@pytest.mark.parametrize("b_type,ptx_b", [("fp8e4nv", "e4m3"), ("fp8e5", "e5m2")])
def test_fp8_gemm_uses_wgmma_without_spills(b_type: str, ptx_b: str, config: GemmConfig) -> None:
    compiled, log, seconds = compile_for_hopper(b_type, config)
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
