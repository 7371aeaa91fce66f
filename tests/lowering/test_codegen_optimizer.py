"""The generated optimizer module (lowering/codegen/optimizer.py) is bit-exact against the
reference, and its kernels compile for Hopper.

**Interpreter** (codegen_optimizer_check.py, one subprocess):

- the optimizer group of examples/mlp.scl and examples/gpt.scl under the recipes fp32,
  bf16, fp8 and fp8-delayed with AdamW and SGD (momentum 0.9), on the values a reference
  training step recorded (the recipes share one optimizer: distinct groups run once);
- every ``optimizer_precision`` mode (fp32, fp32-master, bf16, collage-light,
  collage-plus) with AdamW and SGD (momentum with and without Nesterov, none; weight decay
  on and off), on synthetic parameters, gradients from 2^-20 to 2^2 and non-zero state at
  step 5, against the group's reference ops evaluated one by one; three of them also with
  a NaN and an inf gradient element.

**The bound, and why it is 0.** fp32 mode: the kernel does the reference's fp32 operations
in its order (IEEE division and square root, no multiply-add contraction), with the host
scalars computed in float64 from the same fp32 ``lr`` and ``t``: the same bits. The bf16
modes: every elementary operation a float64 operation rounded once to bf16 through
round-to-odd fp32 (as mcf.py), ``nn.sub`` / ``nn.add`` on bf16 the reference's fp32
operation then RNE, ``nn.cast`` RNE with saturation: the same bits again. So every new
parameter and state element must be equal. ``nn.update_stats`` sums exact float64 terms
in another order than numpy before rounding to fp32: they may differ by one fp32 ulp when
a sum lies within ~1e-16 relative of a rounding boundary; the test allows that one ulp
and reports how many were exact (all, so far).

**Cross-compile**: each distinct ``HOPPER`` entry of the generated modules (both examples,
fp32 recipes with AdamW and SGD, and every mode) compiles for sm_90 with
``enable_fp_fusion=False`` without spills; its PTX has no ``fma``, no approximate
division or square root (``div.full``, ``div.approx``, ``sqrt.approx``, ``rcp``) and no
``.ftz``; division and square root are ``div.rn`` / ``sqrt.rn`` (f32 for the fp32
arithmetic, f64 for the bf16 one).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.lowering.interpret import run_interpreted

SCRIPT = Path(__file__).with_name("codegen_optimizer_check.py")
MODES = ("fp32", "fp32-master", "bf16", "collage-light", "collage-plus")


@pytest.fixture(scope="module")
def lines() -> list[dict]:
    return run_interpreted(SCRIPT)


def _failures(runs: list[dict]) -> list[str]:
    bad = []
    for run in runs:
        for i, o in enumerate(run["outputs"]):
            exact = o["shape_ok"] and o["scale_ok"] and o["bits_equal"]
            stats_ok = o["shape_ok"] and o["stats"] and o["nan_equal"] and 0 <= o["ulps"] <= 1
            if not (exact or stats_ok):
                bad.append(f"{run['case']} output {i}: {o}")
    return bad


def _report(runs: list[dict]) -> None:
    for run in runs:
        stats = [o for o in run["outputs"] if o["stats"]]
        print(f"{run['case']}: {run['launches']} launches, {run['seconds']:.2f} s, "
              f"{sum(o['bits_equal'] for o in run['outputs'])}/{len(run['outputs'])} outputs "
              f"exact ({sum(o['bits_equal'] for o in stats)}/{len(stats)} stats)")  # fmt: skip


def test_optimizer_group_of_the_examples_is_bit_exact(lines: list[dict]) -> None:
    recorded = [r for r in lines if r["kind"] == "recorded"]
    _report(recorded)
    assert {r["case"].split("/")[0] for r in recorded} == {"mlp", "gpt"}
    assert {r["case"].split("/")[-1] for r in recorded} == {"adamw", "sgd"}
    assert not _failures(recorded), "\n".join(_failures(recorded))


def test_every_optimizer_precision_mode_is_bit_exact(lines: list[dict]) -> None:
    modes = [r for r in lines if r["kind"] == "modes"]
    _report(modes)
    assert {(r["mode"], "adamw" in r["case"]) for r in modes} == {
        (m, adamw) for m in MODES for adamw in (True, False)
    }
    ops = set().union(*(r["ops"] for r in modes))
    assert {"nn.adamw_delta", "nn.sgd_delta", "nn.grow", "nn.cast", "nn.neg"} <= ops
    assert any("nan-inf" in r["case"] for r in modes)
    assert not _failures(modes), "\n".join(_failures(modes))


# --- cross-compile ---------------------------------------------------------------------


def _sources() -> list[tuple[str, str]]:
    """(group name, module text) of the optimizer groups to compile."""
    from xdsl.dialects.func import FuncOp

    import scalc
    from scalc.driver import run_stages
    from scalc.lowering.codegen import GenContext
    from scalc.lowering.codegen.optimizer import generate_optimizer
    from scalc.lowering.partition import partition_function, ssa_names
    from scalc.lowering.shapes import module_dims
    from scalc.passes.optimizer import OptimizerConfig
    from scalc.passes.recipes import BUILTIN
    from tests.lowering.groups import SMALL, example_source

    out = []
    for example in ("mlp", "gpt"):
        text = example_source(
            example, **{k: v for k, v in SMALL[example].items() if k not in ("B", "T")}
        )
        for mode in MODES:
            for kind, options in (("adamw", {}), ("sgd", {"nesterov": True})):
                recipe = replace(BUILTIN["bf16"], name=f"bf16-{mode}", optimizer_precision=mode)
                if mode == "fp32":  # the builtin recipes' optimizer, through scalc.compile
                    module = scalc.compile(text, recipe="fp8", optimizer=kind, **options).train
                else:
                    config = OptimizerConfig.make(kind, **options)
                    module = run_stages(text, example, "scaled", config, recipe).compilation.scaled
                fn = next(f for f in module.ops
                          if isinstance(f, FuncOp) and f.sym_name.data == "optimizer_step")  # fmt: skip
                ctx = GenContext(ssa_names(fn), module_dims(module))
                for group in partition_function(fn, "optimizer_step"):
                    if group.kind == "optimizer":
                        out.append((group.name, generate_optimizer(group, ctx)))
    return out


def _specs() -> dict[str, tuple[Any, dict[str, Any]]]:
    from scalc.lowering.codegen import load

    specs: dict[str, tuple[Any, dict[str, Any]]] = {}
    for name, source in _sources():
        module = load(name, source)
        for spec in module.HOPPER:
            fn = getattr(module, spec["kernel"])
            body = inspect.getsource(fn.fn).replace(spec["kernel"], "KERNEL")
            key = repr((body, spec["signature"], spec["constexprs"], spec["options"]))
            specs.setdefault(hashlib.sha256(key.encode()).hexdigest(), (fn, spec))
    return specs


ARITHMETIC = ("fma", "div", "sqrt", "rcp", "mul", "add", "sub")


def test_optimizer_kernels_compile_for_hopper_correctly_rounded_without_spills() -> None:
    pytest.importorskip("triton")
    from tests.lowering.hopper import compile_for_hopper, opcode_counts, spill_bytes

    specs = _specs()
    bf16_kernels = 0
    for fn, spec in specs.values():
        assert spec["options"]["enable_fp_fusion"] is False
        compiled, log, seconds = compile_for_hopper(
            fn, spec["signature"], spec["constexprs"], tuple(spec["aligned"]), **spec["options"]
        )
        ptx = compiled.asm["ptx"]
        kinds = opcode_counts(ptx, lambda op: op.split(".")[0] in ARITHMETIC)
        regs = re.search(r"Used (\d+) registers", log)
        print(f"sm_90 {spec['kernel']} {json.dumps(sorted(set(spec['signature'].values())))}: "
              f"{regs.group(1) if regs else '?'} registers, spills {spill_bytes(log)}, "
              f"{seconds:.1f} s, {kinds}")  # fmt: skip
        assert spill_bytes(log) == (0, 0), log
        assert ".ftz" not in ptx
        assert not any(k.startswith(("fma", "div.full", "div.approx", "sqrt.approx", "rcp"))
                       for k in kinds), kinds  # fmt: skip
        rounded = {k for k in kinds if k.startswith(("div.", "sqrt."))}
        assert rounded <= {"div.rn.f32", "sqrt.rn.f32", "div.rn.f64", "sqrt.rn.f64"}, kinds
        bf16_kernels += "div.rn.f64" in rounded  # bf16 AdamW: float64, rounded once
    print(f"{len(specs)} distinct optimizer kernels compiled, {bf16_kernels} bf16 AdamW")
    assert len(specs) >= 9 and bf16_kernels == 3  # bf16, collage-light, collage-plus
