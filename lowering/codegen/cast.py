"""Code generator of ``cast`` kernel groups (docs/lowering.md, rule 4 and "Code generation").

A cast group is one tensor ``x`` on its way to a new scale and, usually, a new format::

    [%t = scaled.transpose %x]                       the K-major operand of an FP8 gemm
    [%a = scaled.amax %t]                            dynamic scaling
    [%ref, %h2 = scaled.update_history %h, %a]       delayed scaling (%a may come from a gemm)
    %r = scaled.rescale %t, %ref {target, margin}    (%ref may come from outside)
    [%q = scaled.cast %r]                            f8 (a rescale alone stays bf16)

or a lone ``scaled.cast``. The generated module runs it with the kernels of
lowering/templates/cast.py, whose text it copies (renamed after the group):

1. ``<group>_amax``: per-program NaN-propagating maxima of ``|x.data|``; the launch reduces
   them on the device and multiplies by the scale (``scaled.amax``). ``update_history``
   is a few torch ops on the device.
2. The host reads the reference magnitude (one device-to-host sync: a scale is a host
   float) and computes the scale with ``abi.rescale_scale``, the reference's own function.
3. ``<group>_rescale_cast`` (``_rescale``, ``_cast``): ``data * (x.scale / s)``, exact, then
   one rounding into the output format (RNE, saturating), or the reference's path through
   the value when the ratio is not a normal fp32 number.

The kernels read ``x`` flat in its own memory layout (a strided view is made contiguous
first) and write the output in that layout, so a transpose moves no data: the result is
the permuted view of the output, which is the K-major layout the gemm wants. Every scale
is the reference's (``abi.result_scales`` for the transpose, ``abi.rescale_scale``), and
the data bits are the reference's (lowering/templates/cast.py says why one rounding is
enough; tests/lowering/test_codegen_cast.py checks every group of the examples).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xdsl.ir import Operation, SSAValue

from scalc.dialects import scaled
from scalc.lowering.codegen import (
    GenContext,
    NotSupported,
    boundary,
    generator,
    module_header,
    template_function,
)
from scalc.lowering.codegen.abi import (
    FLUSH_BELOW,
    FORMAT_MAX,
    LARGEST,
    TRITON_TYPE,
    format_of_value,
)
from scalc.lowering.partition import KernelGroup

BLOCK = 1024
NUM_WARPS = 4
"""As lowering/templates/cast.py: elements per program, warps per program."""

CLAMP_TO = {"bf16": LARGEST["bf16"], "f16": 65504.0}
"""Output formats whose conversion overflows to ±inf where ``round_to`` saturates."""

_ROLES = {
    scaled.TransposeOp: "transpose",
    scaled.AmaxOp: "amax",
    scaled.UpdateHistoryOp: "update",
    scaled.RescaleOp: "rescale",
    scaled.CastOp: "cast",
}


@dataclass
class CastChain:
    """The ops of a cast group by role (each at most once, in this dataflow order)."""

    x: SSAValue
    """The tensor the kernels read (the transpose's operand, if there is one)."""
    transpose: Operation | None = None
    amax: Operation | None = None
    update: Operation | None = None
    rescale: Operation | None = None
    cast: Operation | None = None


def cast_chain(group: KernelGroup) -> CastChain:
    """The roles of ``group``'s ops; `NotSupported` for anything else or another wiring."""
    roles: dict[str, Operation] = {}
    for op in group.ops:
        role = _ROLES.get(type(op))
        if role is None or role in roles:
            raise NotSupported(f"{group.name}: {op.name} in a cast group")
        roles[role] = op
    if "rescale" not in roles and set(roles) != {"cast"}:
        raise NotSupported(f"{group.name}: a cast group without scaled.rescale")
    first = roles.get("transpose") or roles.get("rescale") or roles["cast"]
    chain = CastChain(first.operands[0], **roles)
    source = chain.transpose.results[0] if chain.transpose else chain.x
    expected = [
        (chain.amax, 0, source),
        (chain.rescale, 0, source),
        (chain.cast, 0, chain.rescale.results[0] if chain.rescale else source),
    ]
    if chain.update and chain.amax:
        expected.append((chain.update, 1, chain.amax.results[0]))
    if chain.update and chain.rescale:
        expected.append((chain.rescale, 1, chain.update.results[0]))
    for op, index, value in expected:
        if op is not None and op.operands[index] is not value:
            raise NotSupported(f"{group.name}: {op.name} does not read the group's tensor")
    return chain


def _param_names(chain: CastChain, inputs: list[SSAValue]) -> list[str]:
    """The launch's parameters: the group's inputs named by their role."""
    roles: dict[SSAValue, str] = {chain.x: "x"}
    if chain.update:
        roles[chain.update.operands[0]] = "history"
        roles.setdefault(chain.update.operands[1], "amax")
    if chain.rescale:
        roles.setdefault(chain.rescale.operands[1], "ref")
    return [roles[v] for v in inputs]


@generator("cast")
def generate_cast(group: KernelGroup, ctx: GenContext) -> str:
    """The module of a cast group: the amax and rescale-cast kernels and ``launch``."""
    chain = cast_chain(group)
    inputs, outputs = boundary(group)
    params = _param_names(chain, inputs)
    out_value = (chain.cast or chain.rescale).results[0]  # type: ignore[union-attr]
    out_fmt = format_of_value(out_value)
    if chain.cast and chain.rescale and format_of_value(chain.rescale.results[0]) == "f16":
        # f16 then f8 rounds twice differently from once (bf16's range makes it the same).
        raise NotSupported(f"{group.name}: scaled.rescale into f16 followed by scaled.cast")
    if chain.transpose and chain.transpose.results[0] in outputs:
        raise NotSupported(f"{group.name}: the transposed tensor is used outside the group")
    if chain.cast and chain.rescale and chain.rescale.results[0] in outputs:
        raise NotSupported(f"{group.name}: the rescaled tensor is used besides its cast")

    kernel = "_".join(
        [group.name] + [w for w, op in (("rescale", chain.rescale), ("cast", chain.cast)) if op]
    )
    renames = {"amax_kernel": f"{group.name}_amax", "rescale_cast_kernel": kernel}
    parts = [_header(group, ctx, inputs, outputs)]
    if chain.amax:
        comment = _kernel_comment(ctx, [chain.amax], "max |data| of each BLOCK slice")
        parts.append(comment + _template("amax_kernel", renames))
    rescale_cast = [op for op in (chain.rescale, chain.cast) if op is not None]
    comment = _kernel_comment(ctx, rescale_cast, "data * (x.scale / s), rounded once")
    parts.append(comment + _template("rescale_cast_kernel", renames))
    parts.append(_template("cast_stats_of", renames))
    helpers = ["amax_of"] if chain.amax else []
    helpers += ["update_history"] if chain.update else []
    parts += [_template(name, renames) for name in [*helpers, "rescale_cast"]]
    parts.append(_launch(group, ctx, chain, params, outputs, out_fmt))
    parts.append(_hopper(chain, renames, out_fmt))
    return "\n\n\n".join(parts) + "\n"


def _template(name: str, renames: dict[str, str]) -> str:
    text = template_function("cast", name)
    for old, new in renames.items():
        text = re.sub(rf"\b{old}\b", new, text)
    return text.rstrip()


def _header(
    group: KernelGroup, ctx: GenContext, inputs: list[SSAValue], outputs: list[SSAValue]
) -> str:
    inputs_text = ", ".join(ctx.label(v) for v in inputs)
    outputs_text = ", ".join(ctx.label(v) for v in outputs)
    lines = [
        *module_header(
            "cast", group, ctx, notes=[f"Inputs: {inputs_text}; outputs: {outputs_text}."]
        ),
        "",
        f"BLOCK = {BLOCK}",
        f"NUM_WARPS = {NUM_WARPS}",
    ]
    return "\n".join(lines)


def _kernel_comment(ctx: GenContext, ops: list[Operation], what: str) -> str:
    lines = [f"# Implements: {ctx.describe(op)}" for op in ops[:1]]
    lines += [f"#             {ctx.describe(op)}" for op in ops[1:]]
    return "\n".join([*lines, f"# ({what})", ""])


def _launch(
    group: KernelGroup,
    ctx: GenContext,
    chain: CastChain,
    params: list[str],
    outputs: list[SSAValue],
    out_fmt: str,
) -> str:
    roles = [_ROLES[type(op)] + "_op" for op in group.ops]
    used = {"transpose_op", "rescale_op"}
    body = []
    if used.intersection(roles):
        targets = ", ".join(o if o in used else "_" for o in roles)
        body.append(f"({targets},) = ops" if len(roles) == 1 else f"{targets} = ops")
    body.append("data = x.data.contiguous()  # read flat, in x's own layout")
    if chain.transpose:
        body.append("# The transpose moves no data; its scale is the rule's (it passes through).")
        body.append("(x_scale,) = abi.result_scales(transpose_op, [x.scale], [x.shape])")
    else:
        body.append("x_scale = x.scale")
    values = _scale_lines(ctx, chain, body)
    body.append(f'out = abi.empty(data.shape, "{out_fmt}", data.device)')
    clamp = f", clamp={CLAMP_TO[out_fmt]!r}" if out_fmt in CLAMP_TO else ""
    if chain.cast:  # the cast's statistics, counted by the kernel into `stats` if given
        limits = (FORMAT_MAX[out_fmt], FLUSH_BELOW[out_fmt])
        clamp += f", stats=stats, fmt_limits={limits!r}"
    if chain.rescale:
        body.append(f"rescale_cast(data, out, x_scale, scale{clamp})")
    else:
        body.append(f"rescale_cast(data, out, 1.0, 1.0{clamp})  # a cast keeps the scale")
    if chain.transpose:
        body.append("# The K-major result: the output in x's layout, seen through the permutation.")
        body.append("out = out.permute(*transpose_op.perm.get_values())")
    scale = "scale" if chain.rescale else "x_scale"
    for op in (chain.rescale, chain.cast):
        if op is not None:
            values[op.results[0]] = f"out, {scale}"
    returned = [f"abi.KernelValue({values[v]})" for v in outputs]
    body.append(f"return ({', '.join(returned)}{',' if len(returned) == 1 else ''})")
    named = ", ".join(
        f"{ctx.label(v)} as {n}" for v, n in zip(boundary(group)[0], params, strict=True)
    )
    doc = f'"""{group.name}: ({", ".join(ctx.label(v) for v in outputs)}) from ({named})."""'
    signature = ", ".join(["ops", "sizes", *params, *(["*", "stats=None"] if chain.cast else [])])
    return "\n".join([f"def launch({signature}):", f"    {doc}", *(f"    {line}" for line in body)])


def _scale_lines(ctx: GenContext, chain: CastChain, body: list[str]) -> dict[SSAValue, str]:
    """Append the amax, update_history and rescale-scale lines to ``body``; return the
    expressions of the plain values they make (amax, ref, new history)."""
    values: dict[SSAValue, str] = {}
    if chain.amax:
        label = ctx.label(chain.amax.results[0])
        body.append(f"amax = amax_of(data, x_scale)  # {label}, on the device")
        values[chain.amax.results[0]] = "amax"
    if chain.update:
        amax = values.get(chain.update.operands[1], "amax.data")
        body.append(f"ref, new_history = update_history(history.data, {amax})")
        values[chain.update.results[0]] = "ref"
        values[chain.update.results[1]] = "new_history"
    if chain.rescale:
        ref = values.get(chain.rescale.operands[1], "ref.data")
        body += [
            "# The new scale from the reference magnitude: reading it is the one device sync.",
            f"ref_value = float({ref})",
            "scale = abi.rescale_scale(",
            "    ref_value, rescale_op.target.value.data, rescale_op.margin.value.data",
            ")",
        ]
    return values


def _hopper(chain: CastChain, renames: dict[str, str], out_fmt: str) -> str:
    x_type = f"*{TRITON_TYPE[format_of_value(chain.x)]}"
    options = {"num_warps": NUM_WARPS}
    entries: list[dict[str, object]] = []
    if chain.amax:
        entries.append({
            "kernel": renames["amax_kernel"],
            "signature": {"x_ptr": x_type, "partial_ptr": "*fp32", "n": "i32"},
            "constexprs": {"BLOCK": BLOCK},
            "aligned": ("x_ptr", "partial_ptr"),
            "options": options,
        })  # fmt: skip
    clamp = CLAMP_TO.get(out_fmt, 0.0)
    stats = chain.cast is not None  # compiled as a session runs it: with the statistics
    signature = {"x_ptr": x_type, "out_ptr": f"*{TRITON_TYPE[out_fmt]}",
                 "stats_ptr": "*i32" if stats else f"*{TRITON_TYPE[out_fmt]}", "n": "i32"}  # fmt: skip
    limits = {"FMT_MAX": FORMAT_MAX[out_fmt] if stats else 0.0,
              "FLUSH_BELOW": FLUSH_BELOW[out_fmt] if stats else 0.0}  # fmt: skip
    constexprs = {"DIRECT": True, "CLAMP": clamp > 0, "OUT_MAX": clamp, "STATS": stats,
                  **limits, "BLOCK": BLOCK}  # fmt: skip
    entries.append({
        "kernel": renames["rescale_cast_kernel"],
        "signature": {**signature, "ratio": "fp32", "in_scale": "fp32", "scale": "fp32"},
        "constexprs": constexprs,
        "aligned": ("x_ptr", "out_ptr"),
        "options": options,
    })  # fmt: skip
    return hopper_list(entries)


def hopper_list(entries: list[dict[str, object]]) -> str:
    """``HOPPER = [...]`` as source, one key per line."""
    lines = ["HOPPER = ["]
    for entry in entries:
        lines += ["    {", *(f'        "{k}": {_literal(v)},' for k, v in entry.items()), "    },"]
    return "\n".join([*lines, "]"])


def _literal(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)
