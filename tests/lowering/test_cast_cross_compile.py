"""The FP8 cast template (lowering/templates/cast.py) compiles for Hopper (sm_90) on a
machine without a GPU: the fp32 -> fp8 conversion is ``cvt.rn.satfinite.{e4m3,e5m2}x2.f32``
(round to nearest even, saturating: what ``round_to`` and the interpreter patch model) and
no other fp8 conversion appears; ``ptxas`` reports no spills. Both formats, both layouts
(the transposed store is the K-major copy for the GEMM's B operand), and the amax kernel.

Spills come from the ``ptxas -v`` log Triton's ``make_cubin`` prints with
``knobs.nvidia.dump_ptxas_log`` (tests/lowering/hopper.py: ``n_spills`` needs a device).
"""

from __future__ import annotations

import re

import pytest

from scalc.lowering.templates.cast import (
    FP8_FORMATS,
    CastConfig,
    amax_kernel,
    fp8_constexprs,
    rescale_cast_kernel,
)
from tests.lowering.hopper import compile_for_hopper, opcode_counts, spill_bytes

CONFIG = CastConfig()
PTX_NAME = {"f8E4M3FN": "e4m3", "f8E5M2": "e5m2"}




@pytest.mark.parametrize("transpose", [False, True], ids=["rowmajor", "transposed"])
@pytest.mark.parametrize("fmt", list(FP8_FORMATS))
def test_fp8_cast_uses_satfinite_without_spills(fmt: str, transpose: bool) -> None:
    f = FP8_FORMATS[fmt]
    out_type = "fp8e4nv" if fmt == "f8E4M3FN" else "fp8e5"
    signature = {
        "x_ptr": "*bf16",
        "out_ptr": f"*{out_type}",
        "amax_ptr": "*fp32",
        "in_scale_ptr": "*fp32",
        "scale_out_ptr": "*fp32",
        "M": "i32",
        "N": "i32",
        "stride_xm": "i32",
        "stride_xn": "constexpr",
        "stride_om": "constexpr" if transpose else "i32",
        "stride_on": "i32" if transpose else "constexpr",
    }
    constexprs = {
        **fp8_constexprs(f, margin=0),
        "stride_xn": 1,
        **({"stride_om": 1} if transpose else {"stride_on": 1}),
        "BLOCK_M": CONFIG.BLOCK_M,
        "BLOCK_N": CONFIG.BLOCK_N,
    }
    aligned = ("x_ptr", "out_ptr", "M", "N", "stride_xm", "stride_on" if transpose else "stride_om")
    compiled, log, seconds = compile_for_hopper(
        rescale_cast_kernel, signature, constexprs, aligned, num_warps=CONFIG.num_warps
    )
    ptx = compiled.asm["ptx"]
    kinds = opcode_counts(ptx, lambda op: op.startswith("cvt."))
    regs = re.search(r"Used (\d+) registers", log)
    print(
        f"sm_90 rescale_cast {fmt} {'transposed' if transpose else 'row-major'}: cvt {kinds}, "
        f"{regs.group(1) if regs else '?'} registers, spills {spill_bytes(log)}, "
        f"shared {compiled.metadata.shared} B, compile {seconds:.1f} s"
    )
    ptx_fmt = PTX_NAME[fmt]
    fp8_cvts = {k: n for k, n in kinds.items() if "e4m3" in k or "e5m2" in k}
    assert fp8_cvts == {
        f"cvt.rn.satfinite.{ptx_fmt}x2.f32": fp8_cvts.get(f"cvt.rn.satfinite.{ptx_fmt}x2.f32", 0)
    }
    assert fp8_cvts[f"cvt.rn.satfinite.{ptx_fmt}x2.f32"] > 0, kinds
    assert spill_bytes(log) == (0, 0), log


def test_amax_kernel_compiles_without_spills() -> None:
    signature = {
        "x_ptr": "*bf16",
        "partial_ptr": "*fp32",
        "M": "i32",
        "N": "i32",
        "stride_xm": "i32",
        "stride_xn": "constexpr",
    }
    constexprs = {"stride_xn": 1, "BLOCK_M": CONFIG.BLOCK_M, "BLOCK_N": CONFIG.BLOCK_N}
    _, log, seconds = compile_for_hopper(
        amax_kernel, signature, constexprs, ("x_ptr", "M", "N", "stride_xm"), num_warps=CONFIG.num_warps
    )
    print(f"sm_90 amax: {spill_bytes(log)} spills, compile {seconds:.1f} s")
    assert spill_bytes(log) == (0, 0), log
