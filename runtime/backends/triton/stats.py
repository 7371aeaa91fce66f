"""Per-cast statistics on the Triton backends: what ``metrics["tensors"]`` reports for each
``scaled.cast`` (docs/runtime.md), with the reference's definitions (`formats.cast_stats`)
and names (`cast_name`), so ``plot_scales.py`` and any user code read the same numbers on
every backend.

The cast kernel counts them itself, from the very values it rounds (``cast_stats_of`` in
lowering/templates/cast.py): NaN, infinite, beyond the format's max, zero and flushed-to-
zero counts and the NaN-propagating max magnitude, accumulated with atomics into one
int32[6] device tensor per cast. Nothing is read back during the step: a `PendingCast`
holds the tensor, and `resolve` turns all of a step's pending casts (and the optimizer's
descent sums) into numbers with one device-to-host transfer, when the user first reads
``metrics``. With
``session(..., stats=False)`` nothing is counted at all.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

import torch
from xdsl.ir import SSAValue

from scalc.dialects import scaled
from scalc.lowering.codegen.abi import KernelValue
from scalc.runtime.backends.reference.formats import cast_stats_from_counts
from scalc.runtime.backends.reference.scaled import cast_name

_THROUGH = (scaled.RescaleOp, scaled.TransposeOp)


@dataclass(frozen=True)
class PendingCast:
    """One cast's statistics still on the device: ``counts`` (int32[6]: NaN, inf, over the
    max, zero, flushed, amax bits), the number of values cast and the cast's scale."""

    counts: Any
    n: int
    scale: float


def recorder(ops: list[Any], inputs: list[SSAValue], outputs: list[SSAValue]) -> Any:
    """For a cast group that holds a ``scaled.cast`` whose input chain (through rescale /
    transpose) starts at a group input: ``(name, x_index, out_index)``, the cast's name in
    ``metrics["tensors"]`` and where its input and result are among the group's; else
    ``None``."""
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
    return cast_name(cast), inputs.index(source), outputs.index(cast.results[0])


def counts_buffer(device: Any) -> Any:
    """A zeroed int32[6] tensor for one cast's counts."""
    return torch.zeros(6, dtype=torch.int32, device=device)


def pending(counts: Any, x: KernelValue, out: KernelValue) -> PendingCast:
    return PendingCast(counts, math.prod(x.shape), float(out.scale or 0.0))


def resolve(casts: dict[str, PendingCast], update_stats: Any = None) -> dict[str, Any]:
    """A step's device metrics in one transfer: ``tensors`` (name -> ``{"scale", "amax",
    "saturated", "underflow"}``) for the pending casts, and ``edq``/``stalled`` from the
    optimizer's ``nn.update_stats`` (their four sums in float64), when given."""
    from scalc.runtime.backends.reference.backend import descent_from_sums

    parts = [torch.stack([p.counts for p in casts.values()]).double().reshape(-1)] if casts else []
    if update_stats:
        parts.append(torch.stack([u.reshape(-1).double() for u in update_stats]).sum(dim=0))
    values = torch.cat(parts).tolist() if parts else []  # the one transfer
    metrics: dict[str, Any] = {}
    if casts:
        rows = [[int(v) for v in values[6 * i : 6 * i + 6]] for i in range(len(casts))]
        metrics["tensors"] = {k: finish(r, p.n, p.scale) for (k, p), r in zip(casts.items(), rows)}
    if update_stats:
        metrics |= descent_from_sums(*values[6 * len(casts) :])
    return metrics


def finish(counts: list[int], n: int, scale: float) -> dict[str, float]:
    """The reference's ``cast_stats`` numbers from a cast kernel's counts."""
    n_nan, n_inf, over, n_zero, at_most_flush, amax_bits = counts
    top = struct.unpack("<f", struct.pack("<i", amax_bits))[0]
    return cast_stats_from_counts(n, n_nan, n_inf, over, n_zero, at_most_flush, top, scale)
