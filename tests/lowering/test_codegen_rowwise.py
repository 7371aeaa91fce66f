"""The generated modules of ``rowwise`` kernel groups (lowering/codegen/rowwise.py) compute
what the reference backend computes, with the same scales, and compile for Hopper.

**Interpreter check.** Every rowwise group of examples/mlp.scl and examples/gpt.scl under
the fp32, bf16, fp8 and fp8-delayed recipes (harness sizes, tests/lowering/groups.py:
`SMALL`), ``launch``-ed under Triton's CPU interpreter on the values the reference
recorded (codegen_rowwise_check.py, one subprocess, ~10 s): 152 outputs covering
``causal_mask + softmax``, ``softmax_grad + causal_mask_grad``, ``layernorm``,
``layernorm_grad`` (3 results), ``cross_entropy`` (0-d loss), ``cross_entropy_grad``,
``embedding`` and ``embedding_grad``, as ``nn`` ops (fp32 recipe) and as scaled ops.

**Bounds**, in units of the output format's epsilon relative to ``max(|ref|, rms(ref))``
(`Step.compare`'s ``max_eps``):
- Scales: equal, always (`abi.result_scales` applies the reference's rule to the same input
  scales and shapes; a fused pair feeds its intermediate scale to the second rule).
- ``embedding``, ``embedding_grad``: exact. A gather is a copy (``data * s * (1/s)`` is
  exact for a power-of-two scale), and the gradient adds each table row's ``dy`` rows in
  position order, starting from 0, in fp32: the same additions in the same order as the
  reference's ``np.add.at``.
- Every other op does the reference's fp32 operations per element in the same order, with
  one rounding into the result's format; only the order of the additions inside a
  reduction may differ (Triton's tree over the block vs NumPy's pairwise sum). A sum of
  n ≤ 96 terms takes ≤ 7 roundings in the tree and ≤ 15 in NumPy's 8-accumulator blocks,
  so the two sums differ by ≤ 22 half-ulps, 11 u (u = 2^-24), of the sum of the terms'
  magnitudes. That sum is within the output's magnitude where the terms are positive
  (softmax denominators, log-sum-exp, variances) and within ~sqrt(16) = 4 times the
  output's RMS for the mixed-sign sums (dgamma, dbeta over the 16 rows; the inner products
  of softmax_grad and layernorm_grad, dominated by a few large softmax weights or
  unit-variance terms): ≤ 44 u = 22 eps, plus ½ u for the division or product after it.
- **f32 results** (fp32 recipe; the loss in every recipe): ``max_eps ≤ 32``. Measured: 0
  everywhere but the mlp's ``cross_entropy_grad`` (0.81).
- **bf16 results**: ``max_eps ≤ 1``. The fp32 values differ by ≤ 32 fp32 eps = 2^-18
  relative, far below half a bf16 ulp (2^-9 relative at least), so the rounding into bf16
  can go the other way near a midpoint (one bf16 ulp, ≤ eps * |ref|) but never by two.
  Measured: 0 (bit-identical) everywhere.
A real bug (a wrong mask, label, scale, stride or normalisation) moves entries by a good
part of their own size: thousands of fp32 eps, many bf16 eps.
Under the interpreter ``tl.sum`` runs NumPy's own sum on the block, so at these short rows
most results are bit-identical to the reference; the bounds are the ones a GPU's order
would need too (with ``ex2.approx`` there, a few ulps more for f32, not checked here).

**Cross-compile.** Every ``HOPPER`` entry of every generated rowwise module of both
examples under the four recipes, each distinct (kernel, signature, constexprs) once,
compiles for sm_90 without spills (tests/lowering/hopper.py). A run-time row length (the
attention rows, ``T``) compiles at the longest row the kernels hold (4096 columns).

Only the rowwise generator is used (not `generate_group`, which imports every kind's
generator), and ``scalc.compile`` is kept from generating the other kinds' kernels: these
tests do not depend on them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lowering.groups import SMALL, example_source
from tests.lowering.interpret import run_interpreted

SCRIPT = Path(__file__).with_name("codegen_rowwise_check.py")
CASES = [
    (example, recipe)
    for example in ("mlp", "gpt")
    for recipe in ("fp32", "bf16", "fp8", "fp8-delayed")
]
EXACT_OPS = ("embedding", "embedding_grad")
MAX_EPS = {"f32": 32.0, "bf16": 1.0}
ROW_OPS = {
    "softmax", "causal_mask", "softmax_grad", "causal_mask_grad", "layernorm",
    "layernorm_grad", "cross_entropy", "cross_entropy_grad", "embedding", "embedding_grad",
}  # fmt: skip


@pytest.fixture(scope="module")
def reports() -> list[dict[str, Any]]:
    lines = run_interpreted(SCRIPT, json.dumps(CASES))
    assert lines, "the check script printed nothing"
    return lines


@pytest.mark.parametrize("example,recipe", CASES)
def test_generated_rowwise_groups_match_reference(
    reports: list[dict[str, Any]], example: str, recipe: str
) -> None:
    mine = [r for r in reports if r["example"] == example and r["recipe"] == recipe]
    assert mine, f"no rowwise group ran for {example} {recipe}"
    for r in mine:
        print(json.dumps(r))
        where = f"{r['group']} {r['value']}"
        assert r["shape_ok"], where
        assert r["scale_got"] == r["scale_ref"], where  # both None for nn ops
        assert r["nonfinite_mismatches"] == 0, where
        if r["ops"][-1].split(".")[1] in EXACT_OPS:
            assert r["exact"], where
        else:
            assert r["max_eps"] <= MAX_EPS[r["format"]], where


def test_every_rowwise_op_of_the_examples_is_checked(reports: list[dict[str, Any]]) -> None:
    seen = {op.split(".")[1] for r in reports for op in r["ops"]}
    assert seen == ROW_OPS
    assert {r["format"] for r in reports} == {"f32", "bf16"}


# --- generation, without the interpreter ------------------------------------------------------


@pytest.fixture(scope="module")
def groups() -> Iterator[list[tuple[str, str, Any, Any]]]:
    """(example, recipe, group, ctx) of every rowwise group of the examples."""
    import scalc
    from scalc.lowering.codegen import GenContext
    from scalc.lowering.partition import partition
    from scalc.lowering.shapes import module_dims

    out = []
    for example, recipe in CASES:
        consts = {k: v for k, v in SMALL[example].items() if k not in ("B", "T")}
        program = scalc.compile(example_source(example, **consts), recipe=recipe)
        plan = partition(program.train)
        ctx = GenContext(plan.names, module_dims(program.train))
        out += [(example, recipe, g, ctx) for gs in plan.groups.values() for g in gs
                if g.kind == "rowwise"]  # fmt: skip
    yield out


def test_generator_row_config_is_the_templates() -> None:
    from scalc.lowering.codegen import rowwise as generated
    from scalc.lowering.templates import rowwise as template

    assert (generated.MAX_COLS, generated.TILE_ELEMENTS) == (
        template.MAX_COLS,
        template.TILE_ELEMENTS,
    )
    for n in range(1, template.MAX_COLS + 1):
        assert generated.row_config(n) == template.row_config(n), n


def test_generated_modules_share_the_template_kernels(groups: list) -> None:
    from scalc.lowering.codegen import template_function
    from scalc.lowering.codegen.rowwise import generate_rowwise

    for _, _, group, ctx in groups:
        text = generate_rowwise(group, ctx)
        kernels = re.findall(r"^def (\w+_kernel)\(", text, flags=re.MULTILINE)
        assert kernels, group.name
        for name in kernels:
            assert template_function("rowwise", name) in text
        compile(text, group.name, "exec")  # valid Python


def test_generation_imports_neither_triton_nor_torch() -> None:
    code = (
        "import sys, scalc, scalc.api\n"
        "from tests.lowering.groups import SMALL, example_source\n"
        "from scalc.lowering.codegen import GenContext\n"
        "from scalc.lowering.codegen.rowwise import generate_rowwise\n"
        "from scalc.lowering.partition import partition\n"
        "from scalc.lowering.shapes import module_dims\n"
        "consts = {k: v for k, v in SMALL['gpt'].items() if k not in ('B', 'T')}\n"
        "p = scalc.compile(example_source('gpt', **consts), recipe='fp8')\n"
        "plan = partition(p.train)\n"
        "ctx = GenContext(plan.names, module_dims(p.train))\n"
        "n = [generate_rowwise(g, ctx) for gs in plan.groups.values() for g in gs"
        " if g.kind == 'rowwise']\n"
        "print(len(n), sorted(m for m in ('triton', 'torch') if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    count, imported = out.stdout.strip().split(" ", 1)
    assert int(count) > 0 and imported == "[]", out.stdout


def test_other_ops_are_not_supported(groups: list) -> None:
    from scalc.lowering.codegen import NotSupported
    from scalc.lowering.codegen.rowwise import generate_rowwise
    from scalc.lowering.partition import KernelGroup

    _, _, group, ctx = next(g for g in groups if len(g[2].ops) == 2)  # causal_mask softmax
    alone = KernelGroup("k0_rowwise_causal_mask", "rowwise", group.entry, group.ops[:1])
    with pytest.raises(NotSupported, match="causal_mask"):
        generate_rowwise(alone, ctx)


def test_hopper_entries_compile_without_spills(groups: list) -> None:
    pytest.importorskip("triton")
    from scalc.lowering.codegen import load
    from scalc.lowering.codegen.rowwise import generate_rowwise
    from tests.lowering.hopper import compile_for_hopper, spill_bytes

    done: dict[str, str] = {}
    for _, _, group, ctx in groups:
        module = load(group.name, generate_rowwise(group, ctx))
        for spec in module.HOPPER:
            key = repr((spec["kernel"], spec["signature"], spec["constexprs"]))
            if key in done:
                continue
            fn = getattr(module, spec["kernel"])
            _, log, _ = compile_for_hopper(
                fn, spec["signature"], spec["constexprs"], spec["aligned"], **spec["options"]
            )
            regs = re.search(r"Used (\d+) registers", log)
            done[key] = f"{regs.group(1) if regs else '?'} registers, spills {spill_bytes(log)}"
            print(f"sm_90 {group.name}/{spec['kernel']} {spec['constexprs']}: {done[key]}")
            assert spill_bytes(log) == (0, 0), log
    assert len(done) >= 8
