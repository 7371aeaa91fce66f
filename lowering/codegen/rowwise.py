"""Code generation for ``rowwise`` kernel groups (docs/lowering.md, "Code generation").

A rowwise group is one row-wise op over the last axis, or one of two fused pairs
(lowering/partition.py, ``rule_rowwise``)::

    causal_mask? softmax         -> softmax_kernel (CAUSAL)
    softmax_grad causal_mask_grad? -> softmax_grad_kernel (CAUSAL)
    layernorm                    -> layernorm_kernel
    layernorm_grad               -> layernorm_grad_kernel + layernorm_grad_params_kernel
    cross_entropy                -> cross_entropy_kernel + mean_kernel
    cross_entropy_grad           -> cross_entropy_grad_kernel
    embedding                    -> embedding_kernel
    embedding_grad               -> embedding_grad_kernel

as ``scaled`` ops (``!scaled.tensor`` values, scales from the ops' scale rules) or as the
fp32 recipe's ``nn`` ops (plain fp32, scale 1 in the kernels, ``scale=None`` out).

The kernels and the host function that launches them are copied verbatim from
``lowering/templates/rowwise.py`` (`template_function`), so a generated module runs exactly
the code the template tests check. What the generator writes is the glue: ``launch``
computes every result's scale with `abi.result_scales` (one call per op, in group order,
feeding a fused pair's intermediate scale to the second rule), allocates the results in
their formats and calls the template's host function with the scales; and ``HOPPER``
describes each kernel for an sm_90 compile at the group's row length (the longest row the
kernels hold, `MAX_COLS`, when the row length is a run-time size such as ``T``).

Rows longer than `MAX_COLS` (4096) columns are `NotSupported` when the length is static
and raise ``ValueError`` at launch when it is a run-time size; embedding rows may be of any
length. A softmax not over the last axis, a group whose operands repeat (one value in two
operand positions) and any other op are `NotSupported`.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from xdsl.ir import Operation, SSAValue

from scalc.lowering.codegen import (
    GenContext,
    NotSupported,
    boundary,
    generator,
    module_header,
    template_function,
)
from scalc.lowering.codegen.abi import TRITON_TYPE, format_of_value
from scalc.lowering.partition import KernelGroup
from scalc.lowering.shapes import dims_expr

TEMPLATE = "rowwise"
HOST_HELPERS = ("row_config", "as_rows")
"""Template host functions every generated module needs."""
INT_PARAMS = frozenset({"R", "N", "T", "C", "V", "D", "n", "programs"})
"""Kernel parameters that are i32 sizes (besides the ``stride_*`` ones); the other
non-pointer, non-constexpr parameters are fp32 (scales, eps)."""
SIZE_PARAMS = frozenset({"N", "T", "C", "D"})
"""Sizes equal to the row length: 16-divisible exactly when it is."""


@functools.cache
def template_source(name: str) -> str:
    """`template_function` of the rowwise template, read once per process (generation runs
    for every group of a program; the template does not change under it)."""
    return template_function(TEMPLATE, name)


def _template_text() -> str:
    return (Path(__file__).resolve().parent.parent / "templates" / f"{TEMPLATE}.py").read_text()


def template_constant(name: str) -> int:
    """A module-level integer constant of the template (``MAX_COLS``), read as text."""
    for node in ast.parse(_template_text()).body:
        targets = [t.id for t in node.targets if isinstance(t, ast.Name)] if isinstance(
            node, ast.Assign) else []  # fmt: skip
        if targets == [name]:
            return int(ast.literal_eval(node.value))  # type: ignore[attr-defined]
    raise KeyError(f"no constant {name} in lowering/templates/{TEMPLATE}.py")


MAX_COLS = template_constant("MAX_COLS")
TILE_ELEMENTS = template_constant("TILE_ELEMENTS")


def row_config(n_cols: int) -> tuple[int, int, int]:
    """The template's ``row_config`` (same rule, checked equal by the tests), computed here
    without triton to fill ``HOPPER``: ``(BLOCK_M, BLOCK_N, num_warps)``."""
    block_n = 1 << max(n_cols - 1, 0).bit_length()
    return max(1, min(16, TILE_ELEMENTS // block_n)), block_n, 8 if block_n >= 2048 else 4


@functools.cache
def kernel_params(kernel: str) -> list[tuple[str, bool]]:
    """``(name, is_constexpr)`` of each parameter of template kernel ``kernel``."""
    fn = ast.parse(template_source(kernel)).body[0]
    assert isinstance(fn, ast.FunctionDef)
    return [(a.arg, a.annotation is not None and "constexpr" in ast.unparse(a.annotation))
            for a in fn.args.args]  # fmt: skip


@dataclass
class Lowered:
    """What one pattern contributes to the module."""

    kernels: list[str]
    host: str
    params: list[str]
    """``launch``'s parameters: one per boundary input, named for its role."""
    body: list[str]
    hopper: list[str] = field(default_factory=list)


# --- helpers shared by the patterns ---------------------------------------------------------


def _base(op: Operation) -> str:
    """``softmax`` for ``scaled.softmax`` and ``nn.softmax``."""
    return op.name.split(".", 1)[1]


def _is_scaled(group: KernelGroup) -> bool:
    return group.ops[0].name.startswith("scaled.")


def _expect_inputs(group: KernelGroup, expected: list[SSAValue]) -> None:
    """The boundary inputs must be ``expected`` (distinct values): ``launch``'s parameters
    are named for their roles."""
    inputs, _ = boundary(group)
    if inputs != expected:
        raise NotSupported(f"{group.name}: operands repeat or come from inside the group")


def _row_length(group: KernelGroup, ctx: GenContext, value: SSAValue, limit: bool = True) -> int:
    """The static length of ``value``'s rows, or 0 for a run-time size. Static rows longer
    than `MAX_COLS` are `NotSupported` unless ``limit`` is off (embedding rows are tiled)."""
    last = ctx.dims[value][-1]
    if not last.is_static:
        return 0
    if limit and last.value > MAX_COLS:
        raise NotSupported(
            f"{group.name}: rows of {last.value} columns (row-wise kernels hold at most {MAX_COLS})"
        )
    return last.value


def _triton(value: SSAValue) -> str:
    return TRITON_TYPE[format_of_value(value)]


def _wrapped(head: str, items: list[str], tail: str) -> str:
    """``head a, b, c tail`` as one ``launch`` line, or one item a line when that would
    pass 100 columns."""
    flat = head + ", ".join(items) + tail
    if len(flat) + 4 <= 100:
        return flat
    return head + "\n" + "".join(f"        {item},\n" for item in items) + "    " + tail


def _call(fn: str, args: list[str], kwargs: dict[str, str | None], prefix: str = "") -> str:
    """``fn(a, b, k=v)``, leaving out keywords whose value is None (an ``nn`` group's
    scales: the host function's default, 1)."""
    words = args + [f"{k}={v}" for k, v in kwargs.items() if v is not None]
    return _wrapped(f"{prefix}{fn}(", words, ")")


def _empty(var: str, shape: str, value: SSAValue, device: str) -> str:
    return f'{var} = abi.empty({shape}, "{format_of_value(value)}", {device})'


def _hopper(
    kernel: str, pointers: dict[str, str], constexprs: dict[str, object], num_warps: int,
    row_length: int,
) -> str:  # fmt: skip
    """One ``HOPPER`` entry: pointers typed by ``pointers``, sizes and strides i32
    (declared 16-divisible when the static row length is), scales and eps fp32."""
    signature: dict[str, str] = {}
    for name, is_constexpr in kernel_params(kernel):
        if is_constexpr:
            continue
        if name.endswith("_ptr"):
            signature[name] = f"*{pointers[name]}"
        elif name in INT_PARAMS or name.startswith("stride_"):
            signature[name] = "i32"
        else:
            signature[name] = "fp32"
    aligned = [n for n in signature if n.endswith("_ptr")]
    if row_length and row_length % 16 == 0:
        aligned += [n for n in signature if n in SIZE_PARAMS or n.startswith("stride_")]
    fields = {
        "kernel": kernel,
        "signature": signature,
        "constexprs": constexprs,
        "aligned": tuple(aligned),
        "options": {"num_warps": num_warps},
    }
    return (
        "    {\n"
        + "".join(f'        "{k}": {_literal(v)},\n' for k, v in fields.items())
        + "    },"
    )


def _literal(value: object, indent: int = 8) -> str:
    """``value`` as Python source with double-quoted strings, wrapped at 100 columns."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict | tuple):
        items = (
            [f'"{k}": {_literal(v)}' for k, v in value.items()]
            if isinstance(value, dict)
            else [_literal(v) for v in value]
        )
        open_, close = (
            ("{", "}") if isinstance(value, dict) else ("(", ",)" if len(items) == 1 else ")")
        )
        flat = open_ + ", ".join(items) + close
        if len(flat) + indent + 16 <= 100:
            return flat
        pad = " " * (indent + 4)
        return (
            open_
            + "\n"
            + "".join(f"{pad}{item},\n" for item in items)
            + " " * indent
            + close.lstrip(",")
        )
    return repr(value)


def _row_hopper(
    kernel: str, pointers: dict[str, str], n: int, **constexprs: object
) -> str:  # fmt: skip
    """A row kernel's entry at row length ``n`` (for a run-time length: `MAX_COLS`, the
    longest row the kernels hold, where register pressure is highest)."""
    block_m, block_n, warps = row_config(n or MAX_COLS)
    return _hopper(
        kernel, pointers, {**constexprs, "BLOCK_M": block_m, "BLOCK_N": block_n}, warps, n
    )


# --- the patterns ---------------------------------------------------------------------------


def _rule(index: int, results: list[str], operands: list[str | tuple[str, str]]) -> str:
    """``(s_out,) = abi.result_scales(ops[0], [x.scale], [x.shape])``: the scales of op
    ``index``'s results from its operands': a launch parameter's name, or for an operand
    made inside the group, (its scale variable, the parameter whose shape it has)."""
    pairs = [o if isinstance(o, tuple) else (f"{o}.scale", o) for o in operands]
    scales = ", ".join(scale for scale, _ in pairs)
    shapes = ", ".join(f"{like}.shape" for _, like in pairs)
    names = results[0] + "," if len(results) == 1 else ", ".join(results)
    args = [f"ops[{index}]", f"[{scales}]", f"[{shapes}]"]
    return _call("abi.result_scales", args, {}, prefix=f"({names}) = ")


def _scales(scaled: bool, **kwargs: str) -> dict[str, str | None]:
    """The host function's scale keywords: left out (its default, 1) for ``nn`` ops."""
    return {k: v if scaled else None for k, v in kwargs.items()}


def _results(scaled: bool, *pairs: tuple[str, str]) -> str:
    """``return (abi.KernelValue(out, s_out),)``; ``nn`` results have no scale."""
    values = [f"abi.KernelValue({var}, {scale})" if scaled else f"abi.KernelValue({var})"
              for var, scale in pairs]  # fmt: skip
    return _wrapped("return (", values, ",)" if len(values) == 1 else ")")


def _last_axis(group: KernelGroup, ctx: GenContext, op: Operation, value: SSAValue) -> None:
    axis = op.axis.value.data  # type: ignore[attr-defined]
    if axis not in (len(ctx.dims[value]) - 1, -1):
        raise NotSupported(f"{group.name}: {op.name} over axis {axis}, not the last")


def _softmax(group: KernelGroup, ctx: GenContext) -> Lowered:
    """``causal_mask? softmax``: one pass per row (the mask's result scale feeds the
    softmax's rule)."""
    *mask, softmax = group.ops
    (x,) = group.ops[0].operands
    _expect_inputs(group, [x])
    _last_axis(group, ctx, softmax, x)
    scaled, n = _is_scaled(group), _row_length(group, ctx, x)
    body = []
    if scaled and mask:
        body += [_rule(0, ["s_masked"], ["x"]), _rule(1, ["s_out"], [("s_masked", "x")])]
    elif scaled:
        body.append(_rule(0, ["s_out"], ["x"]))
    out = softmax.results[0]
    body += [
        _empty("out", "x.shape", out, "x.data.device"),
        _call("softmax", ["x.data", "out"], {
            **_scales(scaled, x_scale="x.scale", out_scale="s_out"),
            "causal": "True" if mask else None,
        }),
        _results(scaled, ("out", "s_out")),
    ]  # fmt: skip
    pointers = {"x_ptr": _triton(x), "out_ptr": _triton(out)}
    hopper = [_row_hopper("softmax_kernel", pointers, n, CAUSAL=bool(mask))]
    return Lowered(["softmax_kernel"], "softmax", ["x"], body, hopper)


def _softmax_grad(group: KernelGroup, ctx: GenContext) -> Lowered:
    """``softmax_grad causal_mask_grad?``: one pass per row."""
    grad, *mask = group.ops
    y, dy = grad.operands
    _expect_inputs(group, [y, dy])
    _last_axis(group, ctx, grad, dy)
    scaled, n = _is_scaled(group), _row_length(group, ctx, dy)
    body = []
    if scaled and mask:
        body += [_rule(0, ["s_grad"], ["y", "dy"]), _rule(1, ["s_out"], [("s_grad", "dy")])]
    elif scaled:
        body.append(_rule(0, ["s_out"], ["y", "dy"]))
    out = group.ops[-1].results[0]
    body += [
        _empty("out", "dy.shape", out, "dy.data.device"),
        _call("softmax_grad", ["y.data", "dy.data", "out"], {
            **_scales(scaled, y_scale="y.scale", dy_scale="dy.scale", out_scale="s_out"),
            "causal": "True" if mask else None,
        }),
        _results(scaled, ("out", "s_out")),
    ]  # fmt: skip
    pointers = {"y_ptr": _triton(y), "dy_ptr": _triton(dy), "out_ptr": _triton(out)}
    hopper = [_row_hopper("softmax_grad_kernel", pointers, n, CAUSAL=bool(mask))]
    return Lowered(["softmax_grad_kernel"], "softmax_grad", ["y", "dy"], body, hopper)


def _layernorm(group: KernelGroup, ctx: GenContext) -> Lowered:
    """One pass per row; ``eps`` read off the op at launch."""
    (op,) = group.ops
    x, gamma, beta = op.operands
    _expect_inputs(group, [x, gamma, beta])
    scaled, n = _is_scaled(group), _row_length(group, ctx, x)
    out = op.results[0]
    body = [_rule(0, ["s_out"], ["x", "gamma", "beta"])] if scaled else []
    body += [
        _empty("out", "x.shape", out, "x.data.device"),
        _call("layernorm", ["x.data", "gamma.data", "beta.data", "out"], {
            "eps": "ops[0].eps.value.data",
            **_scales(scaled, x_scale="x.scale", gamma_scale="gamma.scale",
                      beta_scale="beta.scale", out_scale="s_out"),
        }),
        _results(scaled, ("out", "s_out")),
    ]  # fmt: skip
    pointers = {"x_ptr": _triton(x), "gamma_ptr": _triton(gamma), "beta_ptr": _triton(beta),
                "out_ptr": _triton(out)}  # fmt: skip
    hopper = [_row_hopper("layernorm_kernel", pointers, n)]
    return Lowered(["layernorm_kernel"], "layernorm", ["x", "gamma", "beta"], body, hopper)


def _layernorm_grad(group: KernelGroup, ctx: GenContext) -> Lowered:
    """dx in one pass per row; dgamma, dbeta from per-program partial sums, added in a
    second pass (deterministic)."""
    (op,) = group.ops
    x, gamma, dy = op.operands
    _expect_inputs(group, [x, gamma, dy])
    scaled, n = _is_scaled(group), _row_length(group, ctx, x)
    dx, dgamma, dbeta = op.results
    body = [_rule(0, ["s_dx", "s_dgamma", "s_dbeta"], ["x", "gamma", "dy"])] if scaled else []
    body += [
        _empty("dx", "x.shape", dx, "x.data.device"),
        _empty("dgamma", "gamma.shape", dgamma, "x.data.device"),
        _empty("dbeta", "gamma.shape", dbeta, "x.data.device"),
        _call("layernorm_grad", ["x.data", "gamma.data", "dy.data", "dx", "dgamma", "dbeta"], {
            "eps": "ops[0].eps.value.data",
            **_scales(scaled, scales="(x.scale, gamma.scale, dy.scale)",
                      out_scales="(s_dx, s_dgamma, s_dbeta)"),
        }),
        _results(scaled, ("dx", "s_dx"), ("dgamma", "s_dgamma"), ("dbeta", "s_dbeta")),
    ]  # fmt: skip
    pointers = {"x_ptr": _triton(x), "gamma_ptr": _triton(gamma), "dy_ptr": _triton(dy),
                "dx_ptr": _triton(dx), "partial_ptr": "fp32", "dgamma_ptr": _triton(dgamma),
                "dbeta_ptr": _triton(dbeta)}  # fmt: skip
    block_n = min(row_config(n or MAX_COLS)[1], 1024)  # the host function's column tile
    hopper = [
        _row_hopper("layernorm_grad_kernel", pointers, n),
        _hopper("layernorm_grad_params_kernel", pointers, {"BLOCK_N": block_n}, 4, n),
    ]
    kernels = ["layernorm_grad_kernel", "layernorm_grad_params_kernel"]
    return Lowered(kernels, "layernorm_grad", ["x", "gamma", "dy"], body, hopper)


def _cross_entropy(group: KernelGroup, ctx: GenContext) -> Lowered:
    """Per-row terms, then their mean in one program (deterministic)."""
    (op,) = group.ops
    logits, labels = op.operands
    _expect_inputs(group, [logits, labels])
    scaled, n = _is_scaled(group), _row_length(group, ctx, logits)
    loss = op.results[0]
    body = [_rule(0, ["s_loss"], ["logits", "labels"])] if scaled else []
    body += [
        _empty("loss", "()", loss, "logits.data.device"),
        _call("cross_entropy", ["logits.data", "labels.data", "loss"],
              _scales(scaled, logits_scale="logits.scale", loss_scale="s_loss")),
        _results(scaled, ("loss", "s_loss")),
    ]  # fmt: skip
    pointers = {"logits_ptr": _triton(logits), "labels_ptr": _triton(labels),
                "terms_ptr": "fp32", "x_ptr": "fp32", "out_ptr": _triton(loss)}  # fmt: skip
    hopper = [
        _row_hopper("cross_entropy_kernel", pointers, n),
        _hopper("mean_kernel", pointers, {"BLOCK": 1024}, 4, 0),
    ]
    kernels = ["logit_rows", "cross_entropy_kernel", "mean_kernel"]
    return Lowered(kernels, "cross_entropy", ["logits", "labels"], body, hopper)


def _cross_entropy_grad(group: KernelGroup, ctx: GenContext) -> Lowered:
    """One pass per row; ``dloss`` is read on the device (no sync)."""
    (op,) = group.ops
    logits, labels, dloss = op.operands
    _expect_inputs(group, [logits, labels, dloss])
    scaled, n = _is_scaled(group), _row_length(group, ctx, logits)
    grad = op.results[0]
    body = [_rule(0, ["s_grad"], ["logits", "labels", "dloss"])] if scaled else []
    body += [
        _empty("grad", "logits.shape", grad, "logits.data.device"),
        _call("cross_entropy_grad", ["logits.data", "labels.data", "dloss.data", "grad"],
              _scales(scaled, logits_scale="logits.scale", dloss_scale="dloss.scale",
                      grad_scale="s_grad")),
        _results(scaled, ("grad", "s_grad")),
    ]  # fmt: skip
    pointers = {"logits_ptr": _triton(logits), "labels_ptr": _triton(labels),
                "dloss_ptr": _triton(dloss), "grad_ptr": _triton(grad)}  # fmt: skip
    hopper = [_row_hopper("cross_entropy_grad_kernel", pointers, n)]
    params = ["logits", "labels", "dloss"]
    kernels = ["logit_rows", "cross_entropy_grad_kernel"]
    return Lowered(kernels, "cross_entropy_grad", params, body, hopper)


def _embedding(group: KernelGroup, ctx: GenContext) -> Lowered:
    """A gather of table rows (columns tiled: rows of any length)."""
    (op,) = group.ops
    table, ids = op.operands
    _expect_inputs(group, [table, ids])
    scaled, d = _is_scaled(group), _row_length(group, ctx, table, limit=False)
    out = op.results[0]
    body = [_rule(0, ["s_out"], ["table", "ids"])] if scaled else []
    body += [
        _empty("out", dims_expr(ctx.dims[out]), out, "table.data.device"),
        _call("embedding", ["table.data", "ids.data", "out"],
              _scales(scaled, table_scale="table.scale", out_scale="s_out")),
        _results(scaled, ("out", "s_out")),
    ]  # fmt: skip
    pointers = {"table_ptr": _triton(table), "ids_ptr": _triton(ids), "out_ptr": _triton(out)}
    hopper = [_row_hopper("embedding_kernel", pointers, min(d or 1024, 1024))]
    return Lowered(["embedding_kernel"], "embedding", ["table", "ids"], body, hopper)


def _embedding_grad(group: KernelGroup, ctx: GenContext) -> Lowered:
    """Ids sorted on the device; one program per table row sums its dy rows in position
    order (deterministic, NumPy's ``np.add.at`` order). The table's shape is static."""
    (op,) = group.ops
    ids, dy = op.operands
    _expect_inputs(group, [ids, dy])
    scaled, d = _is_scaled(group), _row_length(group, ctx, dy, limit=False)
    out = op.results[0]
    body = [_rule(0, ["s_out"], ["ids", "dy"])] if scaled else []
    body += [
        _empty("out", dims_expr(ctx.dims[out]), out, "dy.data.device"),
        _call("embedding_grad", ["ids.data", "dy.data", "out"],
              _scales(scaled, dy_scale="dy.scale", out_scale="s_out")),
        _results(scaled, ("out", "s_out")),
    ]  # fmt: skip
    pointers = {"dy_ptr": _triton(dy), "order_ptr": "i64", "bounds_ptr": "i64",
                "out_ptr": _triton(out)}  # fmt: skip
    _, block_n, warps = row_config(min(d or 1024, 1024))
    hopper = [_hopper("embedding_grad_kernel", pointers, {"BLOCK_N": block_n}, warps, d)]
    return Lowered(["embedding_grad_kernel"], "embedding_grad", ["ids", "dy"], body, hopper)


PATTERNS: dict[tuple[str, ...], Callable[[KernelGroup, GenContext], Lowered]] = {
    ("softmax",): _softmax,
    ("causal_mask", "softmax"): _softmax,
    ("softmax_grad",): _softmax_grad,
    ("softmax_grad", "causal_mask_grad"): _softmax_grad,
    ("layernorm",): _layernorm,
    ("layernorm_grad",): _layernorm_grad,
    ("cross_entropy",): _cross_entropy,
    ("cross_entropy_grad",): _cross_entropy_grad,
    ("embedding",): _embedding,
    ("embedding_grad",): _embedding_grad,
}
"""Op names of a rowwise group (without the dialect) -> what generates its module."""


# --- the module -----------------------------------------------------------------------------


@generator("rowwise")
def generate_rowwise(group: KernelGroup, ctx: GenContext) -> str:
    """The module text of a ``rowwise`` group (`PATTERNS`); `NotSupported` otherwise."""
    names = tuple(_base(op) for op in group.ops)
    pattern = PATTERNS.get(names)
    if pattern is None:
        raise NotSupported(f"{group.name}: no row-wise kernel for {' + '.join(names)}")
    if len({op.name.split(".")[0] for op in group.ops}) != 1:
        raise NotSupported(f"{group.name}: mixes nn and scaled ops")
    _, outputs = boundary(group)
    if outputs != list(group.ops[-1].results):
        raise NotSupported(f"{group.name}: a fused intermediate is used outside the group")
    lowered = pattern(group, ctx)
    return render(group, ctx, lowered)


def render(group: KernelGroup, ctx: GenContext, lowered: Lowered) -> str:
    """Header, imports, the template's constants, helpers, kernels and host function, then
    ``launch`` and ``HOPPER``."""
    header = "\n".join(
        [
            *module_header("rowwise", group, ctx, imports=("torch",)),
            "",
            f"MAX_COLS = {MAX_COLS}",
            f"TILE_ELEMENTS = {TILE_ELEMENTS}",
        ]
    )
    parts = [
        header,
        *(template_source(name) for name in HOST_HELPERS),
        *(template_source(name) for name in lowered.kernels),
        template_source(lowered.host),
        _launch(group, lowered),
        "HOPPER = [\n" + "\n".join(lowered.hopper) + "\n]\n",
    ]
    return "\n\n\n".join(p.rstrip("\n") for p in parts) + "\n"


def _launch(group: KernelGroup, lowered: Lowered) -> str:
    ops = ", ".join(_base(op) for op in group.ops)
    doc = (
        f'    """{ops} of {", ".join(lowered.params)} (`abi.KernelValue`s, in `boundary` order)."""'
    )
    body = "\n".join(f"    {line}" for line in lowered.body)
    return f"def launch(ops, sizes, {', '.join(lowered.params)}):\n{doc}\n{body}\n"
