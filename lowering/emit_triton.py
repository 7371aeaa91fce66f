"""Triton code generation for ``elementwise`` kernel groups (issue 5, first step).

`emit_elementwise(group)` turns an ``elementwise`` `KernelGroup` (lowering/partition.py)
whose ops are all same-shape pointwise mirrored ops (`EXPRESSIONS`: add, sub, mul, div,
neg, relu, gelu, tanh, sigmoid, exp, log, sqrt and the pointwise ``*_grad`` ops) into
readable Triton source: one ``@triton.jit`` kernel named after the group, a header comment
listing the IR ops, then the tutorial shape

    pid -> offsets -> masked loads of the group's inputs -> one line per IR op -> masked stores

Anything else (broadcast, slice_grad, index_grad, mean_grad, max_grad, mixed shapes, an
``nn`` op) is refused with `NotSupported`, naming the op.

**What crosses the kernel boundary, for now.** The kernel reads and writes fp32 *values*
(``data * scale``): the host unpacks each scaled input into an fp32 tensor before the
launch, and after it computes every result's scale with the op's scale rule
(``SCALE_RULES``, a pure function of the input scales and shapes, docs/scaled.md) and
stores ``round_to(value / scale)`` in the result's format (the runtime's job: the
lowering does not import the runtime). The kernel is
fp32-out on purpose: Triton's CPU interpreter truncates fp32 -> bf16 (patched in the tests,
runtime/backends/triton/interpreter_patch.py), and the fused in-kernel ``value / scale`` + ``.to``
is the next step. Intermediates of a multi-op group stay fp32 in registers (the reference
rounds each op's result into its format: a multi-op group is therefore closer to fp32
than the op-by-op reference, never bit-identical to it).

**Where the source goes.** It is written to ``<cache>/<group name>_<sha256[:16]>.py``
(`cache_dir`: ``$SCALC_KERNEL_CACHE`` or a per-user folder under the temp directory),
atomically, and imported with importlib (Triton's ``@jit`` reads the kernel's source back
with ``inspect``, so it must live in a real file; nothing is ``exec``-ed).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from xdsl.ir import Operation, SSAValue

from scalc.dialects import scaled
from scalc.dialects.scaled.rules import SCALE_RULES
from scalc.dialects.scaled.types import ScaledTensorType
from scalc.lowering.partition import KernelGroup

BLOCK = 1024
"""Elements per program (a power of two; the last program is masked)."""

_SQRT_HALF = repr(math.sqrt(0.5))
_INV_SQRT_2PI = repr(1.0 / math.sqrt(2.0 * math.pi))

EXPRESSIONS: dict[type[Operation], str] = {
    scaled.AddOp: "{0} + {1}",
    scaled.SubOp: "{0} - {1}",
    scaled.MulOp: "{0} * {1}",
    # IEEE division and square root (``/`` and ``tl.sqrt`` are approximate on the GPU).
    scaled.DivOp: "tl.div_rn({0}, {1})",
    scaled.NegOp: "-{0}",
    scaled.ReluOp: "tl.maximum({0}, 0.0, propagate_nan=tl.PropagateNan.ALL)",
    scaled.GeluOp: f"{{0}} * (0.5 * (1.0 + tl.math.erf({{0}} * {_SQRT_HALF})))",
    scaled.TanhOp: "2.0 * tl.sigmoid(2.0 * {0}) - 1.0",
    scaled.SigmoidOp: "tl.sigmoid({0})",
    scaled.ExpOp: "tl.exp({0})",
    scaled.LogOp: "tl.log({0})",
    scaled.SqrtOp: "tl.sqrt_rn({0})",
    scaled.ReluGradOp: "tl.where({0} > 0.0, {1}, 0.0)",  # (x, dy)
    scaled.GeluGradOp: (  # (x, dy)
        f"{{1}} * (0.5 * (1.0 + tl.math.erf({{0}} * {_SQRT_HALF}))"
        f" + {{0}} * tl.exp(-0.5 * {{0}} * {{0}}) * {_INV_SQRT_2PI})"
    ),
    scaled.TanhGradOp: "{1} * (1.0 - {0} * {0})",  # (y, dy)
    scaled.SigmoidGradOp: "{1} * {0} * (1.0 - {0})",  # (y, dy)
    scaled.SqrtGradOp: "tl.div_rn({1}, 2.0 * {0})",  # (y, dy)
}
"""Per-op fp32 expression on the operands' values ``{0}``, ``{1}`` (in operand order)."""


class NotSupported(Exception):
    """The group holds an op (or a shape mix) this emitter does not generate yet."""


@dataclass
class GeneratedKernel:
    """The generated kernel of one group and what the host needs to launch it."""

    name: str
    source: str
    path: Path
    module: ModuleType
    kernel: Any  # the triton.jit function
    ops: list[Operation]
    inputs: list[SSAValue]
    """Operands read from outside the group, in the kernel's argument order."""
    outputs: list[SSAValue]
    """Results used outside the group (or by nothing: the group's roots), in order."""


def _check(group: KernelGroup) -> None:
    if group.kind != "elementwise":
        raise NotSupported(f"{group.name}: kind {group.kind!r}, not 'elementwise'")
    shape = None
    for op in group.ops:
        if type(op) not in EXPRESSIONS:
            raise NotSupported(f"{group.name}: op {op.name} is not a supported pointwise op")
        for v in (*op.operands, *op.results):
            if not isinstance(v.type, ScaledTensorType):
                raise NotSupported(f"{group.name}: {op.name} has a non-scaled operand {v.type}")
            s = tuple(v.type.get_shape())
            if shape is None:
                shape = s
            elif s != shape:
                raise NotSupported(f"{group.name}: {op.name} mixes shapes {shape} and {s}")


def _boundary(group: KernelGroup) -> tuple[list[SSAValue], list[SSAValue]]:
    inside = set(group.ops)
    produced = {r for op in group.ops for r in op.results}
    inputs: list[SSAValue] = []
    for op in group.ops:
        for v in op.operands:
            if v not in produced and v not in inputs:
                inputs.append(v)
    outputs = [
        r
        for op in group.ops
        for r in op.results
        if not r.uses or any(u.operation not in inside for u in r.uses)
    ]
    return inputs, outputs


def _label(v: SSAValue, names: dict[SSAValue, str] | None) -> str:
    if names and v in names:
        return names[v]
    return f"%{v.name_hint}" if v.name_hint else "%?"


def generate_source(group: KernelGroup, names: dict[SSAValue, str] | None = None) -> str:
    """The Triton source of ``group`` (raises `NotSupported`); ``names`` are the printed
    SSA names (`KernelPlan.names`) for the comments."""
    _check(group)
    inputs, outputs = _boundary(group)
    var: dict[SSAValue, str] = {}
    lines = [
        f"# Generated by scalc.lowering.emit_triton: kernel group {group.name} (@{group.entry}).",
        "# IR ops:",
    ]
    for op in group.ops:
        args = ", ".join(_label(v, names) for v in op.operands)
        res = ", ".join(_label(r, names) for r in op.results)
        lines.append(f"#   {res} = {op.name} {args} : {op.results[0].type}")
    lines += [
        "# Inputs and outputs are fp32 VALUES (data * scale), unpacked by the host for now; the",
        "# host computes each result's scale with SCALE_RULES and rounds value / scale into the",
        "# result's format (fp32 out for now). Intermediates stay fp32.",
        "",
        "import triton",
        "import triton.language as tl",
        "",
        "",
        "@triton.jit",
    ]
    params = [f"in{i}_ptr" for i in range(len(inputs))] + [
        f"out{i}_ptr" for i in range(len(outputs))
    ]
    lines.append(f"def {group.name}({', '.join(params)}, n_elements, BLOCK: tl.constexpr):")
    body = [
        "pid = tl.program_id(0)",
        "offsets = pid * BLOCK + tl.arange(0, BLOCK)",
        "mask = offsets < n_elements",
    ]
    for i, v in enumerate(inputs):
        var[v] = f"v{len(var)}"
        body.append(f"{var[v]} = tl.load(in{i}_ptr + offsets, mask=mask)  # {_label(v, names)}")
    for op in group.ops:
        expr = EXPRESSIONS[type(op)].format(*(var[v] for v in op.operands))
        (r,) = op.results
        var[r] = f"v{len(var)}"
        body.append(f"{var[r]} = {expr}  # {_label(r, names)} = {op.name}")
    for i, v in enumerate(outputs):
        body.append(f"tl.store(out{i}_ptr + offsets, {var[v]}, mask=mask)  # {_label(v, names)}")
    lines += ["    " + line for line in body]
    return "\n".join(lines) + "\n"


def cache_dir() -> Path:
    """``$SCALC_KERNEL_CACHE``, else ``<tmp>/scalc-kernels-<uid>``."""
    env = os.environ.get("SCALC_KERNEL_CACHE")
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(env) if env else Path(tempfile.gettempdir()) / f"scalc-kernels-{uid}"


def _import(name: str, source: str) -> tuple[Path, ModuleType]:
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}_{digest}.py"
    if not path.exists() or path.read_text() != source:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(source)
        os.replace(tmp, path)
    module_name = f"scalc_generated.{name}_{digest}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return path, module


def emit_elementwise(
    group: KernelGroup, names: dict[SSAValue, str] | None = None
) -> GeneratedKernel:
    """Generate, cache and import the kernel of ``group`` (raises `NotSupported`)."""
    source = generate_source(group, names)
    inputs, outputs = _boundary(group)
    path, module = _import(group.name, source)
    return GeneratedKernel(
        group.name, source, path, module, getattr(module, group.name), list(group.ops),
        inputs, outputs,
    )  # fmt: skip


def launch(gen: GeneratedKernel, *values: Any) -> list[Any]:
    """Run the kernel on fp32 torch tensors (one per ``gen.inputs``, all one shape);
    returns the fp32 values of ``gen.outputs``."""
    import torch
    import triton

    assert len(values) == len(gen.inputs)
    xs = [v.contiguous() for v in values]
    assert all(x.dtype == torch.float32 and x.shape == xs[0].shape for x in xs)
    outs = [torch.empty_like(xs[0]) for _ in gen.outputs]
    n = xs[0].numel()
    gen.kernel[(triton.cdiv(n, BLOCK),)](*xs, *outs, n, BLOCK=BLOCK)
    return outs


def output_scales(
    gen: GeneratedKernel, scales: Sequence[float], shape: tuple[int, ...]
) -> list[float]:
    """The scale of each output: ``SCALE_RULES`` applied op by op from the input scales
    (host-side, no data)."""
    scale = dict(zip(gen.inputs, scales, strict=True))
    for op in gen.ops:
        ins = tuple(scale[v] for v in op.operands)
        outs = SCALE_RULES[type(op)](op, ins, tuple(shape for _ in op.operands))
        scale.update(zip(op.results, outs, strict=True))
    return [scale[v] for v in gen.outputs]
