"""Code generator of the ``optimizer`` kernel group (docs/lowering.md, rule 1 and "Code
generation"): the whole of ``@optimizer_step`` but its host ops.

The group is the step count (``%t = nn.add %count, %one``, a 0-d tensor) and, per
parameter, a chain of elementwise ops over tensors of the parameter's shape, e.g.::

    %w2, %m2, %v2 = nn.adamw %w, %g, %m, %v, %lr, %t        (fp32, every builtin recipe)
    %d = nn.sub %w, %w2
    %s = nn.update_stats %w, %w2, %d

or, in the other ``optimizer_precision`` modes (docs/collage.md), ``nn.adamw_delta`` /
``nn.sgd_delta`` in f32 or bf16, ``nn.sub`` / ``nn.neg`` / ``nn.add``, ``nn.cast``,
``nn.grow`` (Collage's MCF weights) and ``nn.fast2sum``.

**One launch per parameter.** Each parameter's chain is one ``@triton.jit`` kernel that
loads its tensors once, computes every op in registers and stores the group's results
(the new parameter and state, for the host's ``nn.set_param`` / ``nn.set_state``) plus
per-program float64 partial sums of ``nn.update_stats``; parameters whose chains are alike
(same ops, types and hyper-parameters, any shape) share the kernel. The parameters are
separate tensors at the boundary (no flat buffer to alias), hence a launch each rather
than the template's single multi-tensor launch.

**Numbers.** The kernels use the bodies of lowering/templates/optimizer.py (copied as
text): the reference's fp32 operations in its order, IEEE division and square root, and
no multiply-add contraction (``enable_fp_fusion=False`` at the launch and in ``HOPPER``),
so the fp32 mode is bit-exact; the bf16 modes round every elementary operation as
runtime/backends/reference/mcf.py does. ``lr`` and ``t`` are read on the host once per
step (one device-to-host sync): the reference computes the bias corrections from them in
float64, as PyTorch does in Python floats. ``update_stats`` sums in float64 in another
order than numpy: equal after rounding to fp32 unless a sum lies within ~1e-16 of an fp32
rounding boundary.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import IRDLOperation

from scalc.dialects import nn
from scalc.lowering.codegen import (
    GenContext,
    NotSupported,
    boundary,
    generator,
    module_header,
    template_function,
)
from scalc.lowering.codegen.abi import TRITON_TYPE, format_of_value
from scalc.lowering.codegen.cast import hopper_list
from scalc.lowering.partition import KernelGroup

BLOCK = 1024
NUM_WARPS = 4

LOW = {"bf16": ("tl.bfloat16", 3.3895313892515355e38), "f16": ("tl.float16", 65504.0)}
"""Formats below fp32 the values are rounded into: Triton type, largest finite value."""

HOST_SCALAR_OPS = {nn.AddOp: "+", nn.SubOp: "-", nn.MulOp: "*"}
"""0-d ops (the step count) done by torch on the device: one fp32 operation, as numpy."""

SCALARS = {
    nn.AdamWOp: ("decay", "step_size", "correction2_sqrt", "beta1", "one_minus_beta1", "beta2",
                 "one_minus_beta2", "eps"),
    nn.AdamWDeltaOp: ("lr_wd", "step_size", "correction2_sqrt", "beta1", "one_minus_beta1",
                      "beta2", "one_minus_beta2", "eps"),
    nn.SgdOp: ("lr", "momentum", "weight_decay"),
    nn.SgdDeltaOp: ("lr", "momentum", "weight_decay"),
}  # fmt: skip
"""The fp32 kernel arguments each optimizer op reads (host-computed from lr, t and its
hyper-parameters)."""

_GENERIC = {"result", "lhs", "rhs", "input"}
_RESERVED = {"pid", "offs", "mask", "n", "BLOCK", "stats_ptr", "tl", "triton"}


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _fields(op: Operation, kind: str) -> list[str]:
    """The names of ``op``'s operand or result definitions (``w``, ``new_w``, ...)."""
    assert isinstance(op, IRDLOperation)
    return [name for name, _ in getattr(op.get_irdl_definition(), kind)]


def _short(op: Operation) -> str:
    return op.name.split(".")[-1]


def _is_scalar(value: SSAValue) -> bool:
    return isinstance(value.type, TensorType) and not value.type.get_shape()


# --- the parameter chains --------------------------------------------------------------


@dataclass
class Chain:
    """The ops of one parameter's update, with the values crossing its kernel."""

    ops: list[Operation]
    inputs: list[SSAValue] = field(default_factory=list)
    """Tensors the kernel loads, in first-use order."""
    scalars: list[SSAValue] = field(default_factory=list)
    """0-d operands (lr, t), read on the host."""
    outputs: list[SSAValue] = field(default_factory=list)
    """Results the group returns (stored, or the stats), in op order."""

    @property
    def update(self) -> Operation | None:
        """The optimizer op (adamw, sgd or a delta), if the chain has one."""
        found = [op for op in self.ops if type(op) in SCALARS]
        return found[0] if found else None


def split(group: KernelGroup) -> tuple[list[Operation], list[Chain]]:
    """(the 0-d host ops, the per-parameter chains) of ``group``: ops joined by the
    non-scalar values between them."""
    _, outputs = boundary(group)
    host = [op for op in group.ops if op.results and all(_is_scalar(r) for r in op.results)]
    for op in host:
        if type(op) not in HOST_SCALAR_OPS:
            raise NotSupported(f"{group.name}: {op.name} on scalars")
    chains = [
        _chain(ops, set(outputs)) for ops in _components([op for op in group.ops if op not in host])
    ]
    for chain in chains:
        if sum(type(op) in SCALARS for op in chain.ops) > 1:
            raise NotSupported(f"{group.name}: two optimizer ops on one parameter")
    return host, chains


def _components(ops: list[Operation]) -> list[list[Operation]]:
    """``ops`` grouped by the tensors (not scalars) between them, in op order."""
    parent = {op: op for op in ops}

    def root(op: Operation) -> Operation:
        while parent[op] is not op:
            op = parent[op]
        return op

    for op in ops:
        for v in op.operands:
            if isinstance(v.owner, Operation) and v.owner in parent and not _is_scalar(v):
                parent[root(v.owner)] = root(op)
    components: dict[Operation, list[Operation]] = {}
    for op in ops:
        components.setdefault(root(op), []).append(op)
    return list(components.values())


def _chain(ops: list[Operation], outputs: set[SSAValue]) -> Chain:
    chain = Chain(ops)
    inside = {r for op in ops for r in op.results}
    for v in (v for op in ops for v in op.operands if v not in inside):
        target = chain.scalars if _is_scalar(v) else chain.inputs
        if v not in target:
            target.append(v)
    chain.outputs = [r for op in ops for r in op.results if r in outputs]
    return chain


def chain_key(chain: Chain) -> str:
    """What a chain's kernel depends on: ops, wiring, types, properties, stored results."""
    local: dict[SSAValue, object] = {
        v: ("in", i, format_of_value(v)) for i, v in enumerate(chain.inputs)
    }
    local.update({v: ("scalar", i) for i, v in enumerate(chain.scalars)})
    parts = []
    for i, op in enumerate(chain.ops):
        props = sorted((k, str(p)) for k, p in op.properties.items())
        parts.append((op.name, [local[v] for v in op.operands],
                      [format_of_value(r) for r in op.results], props))  # fmt: skip
        local.update({r: ("op", i, j) for j, r in enumerate(op.results)})
    return repr((parts, [local[v] for v in chain.outputs]))


# --- kernel bodies: one emitter per op -------------------------------------------------

Emit = Callable[[Operation, list[str], list[str]], str]
"""``emit(op, operand names, result names)`` -> the kernel line(s) computing the op."""


def _flags(op: Operation) -> dict[str, bool]:
    """SGD's constexprs, tested as the reference tests them."""
    momentum, decay = op.momentum.value.data, op.weight_decay.value.data  # type: ignore[attr-defined]
    if isinstance(op, nn.SgdDeltaOp):  # mcf.py compares the f32 values
        momentum, decay = _f32(momentum), _f32(decay)
    return {
        "HAS_WEIGHT_DECAY": decay != 0,
        "HAS_MOMENTUM": momentum != 0,
        "NESTEROV": bool(op.nesterov.value.data),  # type: ignore[attr-defined]
    }


def _bf16(op: Operation) -> bool:
    """Whether an MCF or delta op works in bf16 (else f32); `NotSupported` for f16."""
    fmt = format_of_value(op.operands[0])
    if fmt not in ("f32", "bf16"):
        raise NotSupported(f"{op.name} in {fmt}")
    return fmt == "bf16"


def _call(results: list[str], fn: str, args: list[str], **constexprs: object) -> str:
    keywords = [f"{k}={v}" for k, v in constexprs.items()]
    return wrap_call(f"{', '.join(results)} = {fn}", args + keywords, "    ")


def wrap_call(head: str, args: list[str], indent: str, width: int = 96) -> str:
    """``head(args)`` on one line, or with the arguments filled into lines below it."""
    line = f"{head}({', '.join(args)})"
    if len(indent) + len(line) <= width:
        return line
    rows, row = [], ""
    for arg in args:
        if row and len(indent) + 4 + len(row) + len(arg) + 2 > width:
            rows.append(row.rstrip())
            row = ""
        row += f"{arg}, "
    rows.append(row.rstrip())
    return "\n".join([f"{head}(", *(f"{indent}    {r}" for r in rows), f"{indent})"])


def _adamw(op: Operation, a: list[str], r: list[str]) -> str:
    return _call(r, "adamw_update", a[:4] + list(SCALARS[nn.AdamWOp]))


def _sgd(op: Operation, a: list[str], r: list[str]) -> str:
    return _call(r, "sgd_update", a[:3] + list(SCALARS[nn.SgdOp]), **_flags(op))


def _adamw_delta(op: Operation, a: list[str], r: list[str]) -> str:
    mcf = op.mcf_v is not None  # type: ignore[attr-defined]
    tensors = a[:5] if mcf else [*a[:4], a[3]]  # without MCF v_lo is not read: pass v
    results = r if mcf else [*r, "_"]
    return _call(results, "adamw_delta", tensors + list(SCALARS[nn.AdamWDeltaOp]),
                 BF16=_bf16(op), MCF_V=mcf)  # fmt: skip


def _sgd_delta(op: Operation, a: list[str], r: list[str]) -> str:
    args = a[:3] + list(SCALARS[nn.SgdDeltaOp])
    return _call(r, "sgd_delta", args, **_flags(op), BF16=_bf16(op))


def _elementwise(symbol: str) -> Emit:
    """``nn.add`` / ``nn.sub`` / ``nn.mul`` on tensors: fp32, then (as the reference's
    ``narrow``) rounded into a lower format by a plain conversion."""

    def emit(op: Operation, a: list[str], r: list[str]) -> str:
        expr = f"{a[0]} {symbol} {a[1]}"
        fmt = format_of_value(op.results[0])
        if fmt in LOW:
            expr = f"({expr}).to({LOW[fmt][0]}).to(tl.float32)"
        elif fmt != "f32":
            raise NotSupported(f"{op.name} on {fmt}")
        return f"{r[0]} = {expr}"

    return emit


def _cast(op: Operation, a: list[str], r: list[str]) -> str:
    """``nn.cast``: up to fp32 is exact; down to bf16 rounds and saturates (round_to)."""
    fmt = format_of_value(op.results[0])
    if fmt == "bf16":
        return f"{r[0]} = saturate_to_bf16({a[0]})"
    if fmt != "f32":
        raise NotSupported(f"nn.cast to {fmt}")
    return f"{r[0]} = {a[0]}  # exact"


EMITTERS: dict[type[Operation], Emit] = {
    nn.AdamWOp: _adamw,
    nn.SgdOp: _sgd,
    nn.AdamWDeltaOp: _adamw_delta,
    nn.SgdDeltaOp: _sgd_delta,
    nn.Fast2SumOp: lambda op, a, r: _call(r, "fast2sum", a, BF16=_bf16(op)),
    nn.GrowOp: lambda op, a, r: _call(r, "grow", a, BF16=_bf16(op)),
    nn.AddOp: _elementwise("+"),
    nn.SubOp: _elementwise("-"),
    nn.MulOp: _elementwise("*"),
    nn.NegOp: lambda op, a, r: f"{r[0]} = -{a[0]}",
    nn.CastOp: _cast,
    nn.UpdateStatsOp: lambda op, a, r: (
        f"store_update_stats(stats_ptr + pid * 4, {', '.join(a)}, mask)"
    ),
}


class _KernelNames:
    """Kernel-local names, from the op fields the values fill: a loaded tensor after the
    operand it first feeds (``w``, ``g``), a result after its field (``new_w``, ``delta``);
    a ``result`` after the field of its first use (``old``, ``delta``) or its op (``neg``),
    a cast's after its operand and type (``g_bf16``)."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.of: dict[SSAValue, str] = {}
        self.taken = set(_RESERVED) | {n for op in chain.ops for n in SCALARS.get(type(op), ())}
        for v in chain.inputs:
            self.of[v] = self._fresh(self._use_name(v) or "x")
        for op in chain.ops:
            fields = [n for n in _fields(op, "results") if getattr(op, n, None) is not None]
            for r, field_name in zip(op.results, fields, strict=True):
                if isinstance(op, nn.CastOp):
                    base = f"{self.of[op.operands[0]]}_{format_of_value(r)}"
                elif field_name in _GENERIC:  # a one-letter field (grow's b) says less
                    use = self._use_name(r, through_casts=False)
                    base = use if use and len(use) > 1 else _short(op)
                else:
                    base = field_name
                self.of[r] = self._fresh(base)

    def _use_name(self, value: SSAValue, through_casts: bool = True) -> str | None:
        """The first non-generic field ``value`` fills in the chain (for an input, also
        through a cast)."""
        for user in (op for op in self.chain.ops if value in op.operands):
            if isinstance(user, nn.CastOp):
                name = self._use_name(user.results[0]) if through_casts else None
            else:
                fields = [n for n in _fields(user, "operands") if getattr(user, n, None) is value]
                name = next((n for n in fields if n not in _GENERIC), None)
            if name:
                return name
        return None

    def _fresh(self, base: str) -> str:
        name, i = base, 2
        while name in self.taken:
            name, i = f"{base}_{i}", i + 1
        self.taken.add(name)
        return name


# --- the module ------------------------------------------------------------------------


@dataclass
class _Kernel:
    """One generated kernel and its host function, made for the first of the chains
    that launch it (the others differ only in shape)."""

    name: str
    host: str
    chain: Chain
    names: _KernelNames
    stored: list[SSAValue]
    """The chain's outputs the kernel stores (all but update_stats)."""


@generator("optimizer")
def generate_optimizer(group: KernelGroup, ctx: GenContext) -> str:
    """The module of the optimizer group: a kernel per kind of parameter chain, its host
    function, and ``launch``."""
    host_ops, chains = split(group)
    kernels: dict[str, _Kernel] = {}
    launches: list[tuple[_Kernel, Chain]] = []
    for chain in chains:
        for op in chain.ops:
            if type(op) not in EMITTERS:
                raise NotSupported(f"{group.name}: {op.name} in the optimizer group")
            if type(op) not in SCALARS and any(_is_scalar(v) for v in op.operands):
                raise NotSupported(f"{group.name}: {op.name} of a tensor and a scalar")
        key = chain_key(chain)
        if key not in kernels:
            suffix = "" if not kernels else f"_{len(kernels) + 1}"
            stored = [v for v in chain.outputs if not isinstance(v.owner, nn.UpdateStatsOp)]
            if len(chain.outputs) - len(stored) > 1:
                raise NotSupported(f"{group.name}: two nn.update_stats on one parameter")
            kernels[key] = _Kernel(f"{group.name}_update{suffix}", f"update{suffix}",
                                   chain, _KernelNames(chain), stored)  # fmt: skip
        launches.append((kernels[key], chain))
    body = list(kernels.values())
    kernel_texts = [_kernel_source(ctx, k) for k in body]
    host_texts = [_host_function(k) for k in body]
    host_helpers = _helpers(host_texts, _HOST_HELPERS)
    parts = [
        _header(group, ctx, len(chains), len(body), bool(host_helpers)),
        *[template_function("optimizer", name).rstrip() for name in _helpers(kernel_texts)],
        *kernel_texts,
        *[template_function("optimizer", name).rstrip() for name in host_helpers],
        *host_texts,
        _launch(group, ctx, host_ops, launches),
        hopper_list([_hopper(k) for k in body]),
    ]
    return "\n\n\n".join(parts) + "\n"


_HELPERS = (
    "saturate_to_bf16", "round_to_precision", "add_rounded", "sub_rounded", "mul_rounded",
    "div_rounded", "sqrt_rounded", "fast2sum", "grow", "adamw_update", "sgd_update",
    "adamw_delta", "sgd_delta", "store_update_stats",
)  # fmt: skip
"""The template's ``@triton.jit`` helpers, dependencies first."""
_HOST_HELPERS = ("adamw_scalars", "adamw_delta_scalars")
"""The template's host functions computing an AdamW op's scalars."""
_SCALAR_HELPER = {nn.AdamWOp: "adamw_scalars", nn.AdamWDeltaOp: "adamw_delta_scalars"}


def _helpers(texts: list[str], names: tuple[str, ...] = _HELPERS) -> list[str]:
    """The template functions among ``names`` that ``texts`` call, with those they call,
    in the order of ``names``."""
    needed: set[str] = set()
    frontier = list(texts)
    while frontier:
        source = frontier.pop()
        for name in names:
            if name not in needed and re.search(rf"\b{name}\(", source):
                needed.add(name)
                frontier.append(template_function("optimizer", name))
    return [name for name in names if name in needed]


def _header(group: KernelGroup, ctx: GenContext, params: int, kernels: int, math: bool) -> str:
    lines = [
        *module_header(
            "optimizer",
            group,
            ctx,
            ops_title=f"{params} parameters, one launch each, {kernels} kernel(s). IR ops:",
            imports=("math", "torch") if math else ("torch",),
        ),
        "",
        f"BLOCK = {BLOCK}",
        f"NUM_WARPS = {NUM_WARPS}",
    ]
    return "\n".join(lines)


def _kernel_source(ctx: GenContext, k: _Kernel) -> str:
    names, chain = k.names.of, k.chain
    update = chain.update
    scalars = list(SCALARS[type(update)]) if update else []
    pointers = [f"{names[v]}_ptr" for v in chain.inputs] + [f"{names[v]}_ptr" for v in k.stored]
    has_stats = len(k.stored) < len(chain.outputs)
    params = (
        pointers + (["stats_ptr"] if has_stats else []) + ["n", *scalars, "BLOCK: tl.constexpr"]
    )
    lines = [f"# Implements, for one parameter (e.g. {_parameter(ctx, chain)}):"]
    lines += [f"#   {ctx.describe(op)}" for op in chain.ops]
    lines += ["@triton.jit", f"def {k.name}("]
    lines += [f"    {p}," for p in params]
    lines += [
        "):",
        "    pid = tl.program_id(0)",
        "    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)",
        "    mask = offs < n",
    ]
    for v in chain.inputs:
        name = names[v]
        lines.append(
            f"    {name} = tl.load({name}_ptr + offs, mask=mask, other=0.0).to(tl.float32)"
        )
    for op in chain.ops:
        args = [names[v] for v in op.operands if not _is_scalar(v)]
        results = [names[r] for r in op.results]
        lines.append("    " + EMITTERS[type(op)](op, args, results))
    for v in k.stored:
        name = names[v]
        lines.append(
            f"    tl.store({name}_ptr + offs, {name}.to({name}_ptr.dtype.element_ty), mask=mask)"
        )
    return "\n".join(lines)


def _host_function(k: _Kernel) -> str:
    names, chain = k.names.of, k.chain
    update = chain.update
    inputs = [names[v] for v in chain.inputs]
    scalar_params = [f"{_short_scalar(update, v)}" for v in chain.scalars] if update else []
    params = (["op"] if update else []) + scalar_params + inputs
    first = inputs[0]
    lines = [
        f"def {k.host}({', '.join(params)}):",
        (
            f'    """{k.name} on one parameter: ({", ".join(names[v] for v in chain.outputs)}) '
            f'from ({", ".join(inputs)})."""'
        ),
        f"    device = {first}.data.device",
        f"    data = [x.data.contiguous() for x in {_tuple(inputs)}]",
        "    n = data[0].numel()",
        "    grid = (max(triton.cdiv(n, BLOCK), 1),)",
    ]
    for v in k.stored:
        lines.append(f'    {names[v]} = abi.empty({first}.shape, "{format_of_value(v)}", device)')
    args = ["*data", *(names[v] for v in k.stored)]
    if len(k.stored) < len(chain.outputs):
        lines.append("    stats = torch.empty((grid[0], 4), dtype=torch.float64, device=device)")
        args.append("stats")
    args.append("n")
    if isinstance(update, nn.AdamWOp | nn.AdamWDeltaOp):
        hyper = [f"op.{h}.value.data" for h in ("beta1", "beta2", "eps", "weight_decay")]
        call = wrap_call(f"scalars = {_SCALAR_HELPER[type(update)]}", ["lr", "t", *hyper], "    ")
        lines.append(f"    {call}")
        args.append("*scalars")
    elif update is not None:
        args += ["lr", "op.momentum.value.data", "op.weight_decay.value.data"]
    lines.append(f"    {k.name}[grid](")
    lines += [f"        {a}," for a in args]
    lines += [
        "        BLOCK=BLOCK,",
        "        num_warps=NUM_WARPS,",
        "        enable_fp_fusion=False,  # no fma: the reference rounds every product",
        "    )",
    ]
    results = [
        "abi.KernelValue(stats.sum(0).to(torch.float32))"
        if isinstance(v.owner, nn.UpdateStatsOp) else f"abi.KernelValue({names[v]})"
        for v in chain.outputs
    ]  # fmt: skip
    lines.append(
        "    return " + wrap_call("", results, "    ") + ("," if len(results) == 1 else "")
    )
    return "\n".join(lines)


def _parameter(ctx: GenContext, chain: Chain) -> str:
    """The label of the parameter a chain updates (``%w1``)."""
    params = [v for v in chain.inputs if isinstance(v.owner, nn.GetParamOp)]
    return ctx.label((params or chain.inputs)[0])


def _tuple(items: list[str]) -> str:
    return f"({', '.join(items)}{',' if len(items) == 1 else ''})"


def _short_scalar(update: Operation, value: SSAValue) -> str:
    """``lr`` / ``t``: the optimizer op's operand field the scalar fills."""
    for name in _fields(update, "operands"):
        if getattr(update, name, None) is value:
            return name
    raise NotSupported(f"{update.name}: a scalar operand it does not read")


def _launch(
    group: KernelGroup,
    ctx: GenContext,
    host_ops: list[Operation],
    launches: list[tuple[_Kernel, Chain]],
) -> str:
    inputs, outputs = boundary(group)
    position = {v: i for i, v in enumerate(inputs)}
    ops_index = {op: i for i, op in enumerate(group.ops)}
    device: dict[SSAValue, str] = {v: f"args[{i}].data" for v, i in position.items()}
    lines = [
        "def launch(ops, sizes, *args):",
        f'    """{group.name}: {len(launches)} parameter updates; args as KernelSource.inputs."""',
    ]
    returned: dict[SSAValue, str] = {}
    for op in host_ops:
        name = _python_name(ctx.label(op.results[0]))
        a, b = (device[v] for v in op.operands)
        lines.append(f"    # {ctx.describe(op)}")
        lines.append(f"    {name} = ({a} {HOST_SCALAR_OPS[type(op)]} {b}).reshape(())")
        device[op.results[0]] = name
        returned[op.results[0]] = f"abi.KernelValue({name})"
    scalars = list(dict.fromkeys(v for _, chain in launches for v in chain.scalars))
    floats = {v: f"{_python_name(ctx.label(v))}_value" for v in scalars}
    if scalars:
        lines.append(
            "    # lr and t on the host for the reference's float64 scalar math: one sync."
        )
        stacked = ", ".join(
            f"{device[v]}.reshape(())" if v in position else device[v] for v in scalars
        )
        targets = ", ".join(floats[v] for v in scalars)
        lines.append(
            f"    {targets}{',' if len(scalars) == 1 else ''} = torch.stack([{stacked}]).tolist()"
        )
    for i, (k, chain) in enumerate(launches):
        args = [f"ops[{ops_index[chain.update]}]"] if chain.update else []
        args += [floats[v] for v in chain.scalars]
        args += [f"args[{position[v]}]" for v in chain.inputs]
        lines.append(f"    p{i} = {k.host}({', '.join(args)})  # {_parameter(ctx, chain)}")
        for j, v in enumerate(chain.outputs):
            returned[v] = f"p{i}[{j}]"
    lines.append(f"    return ({_return_list([returned[v] for v in outputs])})")
    return "\n".join(lines)


def _return_list(items: list[str]) -> str:
    """``a, *p0, *p1`` where a launch's results come whole and in order, else ``p0[1]``."""
    out: list[str] = []
    i = 0
    while i < len(items):
        match = re.fullmatch(r"(p\d+)\[0\]", items[i])
        if match:
            run = 1
            while i + run < len(items) and items[i + run] == f"{match.group(1)}[{run}]":
                run += 1
            total = sum(1 for item in items if item.startswith(f"{match.group(1)}["))
            if run == total:
                out.append(f"*{match.group(1)}")
                i += run
                continue
        out.append(items[i])
        i += 1
    return ", ".join(out) + ("," if len(out) == 1 else "")


def _python_name(label: str) -> str:
    name = re.sub(r"\W", "_", label.lstrip("%"))
    return name if name and not name[0].isdigit() else f"v{name}"


def _hopper(k: _Kernel) -> dict[str, object]:
    names, chain = k.names.of, k.chain
    signature = {f"{names[v]}_ptr": f"*{TRITON_TYPE[format_of_value(v)]}" for v in chain.inputs}
    signature |= {f"{names[v]}_ptr": f"*{TRITON_TYPE[format_of_value(v)]}" for v in k.stored}
    if len(k.stored) < len(chain.outputs):
        signature["stats_ptr"] = "*fp64"
    signature["n"] = "i32"
    if chain.update is not None:
        signature |= {s: "fp32" for s in SCALARS[type(chain.update)]}
    return {
        "kernel": k.name,
        "signature": signature,
        "constexprs": {"BLOCK": BLOCK},
        "aligned": tuple(p for p in signature if p.endswith("_ptr")),
        "options": {"num_warps": NUM_WARPS, "enable_fp_fusion": False},
    }
