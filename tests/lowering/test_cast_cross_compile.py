"""The cast template (lowering/templates/cast.py) compiles for Hopper (sm_90) on a machine
without a GPU: the fp32 -> fp8 conversion is ``cvt.rn.satfinite.{e4m3,e5m2}x2.f32`` (round
to nearest even, saturating: what ``round_to`` and the interpreter patch model) and no other
fp8 conversion appears; a bf16 output is ``cvt.rn.bf16`` after the clamp (no ``.ftz``
anywhere: subnormals are kept, as numpy keeps them); ``ptxas`` reports no spills. Both fp8
formats (with the cast statistics the kernel counts, ``STATS``), the path through the value
(``DIRECT = False``), and the amax kernel.

Spills come from the ``ptxas -v`` log Triton's ``make_cubin`` prints with
``knobs.nvidia.dump_ptxas_log`` (tests/lowering/hopper.py: ``n_spills`` needs a device).
"""

from __future__ import annotations

import re

import pytest

from scalc.lowering.templates.cast import BLOCK, NUM_WARPS, amax_kernel, rescale_cast_kernel
from tests.lowering.hopper import compile_for_hopper, opcode_counts, spill_bytes

PTX_NAME = {"fp8e4nv": "e4m3", "fp8e5": "e5m2"}
BF16_MAX = 3.3895313892515355e38


FMT_LIMITS = {"fp8e4nv": (448.0, 2.0**-10), "fp8e5": (57344.0, 2.0**-17), "bf16": (0.0, 0.0)}


def compile_rescale_cast(out_type: str, direct: bool) -> tuple[dict[str, int], str]:
    """With the cast statistics (``STATS``) for an fp8 output, as a session runs it."""
    stats = out_type in PTX_NAME
    signature = {
        "x_ptr": "*bf16",
        "out_ptr": f"*{out_type}",
        "stats_ptr": "*i32",
        "n": "i32",
        "ratio": "fp32",
        "in_scale": "fp32",
        "scale": "fp32",
    }
    clamp = out_type == "bf16"
    constexprs = {
        "DIRECT": direct,
        "CLAMP": clamp,
        "OUT_MAX": BF16_MAX if clamp else 0.0,
        "STATS": stats,
        "FMT_MAX": FMT_LIMITS[out_type][0],
        "FLUSH_BELOW": FMT_LIMITS[out_type][1],
        "BLOCK": BLOCK,
    }
    compiled, log, seconds = compile_for_hopper(
        rescale_cast_kernel, signature, constexprs, ("x_ptr", "out_ptr"), num_warps=NUM_WARPS
    )
    ptx = compiled.asm["ptx"]
    kinds = opcode_counts(ptx, lambda op: op.startswith("cvt."))
    regs = re.search(r"Used (\d+) registers", log)
    print(
        f"sm_90 rescale_cast -> {out_type} direct={direct}: cvt {kinds}, "
        f"{regs.group(1) if regs else '?'} registers, spills {spill_bytes(log)}, "
        f"compile {seconds:.1f} s"
    )
    assert spill_bytes(log) == (0, 0), log
    assert ".ftz" not in ptx
    return kinds, ptx


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "through-value"])
@pytest.mark.parametrize("out_type", list(PTX_NAME))
def test_fp8_cast_uses_satfinite_without_spills(out_type: str, direct: bool) -> None:
    kinds, _ = compile_rescale_cast(out_type, direct)
    ptx_fmt = PTX_NAME[out_type]
    fp8_cvts = {k: n for k, n in kinds.items() if "e4m3" in k or "e5m2" in k}
    assert set(fp8_cvts) == {f"cvt.rn.satfinite.{ptx_fmt}x2.f32"}, kinds


def test_bf16_rescale_rounds_to_nearest_even_without_spills() -> None:
    kinds, ptx = compile_rescale_cast("bf16", direct=True)
    assert any(k.startswith("cvt.rn.bf16") for k in kinds), kinds
    clamps = opcode_counts(ptx, lambda op: op.startswith("min."))  # min.xorsign.abs.f32
    assert clamps, "no clamp before the bf16 conversion"


def test_amax_kernel_compiles_without_spills() -> None:
    signature = {"x_ptr": "*bf16", "partial_ptr": "*fp32", "n": "i32"}
    _, log, seconds = compile_for_hopper(
        amax_kernel, signature, {"BLOCK": BLOCK}, ("x_ptr", "partial_ptr"), num_warps=NUM_WARPS
    )
    print(f"sm_90 amax: {spill_bytes(log)} spills, compile {seconds:.1f} s")
    assert spill_bytes(log) == (0, 0), log
