"""Per-cast statistics on the Triton backends: what ``metrics["tensors"]`` reports for each
``scaled.cast`` (docs/runtime.md), computed on the device from a cast group's input and
result, with the reference's definitions (`formats.cast_stats`) and names (`cast_name`), so
``plot_scales.py`` and any user code read the same numbers on every backend.

The cast's input (the rescaled data) is not materialised by the fused kernel; it is
``x.data * (x.scale / s)`` for the group's input ``x`` and the cast's scale ``s``: exact,
as both scales are powers of two. A few reductions on the device and one host read per
cast, on top of the one the dynamic scale already costs.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from xdsl.ir import SSAValue

from scalc.dialects import scaled
from scalc.lowering.codegen.abi import KernelValue, format_of_value
from scalc.runtime.backends.reference.formats import format_of
from scalc.runtime.backends.reference.scaled import cast_name

_THROUGH = (scaled.RescaleOp, scaled.TransposeOp)


def recorder(ops: list[Any], inputs: list[SSAValue], outputs: list[SSAValue]) -> Any:
    """``record(env, args, outs)`` for a cast group that holds a ``scaled.cast`` whose input
    chain (through rescale / transpose) starts at a group input; else ``None``."""
    casts = [op for op in ops if isinstance(op, scaled.CastOp)]
    if len(casts) != 1 or casts[0].results[0] not in outputs:
        return None
    (cast,) = casts
    source = cast.operands[0]
    inside = set(ops)
    while source not in inputs and isinstance(source.owner, _THROUGH) and source.owner in inside:
        source = source.owner.operands[0]
    if source not in inputs:
        return None
    x_index, out_index = inputs.index(source), outputs.index(cast.results[0])
    name, fmt = cast_name(cast), format_of(format_of_value(cast.results[0]))

    def record(env: Any, args: tuple[KernelValue, ...], outs: tuple[KernelValue, ...]) -> None:
        if getattr(env, "stats", None) is None:
            return
        x, out = args[x_index], outs[out_index]
        env.stats[name] = cast_stats(x, out.scale, fmt)

    return record


def cast_stats(x: KernelValue, scale: float | None, fmt: Any) -> dict[str, float]:
    """The reference's ``cast_stats`` of the data ``x.value / scale`` cast into ``fmt``."""
    ratio = (x.scale or 1.0) / scale if scale else math.nan
    a = (x.data.float() * ratio).abs().reshape(-1)
    n = a.numel()
    if n == 0:
        return {"scale": float(scale or 0.0), "amax": 0.0, "saturated": 0.0, "underflow": 0.0}
    nan = torch.isnan(a)
    inf = torch.isinf(a)
    zeros = a == 0
    counts = torch.stack([
        nan.sum(), inf.sum(), (a > fmt.max).sum(), zeros.sum(), (a <= fmt.flush_below).sum(),
    ]).tolist()  # fmt: skip
    top = float(a.max())  # NaN if a NaN is there (torch's max propagates it)
    n_nan, n_inf, over, n_zero, flushed = (int(c) for c in counts)
    finite = n - n_nan - n_inf
    saturated = (over - n_inf) / finite if over and finite else 0.0
    nonzero = n - n_zero - n_nan
    return {
        "scale": float(scale),
        "amax": math.nan if math.isnan(top) else top * float(scale),
        "saturated": saturated,
        "underflow": (flushed - n_zero) / nonzero if nonzero else 0.0,
    }
