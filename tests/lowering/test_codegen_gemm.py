"""The generated gemm kernels (lowering/codegen/gemm.py) against the reference backend, on
the values one training step of examples/mlp.scl and examples/gpt.scl records under every
built-in recipe (tests/lowering/groups.py), run by Triton's CPU interpreter with the
interpreter patch (fp32 -> bf16/fp8 rounding and bf16/FP8 ``tl.dot`` as on the GPU) in a
subprocess (codegen_gemm_check.py); and compiled for Hopper (sm_90).

What must hold for every gemm group's outputs:
- the scale equals the reference's exactly (the same rules on the same scales and shapes);
- ``max_eps`` (the harness's error in units of the output format's epsilon relative to
  max(|ref|, rms(ref))) stays within a bound made of three terms, each computed by the check
  from the recorded data (codegen_gemm_check.py):
  * 1 for the final rounding into a format narrower than fp32: the kernel and the
    reference round values that may differ (below), and two roundings of nearby values
    land at most one step apart, one step being at most epsilon times |ref|;
  * ``rounding_eps``: the fused kernel skips the reference's rounding of each intermediate
    (the matmul result, the bias sum...) into its format; each skipped rounding moves the
    value by at most half an epsilon of that format times the intermediate's magnitude,
    carried to the output by the slope of the ops after it (at most 1, gelu's 1.13);
  * ``summation_eps``: the kernel's fp32 sums run in another order than NumPy's; both are
    within ``K 2^-24 sum_k |a_ik b_kj|`` of the exact sum (the classical bound), which the
    epilogue carries to the output by its slope. Loose (hundreds of fp32 epsilons at
    K = 128) but rigorous. (Under the patched interpreter each ``tl.dot`` tile is summed in
    float64 and rounded once, interpreter_patch.py: the kernel is the more accurate side.)
  The measured maxima (printed with ``-s``): fp32 ~5.5 (summation order only: no rounding is
  skipped in fp32), bf16, fp8, fp8-delayed 1.0 (a rounding flip where skipped roundings
  moved the value across a rounding boundary); most narrow-format outputs are exact.
- the fused amax equals ``max |data| * scale`` of the stored output exactly, and the
  reference's amax within the same bound (the max moves at most as far as any element);
  with a NaN in A it is NaN, as the reference's;
- the same values laid out transposed (column-major matrices: a K-major B, an N-D A whose
  batch cannot fold into M and goes to the grid, vectors strided by 2) give the same bits.
  That is a contract here because the patched interpreter's ``tl.dot`` sums in one fixed
  order whatever the layout, CPU or BLAS (tests/lowering/test_interpreter_patch.py checks
  it); with NumPy's BLAS matmul the bits depended on the machine.

The cross-compile test compiles each distinct kernel (the gpt's layers and entries repeat
kernels) for sm_90 with its ``HOPPER`` entry: no spills; FP8 gemms on ``wgmma`` with the
operands' e4m3/e5m2 forms, bf16 gemms on bf16 ``wgmma``.
"""

from __future__ import annotations

import inspect
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from tests.lowering.interpret import run_interpreted

SCRIPT = Path(__file__).with_name("codegen_gemm_check.py")
RECIPES = ("fp32", "bf16", "fp8", "fp8-delayed")
CASES: list[list[Any]] = [[example, recipe] for example in ("mlp", "gpt") for recipe in RECIPES]
# DH = 8: attention's scale sqrt(8) is not a bf16 number, so its broadcast rounds.
CASES.append(["gpt", "fp8", {"HEADS": 4, "LAYERS": 1}])
EPS = {"f32": 2.0**-23, "bf16": 2.0**-7}


def case_id(case: list[Any]) -> str:
    return "-".join([case[0], case[1], *(f"{k}{v}" for k, v in (case[2:] or [{}])[0].items())])


@pytest.fixture(scope="module")
def lines() -> list[dict]:
    return run_interpreted(SCRIPT, json.dumps(CASES), timeout=600)


def case_of(r: dict) -> list[Any]:
    return [r["example"], r["recipe"], *([r["sizes"]] if r["sizes"] else [])]


def bound(r: dict) -> float:
    """The bound on ``max_eps`` of one output (module docstring)."""
    return (r["format"] != "f32") + r["rounding_eps"] + r["summation_eps"]


def checked(lines: list[dict]) -> list[dict]:
    """The outputs of the groups that ran (not repeats of an earlier group's signature)."""
    return [r for r in lines if "same_as" not in r and r.get("layout") != "nan"]


def test_every_gemm_group_of_the_examples_runs(lines: list[dict]) -> None:
    ran = {(r["example"], r["recipe"], json.dumps(r["sizes"]), r["entry"], r["group"])
           for r in checked(lines)}  # fmt: skip
    for case in CASES:
        assert any(case_of(r) == case for r in lines), f"no gemm group in {case}"
    repeats = [r for r in lines if "same_as" in r]
    for r in repeats:  # a repeat names the group with its signature that ran
        example, recipe, sizes, entry, group = r["same_as"]
        assert (example, recipe, json.dumps(sizes), entry, group) in ran, r
    print(f"{len(ran)} distinct gemm groups run, {len(repeats)} repeats skipped, "
          f"interpreter {sum(r['seconds'] for r in checked(lines)) / 2:.1f} s")  # fmt: skip


def test_generated_gemms_match_the_reference(lines: list[dict]) -> None:
    failures, summary = [], {}
    for r in checked(lines):
        where = f"{case_id(case_of(r))} {r['entry']} {r['group']} {r['value']}"
        if not r["shape_ok"]:
            failures.append(f"{where}: shape")
        if r["scale_ref"] != r["scale_got"]:
            failures.append(f"{where}: scale {r['scale_got']} != {r['scale_ref']}")
        if "max_eps" not in r:
            continue
        if r["nonfinite_mismatches"] or r["max_eps"] > bound(r):
            failures.append(f"{where}: max_eps {r['max_eps']:.3g} > {bound(r):.3g} or non-finite")
        worst, exact, count = summary.get(r["recipe"], (0.0, 0, 0))
        summary[r["recipe"]] = (max(worst, r["max_eps"]), exact + r["exact"], count + 1)
    for recipe, (worst, exact, count) in summary.items():
        print(f"{recipe}: {count} outputs, max_eps {worst:.3f}, {exact} exact")
    assert set(summary) == set(RECIPES)
    assert not failures, "\n".join(failures)


def test_fused_amax_is_the_amax_of_the_stored_result(lines: list[dict]) -> None:
    rows = checked(lines)
    data = {(case_id(case_of(r)), r["entry"], r["group"], r["value"]): r for r in rows
            if "max_eps" in r}  # fmt: skip
    amaxes = [r for r in rows if "amax_ref" in r]
    assert amaxes and all(r["recipe"] != "fp32" for r in amaxes)
    for r in amaxes:
        assert r["amax_got"] == r["amax_stored"], r
        out = data[(case_id(case_of(r)), r["entry"], r["group"], r["of"])]
        slack = bound(out) * EPS[out["format"]] * r["amax_ref"]
        assert abs(r["amax_got"] - r["amax_ref"]) <= slack, (r, out)
        assert r["exact"] or not out["exact"], r
    print(f"{len(amaxes)} fused amaxes, {sum(r['exact'] for r in amaxes)} equal to the reference's")


def test_fused_amax_propagates_nan(lines: list[dict]) -> None:
    """The reference's amax is NaN when any value is; ``max`` on floats (``tl.max``, the
    GPU's ``max.f32``) would drop it: the kernel takes the max of the bits."""
    rows = [r for r in lines if r.get("layout") == "nan"]
    assert rows
    assert all(math.isnan(r["amax_got"]) for r in rows), rows


def test_kernels_read_transposed_operands_in_place(lines: list[dict]) -> None:
    rows = checked(lines)
    assert rows
    assert all(r["transposed_identical"] for r in rows), [
        r["group"] for r in rows if not r["transposed_identical"]
    ]


# --- Hopper -------------------------------------------------------------------------

PTX_TYPE = {"*fp8e4nv": "e4m3", "*fp8e5": "e5m2", "*bf16": "bf16"}


def distinct_kernels() -> dict[tuple, tuple[Any, dict, str]]:
    """Every distinct (kernel body, HOPPER entry) of the gemm groups of both examples under
    every recipe: key -> (jit function, entry, group name). The body is compared with the
    kernel's name taken out (it is the group's, numbered per entry point)."""
    from scalc.driver import run_stages
    from scalc.lowering.codegen import GenContext, load
    from scalc.lowering.codegen.gemm import generate_gemm
    from scalc.lowering.shapes import module_dims
    from scalc.passes.recipes import resolve_recipe
    from tests.lowering.groups import SMALL, example_source

    out: dict[tuple, tuple[Any, dict, str]] = {}
    for example in ("mlp", "gpt"):
        consts = {k: v for k, v in SMALL[example].items() if k not in ("B", "T")}
        source = example_source(example, **consts)
        for recipe in RECIPES:
            stages = run_stages(source, f"{example}.scl", "kernels", None, resolve_recipe(recipe))
            plan, module = stages.compilation.kernels, stages.compilation.scaled
            ctx = GenContext(plan.names, module_dims(module))
            for group in (g for gs in plan.groups.values() for g in gs if g.kind == "gemm"):
                generated = load(group.name, generate_gemm(group, ctx))
                for spec in generated.HOPPER:
                    fn = getattr(generated, spec["kernel"])
                    body = inspect.getsource(fn.fn).replace(spec["kernel"], "KERNEL")
                    key = (body, repr(spec["signature"]), repr(sorted(spec["constexprs"].items())),
                           repr(sorted(spec["options"].items())))  # fmt: skip
                    out.setdefault(key, (fn, spec, group.name))
    return out


def test_gemm_kernels_compile_for_hopper_without_spills() -> None:
    pytest.importorskip("triton")
    from tests.lowering.hopper import compile_for_hopper, spill_bytes

    kernels = distinct_kernels()
    failures, seconds, forms = [], 0.0, {}
    for fn, spec, group in kernels.values():
        compiled, log, took = compile_for_hopper(
            fn, spec["signature"], spec["constexprs"], spec["aligned"], **spec["options"]
        )
        seconds += took
        ptx = compiled.asm["ptx"]
        regs = re.search(r"Used (\d+) registers", log)
        found = set(re.findall(r"wgmma\.mma_async\.sync\.aligned\.(\w+)\.f32\.(\w+)\.(\w+)", ptx))
        print(f"{group}: {regs.group(1) if regs else '?'} registers, spills {spill_bytes(log)}, "
              f"wgmma {sorted(found)}")  # fmt: skip
        if spill_bytes(log) != (0, 0):
            failures.append(f"{group}: spills {spill_bytes(log)}")
        operands = (
            PTX_TYPE.get(spec["signature"]["ptr_a"]),
            PTX_TYPE.get(spec["signature"]["ptr_b"]),
        )
        if None not in operands:  # FP8 or bf16: the tensor cores
            if not found or {(a, b) for _, a, b in found} != {operands}:
                failures.append(f"{group}: wgmma {sorted(found)}, operands {operands}")
            forms[operands] = forms.get(operands, 0) + 1
    print(f"{len(kernels)} distinct gemm kernels compiled for sm_90 in {seconds:.1f} s; "
          f"wgmma operand forms: {forms}")  # fmt: skip
    assert {("e4m3", "e4m3"), ("e5m2", "e4m3"), ("e4m3", "e5m2"), ("bf16", "bf16")} <= set(forms)
    assert not failures, "\n".join(failures)
