"""Generated ``reduce`` kernels (lowering/codegen/reduce.py) against the reference.

**Interpreter check** (codegen_reduce_check.py, one subprocess, ``TRITON_INTERPRET=1``):
every reduce group of examples/mlp.scl and examples/gpt.scl under the fp32, bf16, fp8
and fp8-delayed recipes at the harness's small sizes (the bias gradients: sums over the
leading axes), of the zoo model of test_codegen_elementwise.py (means with and without
keepdims, a mean to a scalar, a max), of the mlp at B = 2048 (K split among programs and
reduced again by a second launch), and hand-made single-op groups for what no example
produces: ``scaled.amax`` (bf16, f8E4M3FN, a NaN, an empty tensor),
``scaled.update_history`` (first step, full, a NaN in the history), reductions over
middle and non-adjacent axes, a NaN in a max, one output over 21000 elements. Scales
equal the reference's, shapes and non-finite positions match, and non-contiguous views
of the inputs give the same bits.

**Bounds**, in the harness's ``max_eps`` units (eps of the output format times
max(|ref|, rms(ref))):
- max, amax, update_history: **bit-exact** (a maximum is one of the inputs; NaN
  propagates as in NumPy).
- sum, mean: the kernel sums in another order than NumPy (which adds rows one after
  another over leading axes, pairwise along a contiguous one). Any order of K fp32
  additions is within ``(K - 1) u sum|x|`` of the exact sum (u = 2^-24, to first order),
  so the two are within ``order_eps = 2 (K - 1) u sum|x|`` (over K for a mean); rounding
  both into a non-f32 output may add one ulp (``flip``); a mean's two IEEE divisions by K
  add half an ulp each in f32. ``max_eps <= flip + order_eps + mean``.
  That bound is the worst case of NumPy's sequential sums; the kernel's own error is
  checked tighter, against the exact (float64) result: ``exact_err_eps <=
  exact_bound_eps = d u sum|x|`` (+ half an ulp of the final rounding, + half for a
  mean's division), d the additions an output's partial sums go through in the kernel
  (codegen_reduce_check.depth: one per loop step of its split, any order within the
  BLOCK_K lanes, the second launch over the splits likewise); a missing or doubled term
  breaks it.

Measured: bf16 outputs bit-exact everywhere; fp32 sums <= 2 eps at the small
sizes and 12.7 eps for the mlp's B = 2048 bias gradient (NumPy's sequential sum over
2048 rows is the less accurate one: the kernel is within 0.9 eps of the exact sum).

**Cross-compile**: every ``HOPPER`` entry of the generated modules (both launches of a
split reduction, amax, update_history) compiles for sm_90 with no spills.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from xdsl.dialects.builtin import TensorType, f32
from xdsl.ir import Block

from scalc.dialects import nn, scaled
from scalc.dialects.scaled import ScaledTensorType
from scalc.driver import run_stages
from scalc.lowering.codegen import GenContext, NotSupported
from scalc.lowering.codegen.reduce import REDUCTIONS, generate_reduce
from scalc.lowering.partition import REDUCE, KernelGroup
from scalc.lowering.shapes import module_dims
from scalc.passes.recipes import resolve_recipe
from tests.lowering.groups import SMALL, example_source
from tests.lowering.interpret import run_interpreted
from tests.lowering.test_codegen_elementwise import ZOO

SCRIPT = Path(__file__).with_name("codegen_reduce_check.py")
EXACT = ("max", "amax", "update_history")


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    cache = tmp_path_factory.mktemp("kernel_cache")
    lines = run_interpreted(SCRIPT, env={"SCALC_KERNEL_CACHE": str(cache)})
    return [line for line in lines if "done" not in line]


def test_every_reduction_runs_and_k_is_split(rows: list[dict[str, Any]]) -> None:
    seen = {op for r in rows for op in r["ops"]}
    assert {cls.name for cls in REDUCE} <= seen, {cls.name for cls in REDUCE} - seen
    assert any(r.get("splits", 1) > 1 for r in rows)
    assert {"mlp/bf16", "gpt/fp32", "zoo/bf16", "amax NaN"} <= {r["step"] for r in rows}


def test_generated_kernels_match_reference(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        print(json.dumps(row))
        where = f"{row['step']} {row['group']}"
        assert row["strided_same"], where
        kind = row["ops"][0].split(".")[-1]
        for out in row["outputs"]:
            assert out["shape_ok"], where
            assert out["scale_got"] == out["scale_ref"], where
            assert out["nonfinite_mismatches"] == 0, where
            if kind in EXACT:
                assert out["exact"], where
                continue
            flip = 1.0 if out["format"] != "f32" else 0.0
            mean = 1.0 if kind == "mean" and out["format"] == "f32" else 0.0
            limit = flip + row["order_eps"] + mean
            assert out["max_eps"] <= limit, f"{where}: {out['max_eps']} eps > {limit}"
        if kind not in EXACT:
            assert row["exact_err_eps"] <= row["exact_bound_eps"], where


def _reduce_groups(source: str, recipe: str) -> tuple[list[KernelGroup], GenContext]:
    stages = run_stages(source, "test.scl", "kernels", None, resolve_recipe(recipe))
    plan, module = stages.compilation.kernels, stages.compilation.scaled
    assert plan is not None and module is not None
    groups = [g for gs in plan.groups.values() for g in gs if g.kind == "reduce"]
    return groups, GenContext(plan.names, module_dims(module))


def _small(example: str) -> str:
    return example_source(example, **{k: v for k, v in SMALL[example].items() if k not in "BT"})


def test_sum_kernel_accumulates_a_tile_and_reduces_its_rows_once() -> None:
    groups, ctx = _reduce_groups(_small("gpt"), "bf16")
    source = generate_reduce(groups[0], ctx)
    assert source.startswith(
        f"# Generated by scalc.lowering.codegen.reduce: kernel group {groups[0].name}"
    )
    assert "        acc += x\n" in source
    assert "    total = tl.sum(acc, axis=1)\n" in source
    assert ".to(tl.bfloat16)" in source and "abi.result_scales(ops[0]" in source
    assert source.count("@triton.jit") == 1


def test_reductions_table_covers_the_reduce_ops() -> None:
    assert set(REDUCTIONS) | {scaled.UpdateHistoryOp} == set(REDUCE)


def test_a_group_that_is_not_one_reduction_is_refused() -> None:
    (x,) = Block(arg_types=[TensorType(f32, [4])]).args
    relu = nn.ReluOp(x)
    with pytest.raises(NotSupported, match="nn.relu"):
        generate_reduce(
            KernelGroup("k0_reduce_relu", "reduce", "forward", [relu]), GenContext({}, {})
        )
    total = nn.SumOp(relu, [0], TensorType(f32, []))
    two = KernelGroup("k0_reduce_two", "reduce", "forward", [relu, total])
    with pytest.raises(NotSupported, match="one op"):
        generate_reduce(two, GenContext({}, {}))


def _synthetic_groups() -> list[KernelGroup]:
    (x,) = Block(arg_types=[ScaledTensorType(f32, [37, 50])]).args
    hist, top = Block(arg_types=[TensorType(f32, [16]), TensorType(f32, [])]).args
    return [
        KernelGroup("k0_reduce_amax", "reduce", "synthetic", [scaled.AmaxOp(x)]),
        KernelGroup("k1_reduce_update_history", "reduce", "synthetic",
                    [scaled.UpdateHistoryOp(hist, top)]),
    ]  # fmt: skip


def test_every_kernel_cross_compiles_for_hopper_without_spills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("triton")
    from scalc.lowering.codegen import load
    from tests.lowering.hopper import compile_for_hopper, spill_bytes

    monkeypatch.setenv("SCALC_KERNEL_CACHE", str(tmp_path))
    cases = [(_small("gpt"), rc) for rc in ("fp32", "bf16")] + [(ZOO, "bf16")]
    sources = [(g, GenContext({}, {})) for g in _synthetic_groups()]
    for source, recipe in cases:
        groups, ctx = _reduce_groups(source, recipe)
        sources += [(g, ctx) for g in groups]
    compiled: set[str] = set()
    for group, ctx in sources:
        module = load(group.name, generate_reduce(group, ctx))
        for spec in module.HOPPER:
            fn = getattr(module, spec["kernel"])
            key = repr((inspect.getsource(fn.fn).split("):", 1)[1], spec))
            if key in compiled:
                continue
            compiled.add(key)
            _, log, _ = compile_for_hopper(
                fn, spec["signature"], spec["constexprs"], spec["aligned"], **spec["options"]
            )
            assert spill_bytes(log) == (0, 0), f"{group.name}: {log}"
    print(f"{len(compiled)} distinct reduce kernels compiled for sm_90, no spills")
    assert len(compiled) >= 8
