"""The generated cast modules (lowering/codegen/cast.py) are bit-exact against the reference,
and their kernels compile for Hopper.

**Interpreter** (codegen_cast_check.py, one subprocess): every cast group of
examples/mlp.scl and examples/gpt.scl under the recipes bf16, fp8 and fp8-delayed at the
harness's small sizes, each distinct group (ops, types, properties) once, on the inputs a
reference training step recorded. All the forms: ``amax rescale`` and ``rescale`` (bf16
unit rescales), ``amax rescale cast`` and ``rescale cast`` (the amax fused into a gemm),
``[amax] update_history rescale cast`` (delayed scaling: the new history is an output) and
the ``transpose ...`` K-major casts (the output is the permuted view of data written in
x's own layout). Then, once per form, edge cases against the reference ops evaluated on
the same inputs: a NaN, an inf, all zeros (the 1e-30 floor), a NaN scale, a non-unit
input scale, a scale ratio outside fp32 (the path through the value), a stale history
or a small outside reference (saturation), and the recorded tensor as a strided view.

**The bound, and why it is 0.** Every scale is the reference's function of the same fp32
numbers (``abi.rescale_scale`` on the host, ``abi.result_scales``). The data is
``data * ratio`` with ``ratio`` a power of two, exact in fp32, then one RNE rounding into
the output format with the reference's saturation; the reference's intermediate bf16
rounding of the rescale is the identity on these values (lowering/templates/cast.py). So
the data bits, the scales and the histories must be equal: exact, not ulps.

**Cross-compile**: each distinct ``HOPPER`` entry of the generated modules of both examples
under the three recipes compiles for sm_90 without spills; the f8 conversions are
``cvt.rn.satfinite.{e4m3,e5m2}x2.f32`` and nothing else converts to f8.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path
from typing import Any

import pytest

from scalc.lowering.codegen import GenContext, load
from scalc.lowering.codegen.cast import generate_cast
from scalc.lowering.partition import partition
from scalc.lowering.shapes import module_dims
from tests.lowering.groups import SMALL, example_source
from tests.lowering.interpret import run_interpreted

SCRIPT = Path(__file__).with_name("codegen_cast_check.py")
RECIPES = ("bf16", "fp8", "fp8-delayed")
FORMS = {
    ("scaled.amax", "scaled.rescale"),
    ("scaled.rescale",),
    ("scaled.amax", "scaled.rescale", "scaled.cast"),
    ("scaled.rescale", "scaled.cast"),
    ("scaled.amax", "scaled.update_history", "scaled.rescale", "scaled.cast"),
    ("scaled.update_history", "scaled.rescale", "scaled.cast"),
    ("scaled.transpose", "scaled.amax", "scaled.rescale", "scaled.cast"),
    ("scaled.transpose", "scaled.amax", "scaled.update_history", "scaled.rescale", "scaled.cast"),
}


@pytest.fixture(scope="module")
def lines() -> list[dict]:
    out = run_interpreted(SCRIPT)
    assert out and out[-1].get("summary"), out[-1:]
    print(json.dumps(out[-1]))
    return out[:-1]


def _failures(runs: list[dict]) -> list[str]:
    bad = []
    for run in runs:
        for o in run["outputs"]:
            ok = (
                o["shape_ok"]
                and o["scale_equal"]
                and o["bits_equal"]
                and o.get("nonfinite_mismatches", 0) == 0
                and o.get("kmajor_view", True)
                and o.get("stats_equal", True)
            )
            if not ok:
                bad.append(f"{run['case']}: {o}")
    return bad


def test_every_cast_group_of_the_examples_is_bit_exact(lines: list[dict]) -> None:
    recorded = [r for r in lines if r["kind"] == "recorded"]
    print(
        f"{len(recorded)} distinct groups, interpreter {sum(r['seconds'] for r in recorded):.1f} s"
    )
    assert FORMS <= {tuple(r["ops"]) for r in recorded}, "a cast form is not covered"
    assert not _failures(recorded), "\n".join(_failures(recorded))


def test_kmajor_casts_return_the_permuted_view(lines: list[dict]) -> None:
    kmajor = [r for r in lines if r["kind"] == "recorded" and r["ops"][0] == "scaled.transpose"]
    assert kmajor
    for run in kmajor:
        assert run["outputs"][-1]["kmajor_view"], run


def test_cast_edge_cases_are_bit_exact(lines: list[dict]) -> None:
    edges = [r for r in lines if r["kind"] == "edge"]
    names = {r["edge"] for r in edges}
    assert {"nan", "inf", "zeros", "nan_scale", "ratio_out_of_range", "stale_history",
            "small_ref", "strided_x"} <= names  # fmt: skip
    assert not _failures(edges), "\n".join(_failures(edges))
    for run in edges:
        last = run["outputs"][-1]
        if run["edge"] in ("stale_history", "small_ref") and "at_max" in last:
            assert last["at_max"] > 0, run  # the too small scale saturates f8 elements
        f8_dynamic = {"scaled.amax", "scaled.cast"} <= set(run["ops"])
        if run["edge"] == "ratio_out_of_range" and f8_dynamic:
            # s = 2^-98 for an f8 target: x.scale / s = 2^128, the path through the value
            assert 2.0**30 / last["scale_got"] > 2.0**127, run


# --- cross-compile ---------------------------------------------------------------------


def _hopper_specs() -> dict[str, tuple[Any, dict[str, Any]]]:
    """Distinct HOPPER entries (kernel text but its name, signature, constexprs)."""
    import scalc

    specs: dict[str, tuple[Any, dict[str, Any]]] = {}
    for example in ("mlp", "gpt"):
        consts = {k: v for k, v in SMALL[example].items() if k not in ("B", "T")}
        for recipe in RECIPES:
            module = scalc.compile(example_source(example, **consts), recipe=recipe).train
            plan = partition(module)
            ctx = GenContext(plan.names, module_dims(module))
            casts = [g for groups in plan.groups.values() for g in groups if g.kind == "cast"]
            for group in casts:
                generated = load(group.name, generate_cast(group, ctx))
                for spec in generated.HOPPER:
                    fn = getattr(generated, spec["kernel"])
                    body = inspect.getsource(fn.fn).replace(spec["kernel"], "KERNEL")
                    key = repr((body, spec["signature"], spec["constexprs"]))
                    specs.setdefault(hashlib.sha256(key.encode()).hexdigest(), (fn, spec))
    return specs


def test_cast_kernels_compile_for_hopper_with_satfinite_and_without_spills() -> None:
    pytest.importorskip("triton")
    from tests.lowering.hopper import compile_for_hopper, opcode_counts, spill_bytes

    specs = _hopper_specs()
    fp8_outputs = 0
    for fn, spec in specs.values():
        compiled, log, seconds = compile_for_hopper(
            fn, spec["signature"], spec["constexprs"], tuple(spec["aligned"]), **spec["options"]
        )
        cvts = opcode_counts(compiled.asm["ptx"], lambda op: op.startswith("cvt."))
        print(f"sm_90 {spec['kernel']} {spec['signature']}: {cvts}, spills {spill_bytes(log)}, "
              f"{seconds:.1f} s")  # fmt: skip
        assert spill_bytes(log) == (0, 0), log
        out = spec["signature"].get("out_ptr", "")
        f8 = {k for k in cvts if "e4m3" in k or "e5m2" in k}
        if out in ("*fp8e4nv", "*fp8e5"):
            fp8_outputs += 1
            ptx_fmt = "e4m3" if out == "*fp8e4nv" else "e5m2"
            assert f8 == {f"cvt.rn.satfinite.{ptx_fmt}x2.f32"}, cvts
        else:
            assert not f8, cvts
    print(f"{len(specs)} distinct cast kernels compiled, {fp8_outputs} with f8 outputs")
    assert fp8_outputs >= 2  # e4m3 and e5m2


def test_the_kernels_cast_statistics_are_the_references(lines: list[dict]) -> None:
    """Every run of a group with an fp8 cast counted its statistics in the kernel
    (lowering/templates/cast.py ``cast_stats_of``): the numbers ``metrics["tensors"]``
    reports are the reference's ``cast_stats`` exactly, on recorded data and on the edge
    cases (NaN, inf, zeros, saturation)."""
    counted = [o for r in lines if r.get("outputs") for o in r["outputs"] if "stats_equal" in o]
    assert len(counted) >= 10
    bad = [o["stats"] for o in counted if not o["stats_equal"]]
    assert not bad, bad[:3]
    assert any(o["stats"][1]["saturated"] > 0 for o in counted)  # the edge cases saturate
