"""Triton code generation for ``elementwise`` kernel groups (docs/lowering.md, "Code generation").

An elementwise group (lowering/partition.py, `rule_elementwise`) is a tree of elementwise
ops and broadcasts in which only the root's result leaves the group. Its kernel runs in
the **root's index space**: each program takes ``BLOCK`` flat offsets of the root, turns
them into N-d coordinates with the root's run-time shape (static sizes are literals,
symbolic ones kernel arguments ``size_B``), and evaluates the tree at those coordinates,
reading every leaf through the index map of the path that leads to it:

| op (`INDEX_MAPS`) | value at coordinates ``i`` |
|---|---|
| pointwise (`EXPRESSIONS`) | the op's fp32 expression of its operands at ``i`` |
| ``broadcast`` | the operand at ``i`` without the leading axes, 0 on its size-1 axes |
| ``index_grad`` | ``dy`` at ``i`` without ``axis`` where ``i[axis] == index``, else 0 |
| ``slice_grad`` | ``dy`` at ``i[axis] - start`` where ``start <= i[axis] < start + len``, else 0 |
| ``mean_grad`` | ``dy`` broadcast to ``i``, divided by the reduced count |
| ``max_grad`` | ``dy / ties`` where ``x[i]`` is its group's maximum (a loop over it), else 0 |

Leaves read through the identity map are made contiguous in ``launch`` and read at the
flat offsets; the others are read through their strides (0 along size-1 axes, which is
what broadcasting reads), so views cost no copy. A leaf's value is
``data.to(fp32) * scale``; intermediates stay fp32 in registers; the root is stored as
``(value * inv_scale).to(<storage type>)``, its scale from `abi.result_scales` applied to
every op in group order (the reference's rules on the same scales and shapes). ``nn``
groups (the fp32 recipe) have no scales. Division and square root are the IEEE ones
(``tl.div_rn``, ``tl.sqrt_rn``) and kernels compile without FMA contraction
(``enable_fp_fusion=False``), so a single op does the reference's fp32 arithmetic; a fused
chain skips the reference's rounding of each intermediate into its storage format. On
the GPU ``tl.exp``, ``tl.log`` and ``tl.math.erf`` are the fast approximations (a few
ulps; the interpreter uses NumPy's, the reference's). Stores convert with RNE; fp8 stores
saturate (``cvt.rn.satfinite``) as ``round_to`` does, bf16 stores do not (a finite value
beyond bf16's range becomes inf where ``round_to`` gives ±max: a scale rule 2^127 off;
the other templates do the same). ``max_grad`` reads its operand's whole reduced group
for every element (two passes), which is fine for the short groups (a row) it gets.
Offsets are int32: ``launch`` refuses tensors of 2^31 elements or more.
"""

from __future__ import annotations

import math
import pprint
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue

from scalc.dialects import nn, scaled
from scalc.dialects.nn.dims import Dim, product
from scalc.dialects.scaled.types import ScaledTensorType
from scalc.lowering.codegen import GenContext, NotSupported, boundary, generator, module_header
from scalc.lowering.codegen.abi import TRITON_TYPE, format_of_value
from scalc.lowering.partition import KernelGroup
from scalc.lowering.shapes import dims_expr

__all__ = ["BLOCK", "EXPRESSIONS", "INDEX_MAPS", "NUM_WARPS", "TL_TYPE", "generate_elementwise"]

BLOCK = 1024
"""Root elements per program (a power of two; the last program is masked)."""
NUM_WARPS = 4

_SQRT_HALF = repr(math.sqrt(0.5))
_INV_SQRT_2PI = repr(1.0 / math.sqrt(2.0 * math.pi))
# Phi(x) = (1 + erf(x / sqrt 2)) / 2. The reference writes erfc(-x / sqrt 2) / 2, which
# Triton's interpreter lacks: for x < 0 the sum cancels, leaving the roundings of erf and
# of the sum, at most 0.75 * 2^-24 absolute in Phi, so 0.75 * 2^-24 |x| in gelu: a few
# fp32 ulps of the output's typical size, far below a bf16 rounding.
_PHI = f"0.5 * (1.0 + tl.math.erf({{0}} * {_SQRT_HALF}))"
# tanh: its Taylor series near 0 (truncation below 2^-29 relative for |x| < 0.125), else
# sign(x) (1 - e) / (1 + e), e = exp(-2|x|) <= 0.78: 1 - e amplifies exp's last-ulp error
# at most 4.5x (1 - e stays >= 0.22), where 2 sigmoid(2x) - 1 would lose all near 0.
_TANH = (
    "tl.where(tl.abs({0}) < 0.125,"
    " {0} + {0} * {0} * {0} * (-1.0 / 3.0 + {0} * {0} * (2.0 / 15.0 - {0} * {0} * (17.0 / 315.0))),"
    " tl.where({0} < 0.0, -1.0, 1.0)"
    " * tl.div_rn(1.0 - tl.exp(-2.0 * tl.abs({0})), 1.0 + tl.exp(-2.0 * tl.abs({0}))))"
)

_SCALED_EXPRESSIONS: dict[type[Operation], str] = {
    scaled.AddOp: "{0} + {1}",
    scaled.SubOp: "{0} - {1}",
    scaled.MulOp: "{0} * {1}",
    scaled.DivOp: "tl.div_rn({0}, {1})",
    scaled.NegOp: "-{0}",
    scaled.ReluOp: "tl.maximum({0}, 0.0, propagate_nan=tl.PropagateNan.ALL)",
    scaled.GeluOp: f"{{0}} * ({_PHI})",
    scaled.TanhOp: _TANH,
    scaled.SigmoidOp: "tl.div_rn(1.0, 1.0 + tl.exp(-{0}))",
    scaled.ExpOp: "tl.exp({0})",
    scaled.LogOp: "tl.log({0})",
    scaled.SqrtOp: "tl.sqrt_rn({0})",
    # The gradients, operands (value, dy) in the reference's order of operations.
    scaled.ReluGradOp: "tl.where({0} > 0.0, {1}, 0.0)",
    scaled.GeluGradOp: (
        f"{{1}} * ({_PHI} + {{0}} * (tl.exp(-0.5 * {{0}} * {{0}}) * {_INV_SQRT_2PI}))"
    ),
    scaled.TanhGradOp: "{1} * (1.0 - {0} * {0})",
    scaled.SigmoidGradOp: "{1} * {0} * (1.0 - {0})",
    scaled.SqrtGradOp: "tl.div_rn({1}, 2.0 * {0})",
}

EXPRESSIONS: dict[type[Operation], str] = {
    **_SCALED_EXPRESSIONS,
    **{n: e for n, m in scaled.MIRROR.items() if (e := _SCALED_EXPRESSIONS.get(m)) is not None},
    # The conversion is the store's: RNE into the result type (fp8 saturating).
    nn.CastOp: "{0}",
}
"""Pointwise op class (``scaled`` and its ``nn`` mirror) -> its fp32 Triton expression of
the operands' values ``{0}``, ``{1}`` (operand order). Operands are variable names; the
expression is meant for the right-hand side of an assignment (the gemm epilogue reuses it)."""

TL_TYPE = {
    "f32": "tl.float32",
    "bf16": "tl.bfloat16",
    "f16": "tl.float16",
    "f8E4M3FN": "tl.float8e4nv",
    "f8E5M2": "tl.float8e5",
}
"""Storage element type -> the Triton type a store converts to (RNE; fp8 saturating)."""

Index = tuple[str, ...]
"""Coordinates of an element, as Triton expressions (``i2``, ``j0``; ``0`` for a size-1 axis)."""


@dataclass
class _Leaf:
    value: SSAValue
    ident: str
    fmt: str
    scaled: bool
    flat: bool  # read only through the identity map: contiguous in launch, at ``offs``
    rank: int


@dataclass
class _Kernel:
    """The body of one elementwise kernel, written while evaluating the tree from the root."""

    group: KernelGroup
    ctx: GenContext
    leaves: dict[SSAValue, _Leaf]
    lines: list[str] = field(default_factory=list)
    depth: int = 1
    scopes: list[dict[tuple[SSAValue, Index, str], str]] = field(default_factory=lambda: [{}])
    taken: set[str] = field(default_factory=set)
    symbols: set[str] = field(default_factory=set)
    names: dict[SSAValue, str] = field(default_factory=dict)
    """Canonical names of the group's values inside the kernel (no SSA ids: the kernel's
    text depends only on what it computes): the leaves' ``in<i>``, then ``t<j>``."""

    def name_of(self, v: SSAValue) -> str:
        if v in self.leaves:
            return self.leaves[v].ident
        if v not in self.names:
            self.names[v] = f"t{len(self.names)}"
        return self.names[v]

    def describe(self, op: Operation) -> str:
        """``t1 = scaled.add in0, t0 : !scaled.tensor<?x?x32xbf16>`` for a kernel comment."""
        args = ", ".join(self.name_of(v) for v in op.operands)
        res = ", ".join(self.name_of(r) for r in op.results)
        return f"{res} = {op.name} {args} : {op.results[0].type}"

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def fresh(self, base: str) -> str:
        name, n = base, 1
        while name in self.taken:
            name, n = f"{base}_{n}", n + 1
        self.taken.add(name)
        return name

    def size(self, dim: Dim) -> str:
        """The Triton expression of a size (parenthesised when it is a product)."""
        if dim.is_static:
            return str(dim.value)
        self.symbols.update(dim.symbols)
        factors = ([str(dim.coeff)] if dim.coeff != 1 else []) + [f"size_{s}" for s in dim.symbols]
        return factors[0] if len(factors) == 1 else "(" + " * ".join(factors) + ")"

    def dims(self, v: SSAValue) -> tuple[Dim, ...]:
        return self.ctx.dims[v]

    def value(self, v: SSAValue, index: Index, guard: str) -> str:
        """The variable holding the fp32 value of ``v`` at ``index``; loads under ``guard``."""
        key = (v, index, guard)
        for scope in reversed(self.scopes):
            if key in scope:
                return scope[key]
        op = v.owner if isinstance(v.owner, Operation) and v.owner in self.group.ops else None
        if op is None:
            name = self.load(self.leaves[v], index, guard)
        elif type(op) in EXPRESSIONS:
            args = [self.value(o, index, guard) for o in op.operands]
            self.emit(f"# {self.describe(op)}")
            name = self.assign(v, EXPRESSIONS[type(op)].format(*args))
        elif type(op) in INDEX_MAPS:
            name = INDEX_MAPS[type(op)](self, op, index, guard)
        else:
            raise NotSupported(f"{self.group.name}: {op.name} is not an elementwise op")
        self.scopes[-1][key] = name
        return name

    def assign(self, v: SSAValue, expr: str) -> str:
        name = self.fresh(f"v_{self.name_of(v)}")
        self.emit(f"{name} = {expr}")
        return name

    def load(self, leaf: _Leaf, index: Index, guard: str) -> str:
        if leaf.flat:
            pointer, mask = f"ptr_{leaf.ident} + offs", guard
        else:
            terms = [f"{c} * stride_{leaf.ident}_{d}" for d, c in enumerate(index) if c != "0"]
            pointer = f"ptr_{leaf.ident}"
            mask = guard if terms else ""  # every coordinate 0: one element, always there
            if terms:
                pointer = self.fresh(f"at_{leaf.ident}")
                self.emit(f"{pointer} = {' + '.join([f'ptr_{leaf.ident}', *terms])}")
        expr = f"tl.load({pointer}, mask={mask}, other=0.0)" if mask else f"tl.load({pointer})"
        if leaf.fmt != "f32":
            expr += ".to(tl.float32)"
        if leaf.scaled:
            expr += f" * scale_{leaf.ident}"
        return self.assign(leaf.value, expr)

    def broadcast_index(self, x: SSAValue, index: Index) -> Index:
        """``index`` of a result read in operand ``x`` that NumPy broadcasting stretches to
        it: right-aligned, leading axes dropped, size-1 axes at 0."""
        dims = self.dims(x)
        lead = len(index) - len(dims)
        return tuple("0" if d == Dim(1) else index[lead + a] for a, d in enumerate(dims))

    def zeros(self, v: SSAValue) -> str:
        return self.assign(v, "tl.zeros([BLOCK], tl.float32)")


IndexMap = Callable[[_Kernel, Operation, Index, str], str]
INDEX_MAPS: dict[type[Operation], IndexMap] = {}
"""Op class (``scaled`` and ``nn``) -> how its value at an index reads its operands: the
broadcast and the reshaping gradients (partition.RESHAPING_GRADS)."""


def _index_map(*classes: type[Operation]) -> Callable[[IndexMap], IndexMap]:
    def register(fn: IndexMap) -> IndexMap:
        for cls in classes:
            INDEX_MAPS[cls] = fn
        return fn

    return register


def _prop(op: Operation, name: str) -> int:
    return op.properties[name].value.data  # type: ignore[attr-defined,no-any-return]


def _axes(op: Operation) -> tuple[int, ...]:
    return tuple(op.properties["axes"].get_values())  # type: ignore[attr-defined]


@_index_map(scaled.BroadcastOp, nn.BroadcastOp)
def _broadcast(k: _Kernel, op: Operation, index: Index, guard: str) -> str:
    (x,) = op.operands
    sub = k.broadcast_index(x, index)
    k.emit(f"# {k.describe(op)}")
    k.emit(f"#   {k.name_of(x)} at [{', '.join(sub)}]")
    return k.value(x, sub, guard)


@_index_map(scaled.IndexGradOp, nn.IndexGradOp)
def _index_grad(k: _Kernel, op: Operation, index: Index, guard: str) -> str:
    (dy,) = op.operands
    axis, at = _prop(op, "axis"), _prop(op, "index")
    sub = index[:axis] + index[axis + 1 :]
    if index[axis] == "0":  # a size-1 axis: the condition is known now
        return k.value(dy, sub, guard) if at == 0 else k.zeros(op.results[0])
    keep = k.fresh("keep")
    k.emit(f"# {k.describe(op)}")
    k.emit(f"#   {k.name_of(dy)} where i{axis} == {at}, else 0")
    k.emit(f"{keep} = {index[axis]} == {at}")
    inner = k.value(dy, sub, f"{guard} & {keep}")
    return k.assign(op.results[0], f"tl.where({keep}, {inner}, 0.0)")


@_index_map(scaled.SliceGradOp, nn.SliceGradOp)
def _slice_grad(k: _Kernel, op: Operation, index: Index, guard: str) -> str:
    (dy,) = op.operands
    axis, start = _prop(op, "axis"), _prop(op, "start")
    coord, length = index[axis], k.size(k.dims(dy)[axis])
    if coord == "0":
        raise NotSupported(f"{k.group.name}: {op.name} along a broadcast size-1 axis")
    stop = str(start + int(length)) if length.isdigit() else f"{start} + {length}"
    k.emit(f"# {k.describe(op)}")
    k.emit(f"#   {k.name_of(dy)} at {start} <= i{axis} < {stop}, else 0")
    keep, shifted = k.fresh("keep"), k.fresh(f"j{axis}")
    if start == 0:
        k.emit(f"{keep} = {coord} < {stop}")
        shifted = coord
    else:
        k.emit(f"{keep} = ({coord} >= {start}) & ({coord} < {stop})")
        k.emit(f"{shifted} = {coord} - {start}")
    inner = k.value(dy, index[:axis] + (shifted,) + index[axis + 1 :], f"{guard} & {keep}")
    return k.assign(op.results[0], f"tl.where({keep}, {inner}, 0.0)")


@_index_map(scaled.MeanGradOp, nn.MeanGradOp)
def _mean_grad(k: _Kernel, op: Operation, index: Index, guard: str) -> str:
    (dy,) = op.operands
    dims = k.dims(op.results[0])
    count = product([dims[a] for a in _axes(op)])
    # tl.cast, not .to: a size of 1 reaches the kernel as a constexpr (Triton specialises it).
    divisor = f"tl.cast({k.size(count)}, tl.float32)"
    if count.is_static:
        divisor = repr(float(count.value))
    k.emit(f"# {k.describe(op)}")
    k.emit(f"#   {k.name_of(dy)} broadcast, over the count of reduced elements")
    inner = k.value(dy, k.broadcast_index(dy, index), guard)
    return k.assign(op.results[0], f"tl.div_rn({inner}, {divisor})")


@_index_map(scaled.MaxGradOp, nn.MaxGradOp)
def _max_grad(k: _Kernel, op: Operation, index: Index, guard: str) -> str:
    x, dy = op.operands
    axes, dims = _axes(op), k.dims(x)
    count = product([dims[a] for a in axes])
    top, ties = k.fresh("top"), k.fresh("ties")
    k.emit(f"# {k.describe(op)}")
    k.emit(f"#   {k.name_of(dy)} split equally among the maxima of {k.name_of(x)}'s group")
    k.emit(f"{top} = tl.full([BLOCK], float('-inf'), tl.float32)")
    k.emit(f"{ties} = tl.zeros([BLOCK], tl.float32)")
    # Two passes over the group, as the reference: its maximum (NaN if it holds one), then
    # how many elements equal it.
    for update in (
        f"{top} = tl.maximum({top}, {{}}, propagate_nan=tl.PropagateNan.ALL)",
        f"{ties} += tl.where({{}} == {top}, 1.0, 0.0)",
    ):
        step = k.fresh("step")
        k.emit(f"for {step} in range(0, {k.size(count)}):")
        k.depth += 1
        k.scopes.append({})
        group, rest = list(index), step
        for a in reversed(axes):  # the group's coordinates from the step, innermost first
            if a == axes[0]:
                group[a] = rest
                continue
            coord = group[a] = k.fresh(f"j{a}")
            size, outer = k.size(dims[a]), k.fresh(f"{step}_outer")
            k.emit(f"{coord} = {rest} % {size}")
            k.emit(f"{outer} = {rest} // {size}")
            rest = outer
        k.emit(update.format(k.value(x, tuple(group), guard)))
        k.scopes.pop()
        k.depth -= 1
    here = k.value(x, index, guard)
    grad = k.value(dy, k.broadcast_index(dy, index), guard)
    return k.assign(op.results[0], f"tl.where({here} == {top}, tl.div_rn({grad}, {ties}), 0.0)")


def _ident(label: str) -> str:
    """A Python identifier from an SSA label: ``%x_1`` -> ``x_1``, ``%80`` -> ``80``
    (always used behind a prefix such as ``v_``)."""
    return re.sub(r"\W", "_", label.lstrip("%")) or "value"


def _is_scaled(v: SSAValue) -> bool:
    return isinstance(v.type, ScaledTensorType)


def _check(group: KernelGroup, ctx: GenContext) -> SSAValue:
    """The group's root (its only output); refuses what the kernel cannot compute."""
    for op in group.ops:
        if type(op) not in EXPRESSIONS and type(op) not in INDEX_MAPS:
            raise NotSupported(f"{group.name}: {op.name} is not an elementwise op")
        for v in (*op.operands, *op.results):
            if not isinstance(v.type, ScaledTensorType | TensorType) or v not in ctx.dims:
                raise NotSupported(f"{group.name}: {op.name} has an operand without known dims")
            if format_of_value(v) not in TL_TYPE:
                raise NotSupported(f"{group.name}: {op.name} has a {format_of_value(v)} operand")
    _, outputs = boundary(group)
    if len(outputs) != 1 or outputs[0] is not group.ops[-1].results[0]:
        raise NotSupported(f"{group.name}: an elementwise group has one output, its root")
    return outputs[0]


def _leaves(group: KernelGroup, ctx: GenContext, root: SSAValue) -> dict[SSAValue, _Leaf]:
    """Every input of the group, flat when each path from the root to it is pointwise."""
    inputs, _ = boundary(group)
    ops = set(group.ops)
    bent: set[SSAValue] = set()  # reached through an index map

    def walk(v: SSAValue, direct: bool) -> None:
        op = v.owner
        if not (isinstance(op, Operation) and op in ops):
            if not direct or ctx.dims[v] != ctx.dims[root]:
                bent.add(v)
            return
        for operand in op.operands:
            walk(operand, direct and type(op) in EXPRESSIONS)

    walk(root, True)
    idents = [f"in{i}" for i in range(len(inputs))]  # canonical: by position, no SSA ids
    return {
        v: _Leaf(v, name, format_of_value(v), _is_scaled(v), v not in bent, len(ctx.dims[v]))
        for v, name in zip(inputs, idents, strict=True)
    }


def _coordinates(k: _Kernel, root_dims: tuple[Dim, ...]) -> list[str]:
    """The lines turning ``offs`` into the root's coordinates ``i0 ...``, only as far as
    the body uses them (the outermost axis needs no modulo)."""
    body = "\n".join(k.lines)
    used = [d for d in range(len(root_dims)) if re.search(rf"\bi{d}\b", body)]
    if not used:
        return []
    lines, source = [], "offs"
    for d in range(len(root_dims) - 1, min(used) - 1, -1):
        if d == 0:
            lines.append(f"i0 = {source}")
            break
        size = k.size(root_dims[d])
        if d in used:
            lines.append(f"i{d} = {source} % {size}")
        if d > min(used):
            lines.append(f"rest = {source} // {size}")
            source = "rest"
    return ["    " + line for line in lines]


@generator("elementwise")
def generate_elementwise(group: KernelGroup, ctx: GenContext) -> str:
    """The module of one elementwise group: a kernel in the root's index space and its
    ``launch`` (module docstring)."""
    root = _check(group, ctx)
    leaves = _leaves(group, ctx, root)
    root_dims = ctx.dims[root]
    k = _Kernel(group, ctx, leaves)
    k.taken.update({"offs", "mask", "rest", "pid", "n", "BLOCK", *(f"i{d}" for d in range(9))})
    result = k.value(root, tuple(f"i{d}" for d in range(len(root_dims))), "mask")
    stored = f"{result} * inv_scale_out" if _is_scaled(root) else result
    if format_of_value(root) != "f32":
        stored = f"({stored}).to({TL_TYPE[format_of_value(root)]})"
    coordinates = _coordinates(k, root_dims)  # after the body: only what it uses
    signature = _signature(ctx, leaves, root, sorted(k.symbols))
    hopper = {
        "kernel": group.name,
        "signature": {name: t for params, _ in signature for name, t in params},
        "constexprs": {"BLOCK": BLOCK},
        "aligned": tuple(name for params, _ in signature for name, t in params if t[0] == "*"),
        "options": {"num_warps": NUM_WARPS, "enable_fp_fusion": False},
    }
    return "\n".join([
        *module_header("elementwise", group, ctx, imports=()),
        "",
        f"BLOCK = {BLOCK}",
        f"NUM_WARPS = {NUM_WARPS}",
        "",
        "",
        (
            f"# Implements the IR ops above in the index space of their root {ctx.label(root)}"
            f" {_shape_text(root_dims)}."
        ),
        "# Inside the kernel: "
        + ", ".join(f"{leaf.ident} = {ctx.label(v)}" for v, leaf in leaves.items())
        + f"; out = {ctx.label(root)}"
        + "".join(f", {name} = {ctx.label(v)}" for v, name in k.names.items())
        + ".",
        "@triton.jit",
        f"def {group.name}(",
        *(f"    {', '.join(n for n, _ in params)},{comment}" for params, comment in signature),
        "    BLOCK: tl.constexpr,",
        "):",
        "    pid = tl.program_id(0)",
        "    offs = pid * BLOCK + tl.arange(0, BLOCK)",
        "    mask = offs < n",
        *coordinates,
        *k.lines,
        f"    tl.store(ptr_out + offs, {stored}, mask=mask)",
        "",
        "",
        *_launch(group, ctx, leaves, root, sorted(k.symbols)),
        "",
        "",
        "HOPPER = [",
        textwrap.indent(pprint.pformat(hopper, width=96, sort_dicts=False), "    ") + ",",
        "]",
    ]) + "\n"  # fmt: skip


def _shape_text(dims: tuple[Dim, ...]) -> str:
    return "[" + ", ".join(str(d) for d in dims) + "]"


def _signature(
    ctx: GenContext, leaves: dict[SSAValue, _Leaf], root: SSAValue, symbols: list[str]
) -> list[tuple[list[tuple[str, str]], str]]:
    """The kernel's parameters (constexprs aside) with their Triton types, one line each
    for a leaf, the output and the sizes, with a comment naming the value."""
    lines = []
    for v, leaf in leaves.items():
        params = [(f"ptr_{leaf.ident}", f"*{TRITON_TYPE[leaf.fmt]}")]
        if not leaf.flat:
            params += [(f"stride_{leaf.ident}_{d}", "i32") for d in range(leaf.rank)]
        if leaf.scaled:
            params.append((f"scale_{leaf.ident}", "fp32"))
        lines.append((params, v))
    out = [("ptr_out", f"*{TRITON_TYPE[format_of_value(root)]}")]
    lines.append((out + ([("inv_scale_out", "fp32")] if _is_scaled(root) else []), root))
    names = {v: leaf.ident for v, leaf in leaves.items()} | {root: "out"}
    described = [
        (params, f"  # {names[v]}: {_shape_text(ctx.dims[v])} {format_of_value(v)}")
        for params, v in lines
    ]
    return [*described, ([(f"size_{s}", "i32") for s in symbols] + [("n", "i32")], "")]


def _tuple(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _launch(
    group: KernelGroup,
    ctx: GenContext,
    leaves: dict[SSAValue, _Leaf],
    root: SSAValue,
    symbols: list[str],
) -> list[str]:
    """``launch``: every result's scale by its op's rule, in group order, then one launch."""
    args = {v: f"x_{leaf.ident}" for v, leaf in leaves.items()}
    lines = []
    if any(not leaf.flat and leaf.rank for leaf in leaves.values()):
        lines += [
            "def broadcast_strides(x):",
            '    """The element strides of ``x.data``, 0 along size-1 axes (broadcast there)."""',
            "    return [0 if size == 1 else step for size, step in zip(x.shape, x.data.stride())]",
            "",
            "",
        ]
    lines += [
        f"def launch(ops, sizes, {', '.join(args.values())}):",
        f'    """{ctx.label(root)} from {", ".join(map(ctx.label, leaves))}: abi.KernelValues."""',
        f"    shape = {dims_expr(ctx.dims[root])}",
    ]  # fmt: skip
    shape_of = {v: f"{a}.shape" for v, a in args.items()}
    scale_of = {v: f"{a}.scale" for v, a in args.items()}
    for i, op in enumerate(group.ops):
        (r,) = op.results
        shape_of[r] = "shape" if ctx.dims[r] == ctx.dims[root] else dims_expr(ctx.dims[r])
        if _is_scaled(r):
            scale_of[r] = f"scale_{_ident(ctx.label(r))}"
            scales = _tuple([scale_of[o] for o in op.operands])
            shapes = _tuple([shape_of[o] for o in op.operands])
            lines.append(f"    ({scale_of[r]},) = abi.result_scales(ops[{i}], {scales}, {shapes})")
    first = next(iter(args.values()))
    lines += [
        f'    out = abi.empty(shape, "{format_of_value(root)}", {first}.data.device)',
        "    n = out.numel()",
        '    assert n < 2**31, "int32 offsets"',
        "    if n:",
        f"        {group.name}[(triton.cdiv(n, BLOCK),)](",
    ]  # fmt: skip
    for v, leaf in leaves.items():
        a = args[v]
        parts = [f"{a}.data.contiguous()" if leaf.flat else f"{a}.data"]
        parts += [f"*broadcast_strides({a})"] if not leaf.flat and leaf.rank else []
        parts += [f"{a}.scale"] if leaf.scaled else []
        lines.append(f"            {', '.join(parts)},")
    out = ["out", f"1.0 / {scale_of[root]}"] if _is_scaled(root) else ["out"]
    return lines + [
        f"            {', '.join(out)},",
        f"            {', '.join([*(f'sizes[{s!r}]' for s in symbols), 'n'])},",
        "            BLOCK=BLOCK,",
        "            num_warps=NUM_WARPS,",
        "            enable_fp_fusion=False,  # the reference's roundings: no FMA contraction",
        "        )",
        f"    return (abi.KernelValue(out, {scale_of[root] if _is_scaled(root) else None}),)",
    ]
