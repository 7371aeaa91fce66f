"""Sample ops for every scale rule (`SCALE_RULES`), for the device-scale tests
(test_device_scales.py in process, device_scales_check.py under the interpreter): for each
rule function, stand-in ops with the properties the rule reads (``axes``, ``dims``), which
operands are scaled, and operand shapes, once with static sizes and once with symbolic ones
(named run-time integers, as a kernel receives them).

Also `HELPER_EXPRS`: the helpers of lowering/templates/scales.py on arbitrary positive
values (not only powers of two), where their tie and rounding rules show.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from scalc.dialects.nn.dims import Dim
from scalc.dialects.scaled import rules


def _axes(*axes: int) -> Any:
    return SimpleNamespace(get_values=lambda: list(axes))


@dataclass(frozen=True)
class RuleCase:
    """One sample of a rule: ``rule(op, scales, shapes)`` with ``scaled[i]`` telling which
    operands carry a scale (the others, integer ids, get ``None``)."""

    name: str
    rule: Any
    op: Any
    scaled: tuple[bool, ...]
    shapes: tuple[tuple[int, ...], ...]


PLAIN = SimpleNamespace()
R = rules
CASES: tuple[RuleCase, ...] = (
    RuleCase("pass_through", R.scale_rule_pass_through, PLAIN, (True,), ((4, 8),)),
    RuleCase("pass_through_ids", R.scale_rule_pass_through, PLAIN, (True, False), ((96, 8), (4,))),
    RuleCase("grad_pass_through", R.scale_rule_grad_pass_through, PLAIN, (True, True),
             ((4, 8), (4, 8))),
    RuleCase("mul", R.scale_rule_mul, PLAIN, (True, True), ((4, 8), (4, 8))),
    RuleCase("div", R.scale_rule_div, PLAIN, (True, True), ((4, 8), (4, 8))),
    RuleCase("sqrt", R.scale_rule_sqrt, PLAIN, (True,), ((4, 8),)),
    RuleCase("sqrt_grad", R.scale_rule_sqrt_grad, PLAIN, (True, True), ((4, 8), (4, 8))),
    RuleCase("mean_grad", R.scale_rule_mean_grad,
             SimpleNamespace(dims=SimpleNamespace(dims=(Dim.of("B"), Dim.of(24), Dim.parse("4*T"))),
                             axes=_axes(1, 2)), (True,), ((1, 1, 1),)),
    RuleCase("cross_entropy_grad", R.scale_rule_cross_entropy_grad, PLAIN,
             (True, False, True), ((6, 96), (6,), ())),
    RuleCase("matmul", R.scale_rule_matmul, PLAIN, (True, True), ((6, 784), (784, 256))),
    RuleCase("matmul_k3", R.scale_rule_matmul, PLAIN, (True, True), ((6, 3), (3, 5))),
    RuleCase("add", R.scale_rule_add, PLAIN, (True, True), ((4, 8), (4, 8))),
    RuleCase("sum", R.scale_rule_sum, SimpleNamespace(axes=_axes(0, 2)), (True,), ((6, 5, 33),)),
    RuleCase("mean", R.scale_rule_mean, SimpleNamespace(axes=_axes(1)), (True,), ((6, 96),)),
    RuleCase("mean_of_3", R.scale_rule_mean, SimpleNamespace(axes=_axes(0)), (True,), ((3,),)),
    RuleCase("layernorm_grad", R.scale_rule_layernorm_grad, PLAIN,
             (True, True, True), ((5, 12, 32), (32,), (5, 12, 32))),
    RuleCase("non_homogeneous", R.scale_rule_non_homogeneous, PLAIN, (True,), ((4, 8),)),
)  # fmt: skip


def symbolic(case: RuleCase) -> list[list[int | str]]:
    """The case's shapes with every size a run-time integer named ``n<i>_<axis>``."""
    return [[f"n{i}_{a}" for a in range(len(shape))] for i, shape in enumerate(case.shapes)]


def size_values(case: RuleCase) -> dict[str, int]:
    """The run-time integers of `symbolic` and their values."""
    return {
        f"n{i}_{a}": size for i, shape in enumerate(case.shapes) for a, size in enumerate(shape)
    }


HELPER_EXPRS = (
    "pow2(x)",
    "pow2_sqrt(x)",
    "rescale_scale(x, 448.0, 0)",
    "rescale_scale(x, 57344.0, 1)",
    "rescale_scale(x, 448.0, -3)",
    "add_scale(x, y)",
    "fp32(x)",
    "div(x, y)",
)
"""Helper calls on arbitrary fp64 ``x`` and ``y``."""
