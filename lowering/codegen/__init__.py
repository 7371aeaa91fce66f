"""Triton code generation: one readable Python module per kernel group (docs/lowering.md).

``generate(plan, module)`` turns every non-host `KernelGroup` of a `KernelPlan` into a
`KernelSource`: the module's text (``@triton.jit`` kernels, each with the IR ops it
implements in a comment, and the host function ``launch`` of `abi`), and the group's
boundary: the values it reads (``inputs``, ``launch``'s argument order) and the values it
makes for the rest of the program (``outputs``, ``launch``'s result order).

One generator per kernel kind (``gemm.py``, ``elementwise.py``, ``rowwise.py``, ``cast.py``,
``reduce.py``, ``optimizer.py``), registered in `GENERATORS`::

    @generator("cast")
    def generate_cast(group: KernelGroup, ctx: GenContext) -> str: ...

A generator returns the module text; anything it cannot generate is `NotSupported`, naming
the group and the op. Besides ``launch``, a generated module defines ``HOPPER``: one entry
per ``@triton.jit`` kernel with the signature and constexprs to compile it for sm_90
(``tests/lowering/test_codegen_cross_compile.py`` compiles every kernel of the examples).

`load` writes a module's text to the kernel cache (``$SCALC_KERNEL_CACHE``, else a
per-user folder in the temp directory) under a name with its hash and imports it: Triton's
``@jit`` reads a kernel's source back from its file, so nothing is ``exec``-ed.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from scalc.lowering.partition import KernelGroup, KernelPlan
from scalc.lowering.shapes import Dims, module_dims

__all__ = [
    "GENERATORS",
    "GenContext",
    "KernelSource",
    "NotSupported",
    "boundary",
    "cache_dir",
    "generate",
    "generate_group",
    "generator",
    "load",
    "module_header",
    "template_function",
]


class NotSupported(Exception):
    """A group holds an op (or a type, or a shape) its kind's generator does not handle."""


@dataclass
class GenContext:
    """What a generator may read besides the group: the printed SSA names (for comments)
    and the symbolic dims of every value (`scalc.lowering.shapes`)."""

    names: dict[SSAValue, str]
    dims: dict[SSAValue, Dims]

    def label(self, value: SSAValue) -> str:
        """``%4`` as ``--emit scaled`` prints it."""
        if value in self.names:
            return self.names[value]
        return f"%{value.name_hint}" if value.name_hint else "%?"

    def describe(self, op: Operation) -> str:
        """``%6 = scaled.add %4, %5 : !scaled.tensor<?x256xbf16>`` for a kernel comment."""
        args = ", ".join(self.label(v) for v in op.operands)
        if not op.results:
            return f"{op.name} {args}"
        res = ", ".join(self.label(r) for r in op.results)
        return f"{res} = {op.name} {args} : {op.results[0].type}"


@dataclass
class KernelSource:
    """The generated module of one kernel group."""

    group: KernelGroup
    source: str
    inputs: list[SSAValue]
    outputs: list[SSAValue]

    @property
    def name(self) -> str:
        return self.group.name

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()[:16]


Generator = Callable[[KernelGroup, GenContext], str]
GENERATORS: dict[str, Generator] = {}
"""Kernel kind -> its generator. Filled when the generator modules are imported."""


def generator(kind: str) -> Callable[[Generator], Generator]:
    """Register the decorated function as the generator of ``kind``."""

    def register(fn: Generator) -> Generator:
        assert kind not in GENERATORS, f"two generators for kind {kind}"
        GENERATORS[kind] = fn
        return fn

    return register


def boundary(group: KernelGroup) -> tuple[list[SSAValue], list[SSAValue]]:
    """(inputs, outputs) of ``group``: operands made outside it, in first-use order; results
    used outside it or by nothing (results of ops without users, like an unused amax, are
    outputs too: the caller drops them), in op order. Ops without results (``nn.set_*``)
    have no outputs."""
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


def _import_generators() -> None:
    from scalc.lowering.codegen import (  # noqa: F401  (they register themselves)
        cast,
        elementwise,
        gemm,
        optimizer,
        reduce,
        rowwise,
    )


def generate_group(group: KernelGroup, ctx: GenContext) -> KernelSource:
    """The `KernelSource` of one non-host group (raises `NotSupported`)."""
    _import_generators()
    if group.kind not in GENERATORS:
        raise NotSupported(f"{group.name}: no generator for kind {group.kind!r}")
    inputs, outputs = boundary(group)
    return KernelSource(group, GENERATORS[group.kind](group, ctx), inputs, outputs)


def generate(plan: KernelPlan, module: ModuleOp) -> dict[str, list[KernelSource]]:
    """Entry point -> the generated module of each of its non-host groups, in plan order."""
    ctx = GenContext(plan.names, module_dims(module))
    return {
        entry: [generate_group(g, ctx) for g in groups if g.kind != "host"]
        for entry, groups in plan.groups.items()
    }


def template_function(template: str, name: str) -> str:
    """The source text of function ``name`` (with its decorators) in
    ``lowering/templates/<template>.py``, read as text: generation needs no triton, and a
    generated module shares its kernel bodies with the template the template tests check."""
    path = Path(__file__).resolve().parent.parent / "templates" / f"{template}.py"
    text = path.read_text()
    tree = ast.parse(text)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            lines = text.splitlines()[start - 1 : node.end_lineno]
            return "\n".join(lines) + "\n"
    raise KeyError(f"no function {name} in lowering/templates/{template}.py")


def module_header(
    kind: str,
    group: KernelGroup,
    ctx: GenContext,
    *,
    ops_title: str = "IR ops:",
    indexed: bool = False,
    notes: Sequence[str] = (),
    imports: Sequence[str] = ("math", "torch"),
) -> list[str]:
    """The first lines of every generated module: what generated it, the group's IR ops
    (``[i]``-numbered when ``indexed``), free comment ``notes``, then the imports (the
    standard ones of ``imports`` -- ``math``, ``torch`` -- triton, and `abi`)."""
    lines = [
        f"# Generated by scalc.lowering.codegen.{kind}: kernel group {group.name} (@{group.entry}).",
        f"# {ops_title}",
        *(
            f"#   [{i}] {ctx.describe(op)}" if indexed else f"#   {ctx.describe(op)}"
            for i, op in enumerate(group.ops)
        ),
        *(f"# {note}" for note in notes),
        "",
    ]
    if "math" in imports:
        lines += ["import math", ""]
    if "torch" in imports:
        lines.append("import torch")
    return [*lines, "import triton", "import triton.language as tl", "", "from scalc.lowering.codegen import abi"]


def cache_dir() -> Path:
    """``$SCALC_KERNEL_CACHE``, else ``<tmp>/scalc-kernels-<uid>``."""
    env = os.environ.get("SCALC_KERNEL_CACHE")
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(env) if env else Path(tempfile.gettempdir()) / f"scalc-kernels-{uid}"


def load(name: str, source: str) -> ModuleType:
    """Write ``source`` to ``<cache>/<name>_<sha256[:16]>.py`` (atomically, once) and import
    it. Under ``TRITON_INTERPRET=1`` the module is imported under another name, so one
    process can hold both the compiled and the interpreted kernels of one source."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}_{digest}.py"
    if not path.exists() or path.read_text() != source:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(source)
        os.replace(tmp, path)
    mode = "interpreted" if os.environ.get("TRITON_INTERPRET") == "1" else "compiled"
    module_name = f"scalc_generated.{mode}.{name}_{digest}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return module
