"""Triton code generation for ``gemm`` kernel groups (docs/lowering.md, "Code generation").

A gemm group (lowering/partition.py, `rule_gemm`) is a ``matmul`` (``scaled``, or ``nn`` in
the fp32 recipe), the chain of elementwise ops that each take the previous result (with
their single-use ``broadcast`` operands: a bias, attention's ``sqrt(DH)``) and optionally
the ``scaled.amax`` of the last result. Its kernel is the Triton tutorial's GEMM with the
chain as the epilogue, built from the pieces of lowering/templates/gemm.py (copied in as
text by `template_function`, so the template tests check the code that runs)::

    program -> (batch entry, output tile) -> K loop: acc += A.data @ B.data in fp32
            -> value = acc * sA * sB -> the epilogue, one line per IR op, on fp32 values
            -> store (value * inv_scale_out).to(<storage type>) -> amax of the stored tile

Operands: FP8 x FP8 (e4m3 / e5m2 in either place), bf16 x bf16, fp32 x fp32 (the fp32
recipe; ``input_precision="ieee"``, so no TF32), all with fp32 accumulation of exact
products; FP8 partial sums are promoted into the fp32 accumulator every BLOCK_K step
(``max_num_imprecise_acc=BLOCK_K``: wgmma's own accumulator keeps fewer bits, NUMERICS.md
§5, and Triton's sm_90 default never promotes). Shapes follow NumPy's
matmul: 2-D @ 2-D, N-D @ 2-D (``x[B, T, D] @ w[D, N]``: the batch dims fold into M when
the strides allow, `gemm_geometry`) and batched @ batched with up to two batch dims
(attention's ``[B, H, T, DH] @ [B, H, DH, T]``), each tensor read through its own strides:
a transposed view is read in place, never copied (a ``[K, N]`` view with unit stride along
K is the K-major B that FP8 ``wgmma`` wants).

Epilogue operands are read in the output tile: a tensor of the output's shape (a residual,
the ``x`` of ``relu_grad``: ``tile0``...) through its strides, a broadcast ``[N]`` vector (a
bias: ``row0``...) once per column block, a broadcast scalar (``scalar0``...) once per
program; other broadcasts are `NotSupported`. A broadcast into a narrower format rounds its
operand as the reference stores it (the f32 constant ``sqrt(DH)`` becomes bf16). The op
expressions are the elementwise generator's (`elementwise.EXPRESSIONS`). Names inside the
kernel are roles and op positions (``v2`` is the value of ``ops[2]``), not IR labels, so the
repeated layers of a model get the same kernel body (one compile each in the cross-compile
tests); the module's header maps them to the IR.

Scales: ``launch`` applies `abi.result_scales` to every op in group order (the reference's
rules on the same scales and shapes), so each output gets the reference's scale. The kernel
skips the reference's rounding of each intermediate into its format (the matmul result,
the bias sum...): one rounding, at the store. The fused amax is ``max |data|`` of the
stored (rounded) tile, NaN-propagating, folded into one int32 by ``tl.atomic_max`` and
multiplied by the output scale on the host: the reference's ``amax`` of the rounded result,
with no host sync. Offsets are int32 (``launch`` refuses tensors of 2^31 elements or more).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.ir import Operation, SSAValue

from scalc.dialects import nn, scaled
from scalc.dialects.scaled.types import ScaledTensorType
from scalc.lowering.codegen import (
    GenContext,
    NotSupported,
    boundary,
    generator,
    module_header,
    template_function,
)
from scalc.lowering.codegen.abi import TRITON_TYPE, format_of_value
from scalc.lowering.codegen.elementwise import EXPRESSIONS, TL_TYPE
from scalc.lowering.partition import KernelGroup

__all__ = ["generate_gemm"]

_FP8 = ("f8E4M3FN", "f8E5M2")
_MATMULS = (scaled.MatmulOp, nn.MatmulOp)
_BROADCASTS = (scaled.BroadcastOp, nn.BroadcastOp)
_HELPERS = ("gemm_configs", "pick_config", "gemm_geometry", "grouped_tile", "matmul_tile")


@dataclass
class _Input:
    """A value the epilogue reads from outside the group."""

    value: SSAValue
    ident: str
    """Its name in the kernel: ``tile0``, ``row0``, ``scalar0`` ..."""
    fmt: str
    scaled: bool
    role: str
    """``tile``: [*batch, M, N] through its strides; ``row``: a broadcast [N] (or [1])
    vector; ``scalar``: a broadcast 0-d value."""
    rounds_to: str | None = None
    """The narrower format a broadcast stores it in (the reference rounds it there)."""


@dataclass
class _Gemm:
    """What the kernel of one gemm group computes (`_analyse`)."""

    group: KernelGroup
    ctx: GenContext
    a: SSAValue
    b: SSAValue
    nbatch: int
    last: SSAValue
    amax: Operation | None
    store: bool
    reads: dict[SSAValue, _Input]
    args: dict[SSAValue, str] = field(default_factory=dict)
    """Every group input -> its ``launch`` parameter (``x_a``, ``x_row0`` ...)."""

    @property
    def scaled(self) -> bool:
        return isinstance(self.last.type, ScaledTensorType)

    @property
    def out_fmt(self) -> str:
        return format_of_value(self.last)

    @property
    def operand_bytes(self) -> int:
        fmt = format_of_value(self.a)
        return 1 if fmt in _FP8 else 2 if fmt in ("bf16", "f16") else 4

    def tiles(self) -> list[_Input]:
        return [r for r in self.reads.values() if r.role == "tile"]

    def rows(self) -> list[_Input]:
        return [r for r in self.reads.values() if r.role == "row"]


def _rank(v: SSAValue) -> int:
    return len(v.type.get_shape())  # type: ignore[attr-defined]


def _check_operands(group: KernelGroup, a: SSAValue, b: SSAValue) -> int:
    """The number of batch dims; refuses operand types and ranks the kernel lacks."""
    fa, fb = format_of_value(a), format_of_value(b)
    if not ((fa in _FP8 and fb in _FP8) or (fa == fb and fa in ("bf16", "f16", "f32"))):
        raise NotSupported(f"{group.name}: matmul of {fa} x {fb} operands")
    ra, rb = _rank(a), _rank(b)
    if ra < 2 or rb not in (2, ra) or ra > 4:
        raise NotSupported(f"{group.name}: matmul of rank {ra} x rank {rb} operands")
    return ra - 2


def _role(group: KernelGroup, op: Operation) -> tuple[str, str | None]:
    """How the epilogue reads the outside operands of ``op``, and the narrower format a
    broadcast rounds its operand to."""
    if not isinstance(op, _BROADCASTS):
        return "tile", None
    (x,) = op.operands
    if _rank(x) > 1:
        raise NotSupported(f"{group.name}: a broadcast of a rank {_rank(x)} tensor in the epilogue")
    fin, fout = format_of_value(x), format_of_value(op.results[0])
    return ("scalar", "row")[_rank(x)], (fout if fin != fout and fout != "f32" else None)


def _analyse(group: KernelGroup, ctx: GenContext) -> _Gemm:
    """The matmul, the epilogue's outside operands and how they are read, the amax; refuses
    (`NotSupported`) what the kernel does not compute."""
    matmul = group.ops[0]
    if not isinstance(matmul, _MATMULS):
        raise NotSupported(f"{group.name}: a gemm group starts with a matmul, not {matmul.name}")
    a, b = matmul.operands
    nbatch = _check_operands(group, a, b)
    last, amax, reads = matmul.results[0], None, {}
    produced = {last}
    for op in group.ops[1:]:
        if isinstance(op, scaled.AmaxOp) and op.operands[0] is last and amax is None:
            amax = op
            continue
        if amax is not None or not (isinstance(op, _BROADCASTS) or type(op) in EXPRESSIONS):
            raise NotSupported(f"{group.name}: {op.name} in a gemm epilogue")
        role, rounds_to = _role(group, op)
        for x in op.operands:
            if x in produced or x in reads:
                continue
            if format_of_value(x) not in TL_TYPE or (role == "tile" and _rank(x) != _rank(last)):
                raise NotSupported(f"{group.name}: {op.name} reads {ctx.label(x)} {x.type}")
            ident = f"{role}{sum(r.role == role for r in reads.values())}"
            scaled_x = isinstance(x.type, ScaledTensorType)
            reads[x] = _Input(x, ident, format_of_value(x), scaled_x, role, rounds_to)
        produced.update(op.results)
        if not isinstance(op, _BROADCASTS):
            last = op.results[0]
    inputs, outputs = boundary(group)
    if any(v is not last and (amax is None or v is not amax.results[0]) for v in outputs):
        raise NotSupported(f"{group.name}: an intermediate of the epilogue leaves the group")
    g = _Gemm(group, ctx, a, b, nbatch, last, amax, last in outputs, reads)
    for v in inputs:
        g.args[v] = "x_a" if v is a else "x_b" if v is b else f"x_{reads[v].ident}"
    return g


# --- the kernel ---------------------------------------------------------------------


def _batch_dims(g: _Gemm) -> list[str]:
    return [str(d) for d in range(g.nbatch)]


def _strided(g: _Gemm) -> list[tuple[str, str]]:
    """(name, matrix dims) of every [*batch, rows, cols] tensor the kernel reads or writes."""
    out = [("out", "mn")] if g.store else []
    return [("a", "mk"), ("b", "kn"), *((r.ident, "mn") for r in g.tiles()), *out]


def _parameters(g: _Gemm) -> list[tuple[list[tuple[str, str]], str]]:
    """The kernel's parameters (constexprs aside) with their Triton types, in lines, each
    with a comment saying what it holds."""
    fa, fb = format_of_value(g.a), format_of_value(g.b)
    ptrs = [("ptr_a", f"*{TRITON_TYPE[fa]}"), ("ptr_b", f"*{TRITON_TYPE[fb]}")]
    ptrs += [(f"ptr_{r.ident}", f"*{TRITON_TYPE[r.fmt]}") for r in g.reads.values()]
    ptrs += [("ptr_out", f"*{TRITON_TYPE[g.out_fmt]}")] if g.store else []
    ptrs += [("ptr_amax", "*i32")] if g.amax is not None else []
    lines = [(ptrs, "data (amax: fp32 bits)" if g.amax is not None else "data")]
    if g.scaled:
        scales = [("scale_ab", "fp32")]
        scales += [(f"scale_{r.ident}", "fp32") for r in g.reads.values() if r.scaled]
        lines.append((scales + [("inv_scale_out", "fp32")], "sA * sB, input scales, 1 / scale"))
    sizes = [("M", "i32"), ("N", "i32"), ("K", "i32")] + [("BATCH_1", "i32")] * (g.nbatch == 2)
    second = " (BATCH_1: of the second batch dim)" if g.nbatch == 2 else ""
    lines.append((sizes, f"sizes{second}"))
    for name, inner in _strided(g):
        dims = _batch_dims(g) + list(inner)
        lines.append(([(f"stride_{name}_{d}", "i32") for d in dims], f"strides of {name}"))
    if g.rows():
        lines.append(([(f"stride_{r.ident}", "i32") for r in g.rows()], "strides of the rows"))
    return lines


def _unit_strides(g: _Gemm) -> list[str]:
    """The strides a launch on the usual layouts passes as 1 (Triton specialises them):
    row-major A and tiles; B K-major for FP8 (what ``wgmma`` wants, written by the cast),
    else row-major."""
    b = "stride_b_k" if g.operand_bytes == 1 else "stride_b_n"
    units = ["stride_a_k", b] + [f"stride_{r.ident}_n" for r in g.tiles()]
    units += [f"stride_{r.ident}" for r in g.rows()]
    return units + (["stride_out_n"] if g.store else [])


def _tile_ptrs(name: str) -> str:
    return f"ptr_{name} + offs_m[:, None] * stride_{name}_m + offs_n[None, :] * stride_{name}_n"


@dataclass
class _Body:
    """The kernel's epilogue lines, one IR op at a time."""

    g: _Gemm
    lines: list[str] = field(default_factory=list)
    var: dict[SSAValue, str] = field(default_factory=dict)
    rows: set[SSAValue] = field(default_factory=set)
    """Values held as an [N] vector (a broadcast bias), used as ``v[None, :]``."""

    def emit(self, line: str) -> None:
        self.lines.append("    " + line)

    def operand(self, v: SSAValue) -> str:
        """The fp32 value of ``v`` in the tile's shape, loading an input at its first use."""
        if v not in self.var:
            self.load(self.g.reads[v])
        return f"{self.var[v]}[None, :]" if v in self.rows else self.var[v]

    def load(self, r: _Input) -> None:
        name = r.ident
        if r.role == "scalar":
            self.emit(f"{name} = tl.load(ptr_{name})")
        elif r.role == "row":
            self.emit(f"{name} = tl.load(ptr_{name} + offs_n * stride_{name}, mask=offs_n < N)")
            self.rows.add(r.value)
        else:
            self.emit(f"at_{name} = {_tile_ptrs(name)}")
            self.emit(f"{name} = tl.load(at_{name}, mask=mask)")
        # A broadcast into a narrower format: the value as the reference stores it.
        convert = f".to({TL_TYPE[r.rounds_to]})" if r.rounds_to else ""
        if convert or r.fmt != "f32":
            convert += ".to(tl.float32)"
        scale = f" * scale_{name}" if r.scaled else ""
        if convert or scale:
            self.emit(f"{name} = {name}{convert}{scale}")
        self.var[r.value] = name

    def op(self, index: int, op: Operation) -> None:
        (result,) = op.results
        self.emit(f"# [{index}] {op.name}")
        if isinstance(op, _BROADCASTS):  # the operand, read as the result holds it
            (x,) = op.operands
            self.operand(x)
            self.var[result] = self.var[x]
            if x in self.rows:
                self.rows.add(result)
            return
        name = f"v{index}"
        if isinstance(op, _MATMULS):
            self.emit(f"{name} = acc * scale_ab" if self.g.scaled else f"{name} = acc")
        else:
            args = [self.operand(x) for x in op.operands]
            self.emit(f"{name} = {EXPRESSIONS[type(op)].format(*args)}")
        self.var[result] = name


def _prologue(g: _Gemm) -> list[str]:
    lines = ["pid_m, pid_n = grouped_tile(tl.program_id(0), M, N, BLOCK_M, BLOCK_N, GROUP_M)"]
    if g.nbatch:
        lines.append("# This program's batch entry: each [*batch, rows, cols] tensor moves to it.")
        if g.nbatch == 1:
            lines.append("batch_0 = tl.program_id(1)")
        else:
            lines.append("batch_0 = tl.program_id(1) // BATCH_1")
            lines.append("batch_1 = tl.program_id(1) % BATCH_1")
        for name, _ in _strided(g):
            terms = [f"batch_{d} * stride_{name}_{d}" for d in _batch_dims(g)]
            lines.append(f"ptr_{name} += {' + '.join(terms)}")
    return lines + [
        "offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)",
        "offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)",
        "mask = (offs_m[:, None] < M) & (offs_n[None, :] < N)",
        "acc = matmul_tile(",
        "    ptr_a, ptr_b, offs_m, offs_n, M, N, K,",
        "    stride_a_m, stride_a_k, stride_b_k, stride_b_n,",
        '    BLOCK_M, BLOCK_N, BLOCK_K, "ieee",',
        ")",
        "# The epilogue, on fp32 values (data * scale): rounded once, at the store.",
    ]


def _kernel(g: _Gemm) -> list[str]:
    body = _Body(g)
    for line in _prologue(g):
        body.emit(line)
    for index, op in enumerate(g.group.ops):
        if op is not g.amax:
            body.op(index, op)
    value = body.var[g.last]
    data = f"{value} * inv_scale_out" if g.scaled else value
    if g.out_fmt != "f32":
        data = f"({data}).to({TL_TYPE[g.out_fmt]})"
    body.emit(f"data = {data}")
    if g.store:
        body.emit(f"at_out = {_tile_ptrs('out')}")
        body.emit("tl.store(at_out, data, mask=mask)")
    if g.amax is not None:
        index = g.group.ops.index(g.amax)
        body.emit(f"# [{index}] scaled.amax: max |data| over the stored tile, as int32 bits")
        body.emit("# (NaN above inf); the host multiplies it by the output scale.")
        body.emit("tl.atomic_max(ptr_amax, abs_max_bits(data.to(tl.float32), mask))")
    return [
        f"# {g.ctx.label(g.a)} @ {g.ctx.label(g.b)} and its epilogue, in the output tile.",
        "@triton.jit",
        f"def {g.group.name}(",
        *(f"    {', '.join(n for n, _ in names)},  # {what}" for names, what in _parameters(g)),
        "    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,",
        "    GROUP_M: tl.constexpr,",
        "):",
        *body.lines,
    ]


# --- the host side ------------------------------------------------------------------


def _tuple(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _scales(g: _Gemm) -> tuple[list[str], str]:
    """``abi.result_scales`` for every scaled op in group order; the output's scale."""
    scale_of = {v: f"{name}.scale" for v, name in g.args.items()}
    shape_of = {v: f"{name}.shape" for v, name in g.args.items()}
    lines = []
    for i, op in enumerate(g.group.ops):
        if op is g.amax or not isinstance(op.results[0].type, ScaledTensorType):
            continue
        (r,) = op.results
        scale_of[r], shape_of[r] = f"scale{i}", "shape"
        scales = _tuple([scale_of[x] for x in op.operands])
        shapes = _tuple([shape_of[x] for x in op.operands])
        lines.append(f"    (scale{i},) = abi.result_scales(ops[{i}], {scales}, {shapes})")
    return lines, scale_of[g.last] if g.scaled else "None"


def _launch(g: _Gemm) -> list[str]:
    scale_lines, out_scale = _scales(g)
    data = {r.ident: f"{g.args[r.value]}.data" for r in g.reads.values()}
    tiles = [data[r.ident] for r in g.tiles()] + ["out"] * g.store
    strides = [f"strides_{name}" for name, _ in _strided(g)]
    made = ", ".join(g.ctx.label(v) for v in boundary(g.group)[1])
    read = ", ".join(g.ctx.label(v) for v in g.args)
    amax = ["    amax = torch.zeros((), dtype=torch.int32, device=a.device)"]
    lines = [
        f"def launch(ops, sizes, {', '.join(g.args.values())}):",
        f'    """{made} from {read} (abi.KernelValue each)."""',
        "    a, b = x_a.data, x_b.data" if g.b is not g.a else "    a = b = x_a.data",
        "    if a.shape[-1] != b.shape[-2]:",
        '        raise ValueError(f"matmul of {tuple(a.shape)} by {tuple(b.shape)}")',
        "    shape = (*a.shape[:-1], b.shape[-1])",
        *scale_lines,
        f'    out = abi.empty(shape, "{g.out_fmt}", a.device)',
        *(amax if g.amax is not None else []),
        '    assert max(a.numel(), b.numel(), out.numel()) < 2**31, "int32 offsets"',
        f"    M, batch, {_tuple(strides)} = gemm_geometry(",
        f"        a, b, {_tuple(tiles)}, {g.nbatch}",
        "    )",
        "    N, K = b.shape[-1], a.shape[-1]",
        "    config = pick_config(M, N, K, a.element_size())",
        '    tiles = triton.cdiv(M, config["BLOCK_M"]) * triton.cdiv(N, config["BLOCK_N"])',
        "    if out.numel():",
        f"        {g.group.name}[(tiles, math.prod(batch))](",
        *_call_args(g, data, strides, out_scale),
        "            **config,",
        "        )",
    ]
    results = {g.last: f"abi.KernelValue(out, {out_scale})"}
    if g.amax is not None:
        results[g.amax.results[0]] = f"abi.KernelValue(amax.view(torch.float32) * {out_scale})"
    return lines + [f"    return {_tuple([results[v] for v in boundary(g.group)[1]])}"]


def _call_args(g: _Gemm, data: dict[str, str], strides: list[str], out_scale: str) -> list[str]:
    ptrs = ["a", "b", *(data[r.ident] for r in g.reads.values())]
    ptrs += ["out"] * g.store + ["amax"] * (g.amax is not None)
    lines = [ptrs]
    if g.scaled:
        scales = [f"{g.args[g.a]}.scale * {g.args[g.b]}.scale"]
        scales += [f"{g.args[r.value]}.scale" for r in g.reads.values() if r.scaled]
        lines.append([*scales, f"1.0 / {out_scale}"])
    lines.append(["M", "N", "K"] + ["batch[1]"] * (g.nbatch == 2))
    # A [1] vector broadcasts along N: stride 0.
    rows = [f"{data[r.ident]}.stride(0) if {data[r.ident]}.shape[0] != 1 else 0" for r in g.rows()]
    lines.append([f"*{s}" for s in strides] + rows)
    return [f"            {', '.join(items)}," for items in lines]


def _wrapped(items: list[str], indent: str, width: int = 96) -> list[str]:
    """``items`` joined with ", " in lines of at most ``width`` columns."""
    lines = [indent]
    for item in items:
        if len(lines[-1]) + len(item) + 2 > width and lines[-1].strip():
            lines.append(indent)
        lines[-1] += item + ", "
    return [line.rstrip() for line in lines]


def _hopper(g: _Gemm) -> list[str]:
    units = _unit_strides(g)
    signature = {n: t for names, _ in _parameters(g) for n, t in names if n not in units}
    aligned = [n for n, t in signature.items() if t != "fp32" and n != "BATCH_1"]
    blocks = ", ".join(f'"{k}"' for k in ("BLOCK_M", "BLOCK_N", "BLOCK_K", "GROUP_M"))
    return [
        "# How to compile the kernel for sm_90 (tests/lowering/hopper.py): the largest tile",
        "# (the one real sizes get), unit strides specialised as a launch with them would.",
        f"_CONFIG = gemm_configs({g.operand_bytes})[0]",
        "HOPPER = [",
        "    {",
        f'        "kernel": "{g.group.name}",',
        '        "signature": {',
        *_wrapped([f'"{n}": "{t}"' for n, t in signature.items()], " " * 12),
        "        },",
        '        "constexprs": {',
        *_wrapped([f'"{u}": 1' for u in units], " " * 12),
        f"            **{{k: _CONFIG[k] for k in ({blocks})}},",
        "        },",
        '        "aligned": (',
        *_wrapped([f'"{n}"' for n in aligned], " " * 12),
        "        ),",
        '        "options": {k: _CONFIG[k] for k in ("num_warps", "num_stages")},',
        "    },",
        "]",
    ]


def _header(g: _Gemm) -> list[str]:
    helpers = [*_HELPERS, *(["abs_max_bits"] if g.amax is not None else [])]
    names = [f"{name.removeprefix('x_')} = {g.ctx.label(v)}" for v, name in g.args.items()]
    outs = ["out" if v is g.last else "amax" for v in boundary(g.group)[1]]
    outs = [f"{o} = {g.ctx.label(v)}" for o, v in zip(outs, boundary(g.group)[1], strict=True)]
    return [
        *module_header(
            "gemm",
            g.group,
            g.ctx,
            ops_title="IR ops (ops[i]; the kernel's v<i> is the value of ops[i]):",
            indexed=True,
            notes=[f"Operands: {', '.join(names)}; results: {', '.join(outs)}."],
        ),
        *(line for h in helpers for line in ["", "", *template_function("gemm", h).splitlines()]),
    ]


@generator("gemm")
def generate_gemm(group: KernelGroup, ctx: GenContext) -> str:
    """The module of one gemm group: its kernel, ``launch`` and ``HOPPER`` (module
    docstring)."""
    g = _analyse(group, ctx)
    return "\n".join([
        *_header(g), "", "", *_kernel(g), "", "", *_launch(g), "", "", *_hopper(g),
    ]) + "\n"  # fmt: skip
