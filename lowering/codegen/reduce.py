"""Triton code generation for ``reduce`` kernel groups (docs/lowering.md, "Code generation").

A reduce group (lowering/partition.py, `rule_reduce`) is one op that no gemm or cast
absorbed: ``sum``, ``mean``, ``max`` (``scaled`` or ``nn``) over ``axes``, with or without
``keepdims``; ``scaled.amax``; ``scaled.update_history``.

**sum, mean, max, amax.** ``launch`` views the input as ``[M, K]``: the kept axes, then
the reduced ones (``permute`` + ``reshape``, a view for the usual reductions over leading
or trailing axes, a copy otherwise; amax: ``[1, numel]``). One kernel reduces a
``BLOCK_M x BLOCK_K`` tile at a time into an fp32 ``BLOCK_M x BLOCK_K`` accumulator and
the accumulator's rows at the end. When ``M`` is small and ``K`` large (a bias gradient:
a few hundred outputs, each over every token), ``K`` is split among programs that write
fp32 partials, and a second launch of the same kernel reduces the partials (``FINAL``
stores the result: ``mean`` divides by the count, a scaled result is stored as
``(value * inv_scale).to(<storage type>)``). No host synchronisation.

Values are ``data.to(fp32) * scale``; a sum's order differs from NumPy's (which sums
rows one after another for the leading axes, pairwise along a contiguous one), so sums
agree within rounding, not bit for bit: any order of ``K`` fp32 additions is within
``(K - 1) * 2^-24 * sum |x|`` of the exact sum. Maxima are NaN when a NaN is in the group
(as NumPy's; the GPU's ``max.f32`` alone would drop it).

**update_history.** ``ref = max(history)`` if it is positive (and no NaN), else ``amax``;
the new history is ``[amax, history[:-1]]``: one program.
"""

from __future__ import annotations

import pprint
import textwrap

from xdsl.ir import Operation, SSAValue

from scalc.dialects import nn, scaled
from scalc.dialects.scaled.types import ScaledTensorType
from scalc.lowering.codegen import GenContext, NotSupported, boundary, generator, module_header
from scalc.lowering.codegen.abi import TRITON_TYPE, format_of_value
from scalc.lowering.codegen.elementwise import TL_TYPE
from scalc.lowering.partition import KernelGroup

__all__ = ["BLOCK_K", "BLOCK_M", "REDUCTIONS", "generate_reduce"]

BLOCK_M = 32
"""Outputs per program."""
BLOCK_K = 64
"""Reduced elements per output per step of a program's loop."""
NUM_WARPS = 4
TARGET_PROGRAMS = 512
"""Split ``K`` until about this many programs run (a few per SM of an H100/H200) ..."""
MIN_STEPS_PER_SPLIT = 8
"""... but give each split at least this many loop steps (``8 * BLOCK_K`` elements)."""

REDUCTIONS: dict[type[Operation], dict[str, str]] = {}
"""Reduction op class -> the parts of its kernel: the accumulator's start value, the
value a masked load reads, the load's transform, how a tile joins the accumulator, how
the accumulator's rows reduce, and what the final pass does to the row value."""

_SUM = {
    "start": "0.0",
    "other": "0.0",
    "load": "{x}",
    "join": "acc += {x}",
    "rows": "tl.sum(acc, axis=1)",
    "final": "{r}",
}
# tl.max alone drops NaN on the GPU (max.f32); the reference's max is NaN if one is.
_MAX = {
    "start": "float('-inf')",
    "other": "float('-inf')",
    "load": "{x}",
    "join": "acc = tl.maximum(acc, {x}, propagate_nan=tl.PropagateNan.ALL)",
    "rows": "tl.where(tl.max((acc != acc).to(tl.int32), axis=1) > 0, float('nan'),"
    " tl.max(acc, axis=1))",
    "final": "{r}",
}
for _cls in (scaled.SumOp, nn.SumOp):
    REDUCTIONS[_cls] = _SUM
for _cls in (scaled.MeanOp, nn.MeanOp):
    REDUCTIONS[_cls] = {**_SUM, "final": "tl.div_rn({r}, count)"}
for _cls in (scaled.MaxOp, nn.MaxOp):
    REDUCTIONS[_cls] = _MAX
REDUCTIONS[scaled.AmaxOp] = {**_MAX, "start": "0.0", "other": "0.0", "load": "tl.abs({x})"}


def _is_scaled(v: SSAValue) -> bool:
    return isinstance(v.type, ScaledTensorType)


@generator("reduce")
def generate_reduce(group: KernelGroup, ctx: GenContext) -> str:
    """The module of one reduce group (module docstring)."""
    if len(group.ops) != 1:
        raise NotSupported(f"{group.name}: a reduce group holds one op")
    (op,) = group.ops
    inputs, outputs = boundary(group)
    for v in (*inputs, *outputs):
        if format_of_value(v) not in TL_TYPE:
            raise NotSupported(f"{group.name}: {op.name} has a {format_of_value(v)} operand")
    header = [*module_header("reduce", group, ctx, imports=("math",)), ""]
    if isinstance(op, scaled.UpdateHistoryOp):
        body = _update_history(group, ctx, op)
    elif type(op) in REDUCTIONS:
        body = _reduction(group, ctx, op)
    else:
        raise NotSupported(f"{group.name}: {op.name} is not a reduction")
    return "\n".join(header + body) + "\n"


def _reduction(group: KernelGroup, ctx: GenContext, op: Operation) -> list[str]:
    parts = REDUCTIONS[type(op)]
    (x,) = op.operands
    (r,) = op.results
    amax = isinstance(op, scaled.AmaxOp)
    axes = "all" if amax else list(op.properties["axes"].get_values())  # type: ignore[attr-defined]
    x_fmt, out_fmt = format_of_value(x), format_of_value(r)
    x_scaled, out_scaled = _is_scaled(x), _is_scaled(r)
    value = "tl.load(ptr_x + offs, mask=inside, other={other})".format(**parts)
    if x_fmt != "f32":
        value += ".to(tl.float32)"
    if x_scaled:
        value += " * scale_x"
    value = parts["load"].format(x=value)
    stored = parts["final"].format(r="total")
    if out_scaled:
        stored = f"{stored} * inv_scale_out"
    if out_fmt != "f32":
        stored = f"({stored}).to({TL_TYPE[out_fmt]})"
    name = group.name
    kernel = [
        "BLOCK_M = " + str(BLOCK_M),
        "BLOCK_K = " + str(BLOCK_K),
        f"NUM_WARPS = {NUM_WARPS}",
        f"TARGET_PROGRAMS = {TARGET_PROGRAMS}",
        f"MIN_STEPS_PER_SPLIT = {MIN_STEPS_PER_SPLIT}",
        "",
        "",
        (
            f"# Implements {ctx.label(r)} = {op.name.split('.')[-1]} of {ctx.label(x)} over axes"
            f" {axes}, the input viewed as [M, K] (kept axes, reduced axes):"
        ),
        "# each program reduces BLOCK_M rows over one split of K; with more than one split,",
        "# it writes fp32 partials [splits, M] (FINAL false) that a second launch reduces.",
        "@triton.jit",
        f"def {name}(",
        "    ptr_x, stride_m, stride_k, scale_x,  # the input, [M, K] by its strides",
        "    ptr_out, inv_scale_out,  # FINAL: the result [M]; else the fp32 partials [splits, M]",
        "    M, K, k_per_split, count,",
        "    FINAL: tl.constexpr,",
        "    BLOCK_M: tl.constexpr,",
        "    BLOCK_K: tl.constexpr,",
        "):",
        "    pid_m = tl.program_id(0)",
        "    part = tl.program_id(1)  # which split of K",
        "    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)",
        "    k_start = part * k_per_split",
        "    k_stop = tl.minimum(k_start + k_per_split, K)",
        f"    acc = tl.full([BLOCK_M, BLOCK_K], {parts['start']}, tl.float32)",
        "    for k in range(k_start, k_stop, BLOCK_K):",
        "        cols = k + tl.arange(0, BLOCK_K)",
        "        inside = (rows[:, None] < M) & (cols[None, :] < k_stop)",
        "        offs = rows[:, None] * stride_m + cols[None, :] * stride_k",
        f"        x = {value}",
        "        " + parts["join"].format(x="x"),
        f"    total = {parts['rows']}",
        "    if FINAL:",
        f"        tl.store(ptr_out + rows, {stored}, mask=rows < M)",
        "    else:",
        "        tl.store(ptr_out + part * M + rows, total, mask=rows < M)",
        "",
        "",
    ]
    launch = _reduction_launch(group, ctx, op, axes, amax)
    return kernel + launch + _reduction_hopper(name, x_fmt, out_fmt)


def _reduction_launch(
    group: KernelGroup, ctx: GenContext, op: Operation, axes: object, amax: bool
) -> list[str]:
    (x,) = op.operands
    (r,) = op.results
    out_fmt, out_scaled = format_of_value(r), _is_scaled(r)
    keepdims = not amax and op.properties.get("keepdims") is not None
    lines = [
        "def split(M, K):",
        '    """(splits, k_per_split): K is split until about TARGET_PROGRAMS programs run,',
        '    each split at least MIN_STEPS_PER_SPLIT steps of BLOCK_K."""',
        "    steps = triton.cdiv(K, BLOCK_K)",
        "    wanted = triton.cdiv(TARGET_PROGRAMS, triton.cdiv(M, BLOCK_M))",
        "    splits = max(1, min(wanted, steps // MIN_STEPS_PER_SPLIT))",
        "    k_per_split = triton.cdiv(steps, splits) * BLOCK_K",
        "    return (triton.cdiv(K, k_per_split) if K else 1), k_per_split",
        "",
        "",
        "def launch(ops, sizes, x):",
        f'    """{ctx.label(r)} from {ctx.label(x)} (an abi.KernelValue)."""',
    ]
    if amax:
        lines += [
            "    shape = ()",
            "    view = x.data.reshape(1, -1)",
        ]
    else:
        size = "1 if axis in AXES else size" if keepdims else "size"
        lines += [
            f"    AXES = {tuple(axes)!r}",  # type: ignore[arg-type]
            "    kept = [axis for axis in range(len(x.shape)) if axis not in AXES]",
            f"    shape = tuple({size} for axis, size in enumerate(x.shape)"
            + ("" if keepdims else " if axis not in AXES")
            + ")",
            "    m = math.prod(x.shape[axis] for axis in kept)",
            "    k = math.prod(x.shape[axis] for axis in AXES)",
            "    view = x.data.permute(*kept, *AXES).reshape(m, k)",
        ]
    if out_scaled:
        lines.append("    (scale,) = abi.result_scales(ops[0], (x.scale,), (x.shape,))")
    lines += [
        f'    out = abi.empty(shape, "{out_fmt}", x.data.device)',
        "    M, K = view.shape",
        "    last = (M - 1) * view.stride(0) + (K - 1) * view.stride(1)",
        '    assert max(view.numel(), last) < 2**31, "int32 offsets"',
        "    if M == 0:",
        f"        return (abi.KernelValue(out, {'scale' if out_scaled else None}),)",
        "    programs_m = triton.cdiv(M, BLOCK_M)",
        "    splits, k_per_split = split(M, K)",
        f"    x_scale = {'x.scale' if _is_scaled(x) else '1.0'}",
        "    inv_scale = " + ("1.0 / scale" if out_scaled else "1.0"),
        "    common = dict(BLOCK_M=BLOCK_M, BLOCK_K=BLOCK_K, num_warps=NUM_WARPS)",
        "    if splits == 1:",
        f"        {group.name}[(programs_m, 1)](",
        "            view, view.stride(0), view.stride(1), x_scale, out, inv_scale,",
        "            M, K, k_per_split, float(K), FINAL=True, **common",
        "        )",
        "    else:",
        '        partials = abi.empty((splits, M), "f32", x.data.device)',
        f"        {group.name}[(programs_m, splits)](",
        "            view, view.stride(0), view.stride(1), x_scale, partials, 1.0,",
        "            M, K, k_per_split, float(K), FINAL=False, **common",
        "        )",
        f"        {group.name}[(programs_m, 1)](",
        "            partials, 1, M, 1.0, out, inv_scale,",
        "            M, splits, splits, float(K), FINAL=True, **common",
        "        )",
        f"    return (abi.KernelValue(out, {'scale' if out_scaled else None}),)",
        "",
        "",
    ]
    return lines


def _reduction_hopper(name: str, x_fmt: str, out_fmt: str) -> list[str]:
    """One entry per way ``launch`` calls the kernel: in one pass, and the two passes of a
    split reduction (fp32 partials out, then in)."""
    entries: list[dict[str, object]] = []
    for final, x_type, out_type in ((True, x_fmt, out_fmt), (False, x_fmt, "f32"),
                                    (True, "f32", out_fmt)):  # fmt: skip
        signature = {
            "ptr_x": f"*{TRITON_TYPE[x_type]}", "stride_m": "i32", "stride_k": "i32",
            "scale_x": "fp32", "ptr_out": f"*{TRITON_TYPE[out_type]}", "inv_scale_out": "fp32",
            "M": "i32", "K": "i32", "k_per_split": "i32", "count": "fp32",
        }  # fmt: skip
        entry = {
            "kernel": name,
            "signature": signature,
            "constexprs": {"FINAL": final, "BLOCK_M": BLOCK_M, "BLOCK_K": BLOCK_K},
            "aligned": ("ptr_x", "ptr_out"),
            "options": {"num_warps": NUM_WARPS},
        }
        if entry not in entries:
            entries.append(entry)
    return _hopper(entries)


def _hopper(entries: list[dict[str, object]]) -> list[str]:
    text = ",\n".join(pprint.pformat(e, width=96, sort_dicts=False) for e in entries)
    return ["HOPPER = [", textwrap.indent(text, "    ") + ",", "]"]


def _update_history(group: KernelGroup, ctx: GenContext, op: Operation) -> list[str]:
    history, amax = op.operands
    ref, new = op.results
    (length,) = history.type.get_shape()  # type: ignore[attr-defined]
    block = 1 << max(length - 1, 0).bit_length()
    name = group.name
    labels = [ctx.label(v) for v in (ref, new, history, amax)]
    signature = {"ptr_history": "*fp32", "ptr_amax": "*fp32", "ptr_ref": "*fp32",
                 "ptr_new": "*fp32"}  # fmt: skip
    hopper = {
        "kernel": name,
        "signature": signature,
        "constexprs": {"H": length, "BLOCK_H": block},
        "aligned": ("ptr_history", "ptr_ref", "ptr_new"),
        "options": {"num_warps": 1},
    }
    return [
        "",
        f"# Implements {labels[0]}, {labels[1]} = update_history {labels[2]}, {labels[3]}:",
        f"# one program over the {length} entries.",
        "@triton.jit",
        f"def {name}(",
        "    ptr_history, ptr_amax, ptr_ref, ptr_new,",
        "    H: tl.constexpr,",
        "    BLOCK_H: tl.constexpr,",
        "):",
        "    offs = tl.arange(0, BLOCK_H)",
        "    inside = offs < H",
        "    h = tl.load(ptr_history + offs, mask=inside, other=float('-inf'))",
        "    amax = tl.load(ptr_amax)",
        "    # max(h) > 0 is false for a NaN maximum: the reference then takes amax too.",
        "    has_nan = tl.max((h != h).to(tl.int32), axis=0) > 0",
        "    top = tl.max(h, axis=0)",
        "    tl.store(ptr_ref, tl.where((top > 0.0) & ~has_nan, top, amax))",
        "    older = tl.load(ptr_history + offs - 1, mask=inside & (offs > 0), other=0.0)",
        "    tl.store(ptr_new + offs, tl.where(offs == 0, amax, older), mask=inside)",
        "",
        "",
        "def launch(ops, sizes, history, amax):",
        f'    """{labels[0]}, {labels[1]} from {labels[2]}, {labels[3]} (plain fp32 values)."""',
        '    ref = abi.empty((), "f32", history.data.device)',
        '    new = abi.empty(history.shape, "f32", history.data.device)',
        f"    {name}[(1,)](",
        "        history.data.contiguous(), amax.data, ref, new,",
        f"        H={length}, BLOCK_H={block}, num_warps=1,",
        "    )",
        "    return (abi.KernelValue(ref, None), abi.KernelValue(new, None))",
        "",
        "",
        *_hopper([hopper]),
    ]
