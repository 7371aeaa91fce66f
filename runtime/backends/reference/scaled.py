"""Reference kernels of the ``scaled`` dialect (docs/scaled.md).

Scaled values are `ScaledArray`s (``data`` in its format's dtype, an fp32 power-of-two
``scale``); integer operands (ids, labels), amaxes, references and amax histories are
plain arrays.

**Mirrored ops** share one kernel, `mirrored`: it unpacks the operands into fp32 values
(``data * scale``), runs the ``nn`` op's own reference kernel on them (a mirror has the
``nn`` op's properties under the same names, so the ``nn`` kernel reads them off the
scaled op), asks the op's scale rule (``SCALE_RULES``) for the result scales, and stores
``round_to(value / scale, result type)``: the only rounding is into the result's format,
everything before it is fp32.

**Scaling ops**: ``from_tensor``, ``to_tensor``, ``amax``, ``rescale``, ``cast`` (which
also records its statistics, below) and ``update_history``.

**Cast statistics.** Every executed ``scaled.cast`` records, when ``env.stats`` is a
dict, ``env.stats[name] = {"scale", "amax", "saturated", "underflow"}`` (`cast_stats`):
the scale, the input value's amax, the fraction of finite inputs beyond the format's max
(saturated) and of nonzero inputs that became zero. ``name`` reads
``train_forward/cast3:%x->f8E4M3FN``: the entry point, the cast's position among the
entry's casts (from 0), the name of its operand when the IR has one, and the format.
The session hands these to ``train_step``'s ``metrics["tensors"]``.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue

from scalc.dialects import scaled
from scalc.dialects.scaled.rules import MAX_SCALE_EXP, MIN_SCALE_EXP, SCALE_RULES, rescale_scale
from scalc.runtime.backends.reference.env import RefEnv
from scalc.runtime.backends.reference.formats import (
    Format,
    cast_stats,
    format_of,
    round_to,
    value_of,
)
from scalc.runtime.backends.reference.registry import REFERENCE, reference
from scalc.runtime.scaled_array import ScaledArray

NN_OF: dict[type[Operation], type[Operation]] = {m: n for n, m in scaled.MIRROR.items()}
"""Scaled mirror class -> the ``nn`` class whose kernel computes its value."""

_MIN_RATIO, _MAX_RATIO = math.ldexp(1.0, MIN_SCALE_EXP), math.ldexp(1.0, MAX_SCALE_EXP)


def _format(value: SSAValue) -> Format:
    t = value.type
    assert isinstance(t, scaled.ScaledTensorType | TensorType)
    return format_of(t.get_element_type())


def pack(value: np.ndarray, scale: float, fmt: Format) -> ScaledArray:
    """``value`` (float32) stored with ``scale``: ``round_to(value / scale, fmt)``."""
    value = value_of(np.asarray(value))
    if scale != 1.0:
        value = value / np.float32(scale)
    return ScaledArray(round_to(value, fmt), scale)


def unpack(x: Any) -> tuple[Any, float | None]:
    """A kernel operand as (value for the ``nn`` kernel, scale for the rule): a scaled
    array's fp32 value and scale; an integer array as it is, without a scale."""
    if isinstance(x, ScaledArray):
        return x.value(), x.scale
    x = np.asarray(x)
    if x.dtype.kind in "iub":
        return x, None
    return value_of(x), 1.0  # a plain float tensor: its value is its data


def _valid_scale(scale: float | None) -> bool:
    return scale is None or 0.0 < scale < math.inf


def mirrored(op: Operation, env: RefEnv, *operands: Any) -> ScaledArray | tuple[ScaledArray, ...]:
    """Every mirrored op: ``value = nn_op(values)`` in fp32, ``scale = rule(op)``, data
    ``round_to(value / scale)`` in each result's format."""
    values, scales, shapes = [], [], []
    for x in operands:
        value, scale = unpack(x)
        values.append(value)
        scales.append(scale)
        shapes.append(tuple(value.shape))
    out = REFERENCE[NN_OF[type(op)]](op, env, *values)
    outs = out if isinstance(out, tuple) else (out,)
    if all(_valid_scale(s) for s in scales):
        new_scales = SCALE_RULES[type(op)](op, tuple(scales), tuple(shapes))
    else:
        # A NaN or infinite scale (a rescale of a blown-up tensor): the values are not
        # finite anyway; carry NaN on, so the step is reported and skipped, not crashed.
        new_scales = (math.nan,) * len(outs)
    results = tuple(
        pack(v, s, _format(r)) for v, s, r in zip(outs, new_scales, op.results, strict=True)
    )
    return results if len(results) != 1 else results[0]


for _mirror in scaled.MIRRORED_OPS:
    reference(_mirror)(mirrored)


@reference(scaled.FromTensorOp)
def from_tensor(op: scaled.FromTensorOp, env: RefEnv, x: np.ndarray) -> ScaledArray:
    """Scale 1, the data rounded to the result's format."""
    return ScaledArray(round_to(x, _format(op.result)), 1.0)


@reference(scaled.ToTensorOp)
def to_tensor(op: scaled.ToTensorOp, env: RefEnv, x: ScaledArray) -> np.ndarray:
    """The value ``data * scale`` in the result's type (never the data array itself: a
    result handed to the user must not alias a value the runtime keeps)."""
    out = round_to(x.value(), _format(op.result))
    return out.copy() if out is x.data else out


def amax_of(x: ScaledArray) -> np.ndarray:
    """``max |data * scale|`` as a 0-d float32 (0 for an empty tensor; NaN if any is)."""
    if x.size == 0:
        return np.zeros((), np.float32)
    data = value_of(x.data)
    high, low = float(data.max()), float(data.min())  # NaN if the data holds one
    top = math.nan if math.isnan(high) or math.isnan(low) else max(high, -low)
    return np.asarray(np.float32(top) * np.float32(x.scale), np.float32)


@reference(scaled.AmaxOp)
def amax(op: scaled.AmaxOp, env: RefEnv, x: ScaledArray) -> np.ndarray:
    return amax_of(x)


@reference(scaled.RescaleOp)
def rescale(op: scaled.RescaleOp, env: RefEnv, x: ScaledArray, ref: np.ndarray) -> ScaledArray:
    """The same value with scale ``s`` (`rescale_scale`), data ``value / s`` in the same
    format. Both scales are powers of two: the data is multiplied by ``old / s``, exact
    unless it leaves the format's range."""
    s = rescale_scale(float(ref), op.target.value.data, op.margin.value.data)
    fmt = _format(op.result)
    ratio = x.scale / s if math.isfinite(s) and math.isfinite(x.scale) else math.nan
    if not _MIN_RATIO <= ratio <= _MAX_RATIO:
        # The ratio leaves fp32 or a scale is not finite: go through the value.
        return pack(x.value(), s, fmt)
    data = value_of(x.data)
    return ScaledArray(round_to(data * np.float32(ratio) if ratio != 1.0 else data, fmt), s)


@reference(scaled.CastOp)
def cast(op: scaled.CastOp, env: RefEnv, x: ScaledArray) -> ScaledArray:
    """The same scale, the data rounded to nearest even into the new format and
    saturated; records the cast's statistics in ``env.stats`` (module docstring)."""
    fmt = _format(op.result)
    data = value_of(x.data)
    stats = getattr(env, "stats", None)
    if stats is not None:
        stats[cast_name(op)] = cast_stats(data, fmt, x.scale)
    return ScaledArray(round_to(data, fmt), x.scale)


@reference(scaled.UpdateHistoryOp)
def update_history(
    op: scaled.UpdateHistoryOp, env: RefEnv, history: np.ndarray, amax: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``ref = max(history)`` if it is positive, else ``amax`` (the first step; also a
    history holding a NaN); the new history is ``[amax, history[0], ..., history[-2]]``."""
    h = np.asarray(history, np.float32)
    a = np.asarray(amax, np.float32).reshape(())
    top = h.max()
    ref = top if top > 0 else a
    new = np.empty_like(h)
    new[0] = a
    new[1:] = h[:-1]
    return np.asarray(ref, np.float32), new


# --- names of casts ------------------------------------------------------------------

# A cast's operand is usually a rescale (of a transpose) of a named value: name it by that.
_SAME_TENSOR = (scaled.RescaleOp, scaled.TransposeOp, scaled.FromTensorOp, scaled.CastOp)


def _hint(value: SSAValue) -> str | None:
    while value.name_hint is None and isinstance(value.owner, _SAME_TENSOR):
        value = value.owner.operands[0]
    return value.name_hint


_CAST_NAMES: weakref.WeakKeyDictionary[Operation, str] = weakref.WeakKeyDictionary()


def cast_name(op: Operation) -> str:
    """``train_forward/cast3:%x->f8E4M3FN`` (computed once per op)."""
    name = _CAST_NAMES.get(op)
    if name is not None:
        return name
    parent = op.parent_op()
    entry = parent.sym_name.data if isinstance(parent, func.FuncOp) else "?"
    position = 0
    block = op.parent_block()
    if block is not None:
        for other in block.ops:
            if other is op:
                break
            if isinstance(other, scaled.CastOp):
                position += 1
    hint = _hint(op.operands[0])
    label = f":%{hint}" if hint else ""
    name = f"{entry}/cast{position}{label}->{_format(op.results[0]).name}"
    _CAST_NAMES[op] = name
    return name
