"""The fused optimizer templates (lowering/templates/optimizer.py: ``adamw_kernel``,
``sgd_kernel`` over one flat fp32 buffer of all parameters) run by Triton's CPU interpreter
match ``REFERENCE[nn.AdamWOp]`` / ``REFERENCE[nn.SgdOp]`` bit for bit: 3 steps, parameters
of sizes 7, 64x3, 130, 5x1x3 and 1 packed in one buffer, Gaussian and wide-range
(2^-40..2^20) gradients, several hyper-parameter sets, with ``TRITON_DEFAULT_FP_FUSION``
0 and 1 and the launcher's ``fp_fusion`` off and on.

**The bound, and why it is 0 here.** The kernel does the reference's fp32 operations in the
reference's order, division and square root correctly rounded (``div_rn`` / ``sqrt_rn``),
host scalars in float64 rounded to fp32 as the reference rounds them. The interpreter does
every op in numpy and never contracts multiply-adds, whatever the fusion setting, so it is
exactly the reference: 0 ulps. On the GPU the unfused kernel (the launchers' default,
``enable_fp_fusion=False``; no ``fma.rn.f32`` in its PTX, test_optimizer_cross_compile.py)
is the same fp32 op sequence, so also bit-exact. With fusion each contracted ``a*b + c``
skips one rounding: its error is at most half an ulp of the larger of ``a*b`` and ``c``,
which is *many* ulps of the result when the two nearly cancel (``beta1*m + (1-beta1)*g``).
The check models that (each multiply-add as one fma) and the test bounds it normwise —
``max |Δ| ≤ 2^-20 · max |reference|`` per buffer after 3 steps — rather than per element.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lowering.interpret import run_interpreted

SCRIPT = Path(__file__).with_name("optimizer_interpret_check.py")

ADAMW = [
    {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01},
    {"beta1": 0.8, "beta2": 0.95, "eps": 1e-6, "weight_decay": 0.1},
    {"beta1": 0.0, "beta2": 0.5, "eps": 1e-3, "weight_decay": 0.0},
]
SGD = [
    {"momentum": 0.0, "weight_decay": 0.0, "nesterov": False},
    {"momentum": 0.9, "weight_decay": 0.01, "nesterov": False},
    {"momentum": 0.9, "weight_decay": 1e-4, "nesterov": True},
    {"momentum": 0.5, "weight_decay": 0.0, "nesterov": True},
]
LRS = {"adamw": [1e-3, 3e-4, 0.1], "sgd": [0.1, 0.01, 1e-3, 0.3]}


def cases() -> list[dict]:
    out = []
    for kind, hps in (("adamw", ADAMW), ("sgd", SGD)):
        for i, hp in enumerate(hps):
            for grad_scale in ("normal", "wide"):
                for fp_fusion in (False, True):
                    out.append(
                        {
                            "kind": kind,
                            "hp": hp,
                            "lr": LRS[kind][i],
                            "seed": len(out),
                            "grad_scale": grad_scale,
                            "fp_fusion": fp_fusion,
                        }
                    )
    return out


CASES = cases()


def case_id(c: dict) -> str:
    hp = "-".join(f"{k}{v:g}" for k, v in c["hp"].items())
    return f"{c['kind']}-{hp}-lr{c['lr']:g}-{c['grad_scale']}-fusion{int(c['fp_fusion'])}"


def run_check(fp_fusion_env: str) -> tuple[list[dict], dict]:
    lines = run_interpreted(
        SCRIPT, json.dumps(CASES), env={"TRITON_DEFAULT_FP_FUSION": fp_fusion_env}
    )
    assert len(lines) == len(CASES) + 1, lines
    return lines[:-1], lines[-1]


@pytest.fixture(scope="module", params=["0", "1"], ids=lambda v: f"TRITON_DEFAULT_FP_FUSION={v}")
def results(request) -> tuple[list[dict], dict]:
    return run_check(request.param)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case_id(c) for c in CASES])
def test_fused_optimizer_is_bit_exact_against_reference(results, index: int) -> None:
    r = results[0][index]
    print(json.dumps(r))
    names = ["w", "m", "v"] if CASES[index]["kind"] == "adamw" else ["w", "buf"]
    assert r["changed"] and r["views_alias"]
    for name in names:
        assert r[f"{name}_ulps"] == 0, (name, r)
        # The GPU with multiply-add contraction, modelled: normwise within 2^-20.
        assert r[f"{name}_fma_model_max_abs"] <= 2.0**-20 * r[f"{name}_max_ref"], (name, r)


def test_flat_buffer_aliasing(results) -> None:
    a = results[1]
    print(json.dumps(a))
    assert a["other_view_changed"], "a separately made view of the flat buffer saw no update"
    assert a["other_view_is_w1"] and a["flat_is_views"]
    assert a["separate_equal_flat"], "one launch per tensor differs from the flat launch"
