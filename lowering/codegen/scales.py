"""Scale rules as device code: for a scaled op, the expressions that compute its result
scales inside a kernel (docs/lowering.md, "Scales on the device").

A kernel that makes a scaled value computes its scale itself, from the scales of its inputs
(loaded from device buffers) with the op's rule, so no scale crosses to the host. This
module writes that code from the same table the reference uses: every rule of
``SCALE_RULES`` (dialects/scaled/rules.py) has a twin here (`DEVICE_RULES`, keyed by the rule
function; tests/lowering/test_device_scales.py checks that none is missing), which returns
one expression per result in a small language that is both Triton (the helpers of
lowering/templates/scales.py) and Python (`PY_HELPERS`, the same semantics on floats, for
the tests)::

    result_scale_exprs(matmul_op, ["s_a", "s_b"], [["size_M", 784], [784, 256]])
    # -> ["fp32(pick(valid(s_a) & valid(s_b), s_a * s_b * 32.0, float('nan')))"]

``scales`` are the operands' scale expressions (fp64; ``None`` for an integer operand),
``shapes`` each operand's sizes: an ``int`` for a static size, else the name of an integer
the kernel receives. Static factors are folded at generation (``p(sqrt 784) = 32.0``), as
literal powers of two; a symbolic one is computed in the kernel (``pow2_sqrt(f64(size_K))``).
Each result is guarded (a NaN, infinite or non-positive input scale gives NaN, as
``abi.result_scales``) and rounded to fp32, as the reference's ``ScaledArray`` rounds each
op's scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from xdsl.ir import Operation

from scalc.dialects.scaled import rules
from scalc.dialects.scaled.rules import SCALE_RULES

Size = int | str
"""A size in generated code: a static ``int`` or the name of a run-time integer."""
Emitter = Callable[[Any, Sequence[str | None], Sequence[Sequence[Size]]], tuple[str, ...]]

DEVICE_RULES: dict[Callable[..., Any], Emitter] = {}
"""Rule function of ``SCALE_RULES`` -> the writer of its device expressions."""


def device_rule(*rule_functions: Callable[..., Any]) -> Callable[[Emitter], Emitter]:
    def register(emitter: Emitter) -> Emitter:
        for rule in rule_functions:
            assert rule not in DEVICE_RULES, f"two device rules for {rule.__name__}"
            DEVICE_RULES[rule] = emitter
        return emitter

    return register


def result_scale_exprs(
    op: Operation, scales: Sequence[str | None], shapes: Sequence[Sequence[Size]]
) -> list[str]:
    """One guarded, fp32-rounded expression per result of ``op`` (module docstring)."""
    raw = DEVICE_RULES[SCALE_RULES[type(op)]](op, scales, shapes)
    return [guarded(e, scales) for e in raw]


def guarded(expr: str, scales: Sequence[str | None]) -> str:
    """``expr`` NaN unless every scale in ``scales`` is positive and finite, rounded to fp32."""
    guard = " & ".join(f"valid({s})" for s in scales if s is not None)
    return f"fp32(pick({guard}, {expr}, float('nan')))" if guard else f"fp32({expr})"


# --- folding -------------------------------------------------------------------------------


def _literal(x: float) -> str:
    """A power of two as a literal both languages read exactly (fp32 in Triton: exact)."""
    assert x > 0 and math.frexp(x)[0] == 0.5, x
    return repr(float(x))


def _product(sizes: Sequence[Size]) -> Size:
    """The product of ``sizes``: an int when all are static, else an expression."""
    static = math.prod(s for s in sizes if isinstance(s, int))
    names = [s for s in sizes if isinstance(s, str)]
    if not names:
        return static
    return " * ".join(([str(static)] if static != 1 else []) + names)


def _pow2_sqrt_of(n: Size) -> str:
    """``p(sqrt max(n, 1))``, folded when ``n`` is static."""
    if isinstance(n, int):
        return _literal(rules.pow2_sqrt(float(max(n, 1))))
    return f"pow2_sqrt(f64(count1({n})))"


def _pow2_of(n: Size) -> str:
    """``p(max(n, 1))``, folded when ``n`` is static."""
    if isinstance(n, int):
        return _literal(rules.pow2(float(max(n, 1))))
    return f"pow2(f64(count1({n})))"


def _first(scales: Sequence[str | None]) -> str:
    found = next((s for s in scales if s is not None), None)
    assert found is not None, "a scaled op has a scaled operand"
    return found


def _axes(op: Any) -> list[int]:
    return list(op.axes.get_values())


# --- the rules (dialects/scaled/rules.py says why each is what it is) ----------------------


@device_rule(rules.scale_rule_pass_through)
def _pass_through(op: Any, scales: Sequence[str | None], shapes: Any) -> tuple[str, ...]:
    return (_first(scales),)


# Rules that read only the input scales: one formula each, over the operands' scales
# ({0} is the first operand's, {last} the last's: dy, in every gradient here).
_FORMULAS: dict[Callable[..., Any], str] = {
    rules.scale_rule_grad_pass_through: "{last}",
    rules.scale_rule_mul: "{0} * {1}",
    rules.scale_rule_div: "div({0}, {1})",
    rules.scale_rule_sqrt: "pow2_sqrt({0})",
    rules.scale_rule_sqrt_grad: "div({1}, {0})",
    rules.scale_rule_add: "add_scale({0}, {1})",
    rules.scale_rule_non_homogeneous: "1.0",
}


class _NoScale:
    """An integer operand's place in a formula: using it is our bug, not a ``None`` text."""

    def __format__(self, spec: str) -> str:
        raise AssertionError("a scale formula reads an operand that has no scale")


def _formula(template: str) -> Emitter:
    def emit(op: Any, scales: Sequence[str | None], shapes: Any) -> tuple[str, ...]:
        named = [_NoScale() if s is None else s for s in scales]
        return (template.format(*named, last=named[-1]),)

    return emit


for _rule, _template in _FORMULAS.items():
    device_rule(_rule)(_formula(_template))
del _rule, _template


@device_rule(rules.scale_rule_mean_grad)
def _mean_grad(op: Any, scales: Sequence[str | None], shapes: Any) -> tuple[str, ...]:
    dims = op.dims.dims
    static = math.prod(dims[a].coeff for a in _axes(op))  # the rule's static factor of N
    return (f"div({scales[0]}, {_pow2_of(max(static, 1))})",)


@device_rule(rules.scale_rule_cross_entropy_grad)
def _cross_entropy_grad(op: Any, scales: Sequence[str | None], shapes: Any) -> tuple[str, ...]:
    return (f"div({scales[2]}, {_pow2_of(_product(shapes[1]))})",)


@device_rule(rules.scale_rule_matmul)
def _matmul(op: Any, scales: Sequence[str | None], shapes: Any) -> tuple[str, ...]:
    return (f"{scales[0]} * {scales[1]} * {_pow2_sqrt_of(shapes[0][-1])}",)


@device_rule(rules.scale_rule_sum)
def _sum(op: Any, scales: Sequence[str | None], shapes: Any) -> tuple[str, ...]:
    n = _product([shapes[0][a] for a in _axes(op)])
    return (f"{scales[0]} * {_pow2_sqrt_of(n)}",)


@device_rule(rules.scale_rule_mean)
def _mean(op: Any, scales: Sequence[str | None], shapes: Any) -> tuple[str, ...]:
    n = _product([shapes[0][a] for a in _axes(op)])
    return (f"div({scales[0]} * {_pow2_sqrt_of(n)}, {_pow2_of(n)})",)


@device_rule(rules.scale_rule_layernorm_grad)
def _layernorm_grad(op: Any, scales: Sequence[str | None], shapes: Any) -> tuple[str, ...]:
    x, gamma, dy = scales
    params = f"{dy} * {_pow2_sqrt_of(_product(list(shapes[0][:-1])))}"
    return (f"div({dy} * {gamma}, {x})", params, params)


# --- the same language in Python (the tests evaluate generated expressions with it) --------


def _guarded(fn: Callable[[float], float]) -> Callable[[float], float]:
    def helper(x: float) -> float:
        return fn(x) if 0.0 < x < math.inf else math.nan

    return helper


def _py_fp32(x: float) -> float:
    with np.errstate(over="ignore"):
        return float(np.float32(x))


def _py_div(a: float, b: float) -> float:
    if b == 0.0:
        return math.nan if a == 0.0 or math.isnan(a) else math.copysign(math.inf, a)
    return a / b


def _py_add_scale(a: float, b: float) -> float:
    hi, lo = max(a, b), min(a, b)
    ratio = lo / hi if hi != 0.0 else math.nan
    return _guarded(rules.pow2)(hi * math.sqrt(1.0 + ratio * ratio))


PY_HELPERS: dict[str, Any] = {
    "f64": float,
    "fp32": _py_fp32,
    "valid": lambda s: 0.0 < s < math.inf,
    "pick": lambda condition, a, b: a if condition else b,
    "div": _py_div,
    "count1": lambda n: max(n, 1),
    "pow2": _guarded(rules.pow2),
    "pow2_sqrt": _guarded(rules.pow2_sqrt),
    "rescale_scale": rules.rescale_scale,
    "add_scale": _py_add_scale,
}
"""The helpers of lowering/templates/scales.py with the same results on Python floats."""
