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
import functools
import hashlib
import importlib.machinery
import importlib.util
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from scalc.diagnostics import ScalcError
from scalc.lowering.partition import KernelGroup, KernelPlan
from scalc.lowering.shapes import Dims, module_dims

__all__ = [
    "GENERATORS",
    "GenContext",
    "KernelCacheError",
    "KernelSource",
    "NotSupported",
    "ProgramKernels",
    "boundary",
    "cache_dir",
    "canonical_kernel_names",
    "checked_cache_dir",
    "generate",
    "generate_group",
    "generator",
    "load",
    "module_header",
    "program_kernels",
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
    text = canonical_kernel_names(GENERATORS[group.kind](group, ctx), group.name)
    return KernelSource(group, text, inputs, outputs)


_JIT_DEF = re.compile(r"^@triton\.jit\ndef (\w+)\(", re.MULTILINE)


def canonical_kernel_names(text: str, group_name: str) -> str:
    """``text`` with every ``@triton.jit`` kernel named after the group (``k24_gemm_e4m3``,
    ``k8_cast_e4m3_amax``) renamed by what it computes and its content: the group's number
    dropped and a hash of the kernel's text (its own name blanked) appended,
    ``gemm_e4m3_3f09a1c2``. Two groups that generate the same kernel then hold the same
    text, which Triton compiles (and caches) once."""
    prefix = re.sub(r"^k\d+_", "", group_name)
    renames: dict[str, str] = {}
    for match in _JIT_DEF.finditer(text):
        name = match.group(1)
        if not name.startswith(group_name):
            continue  # a template's own helper: named by what it is already
        body = _function_text(text, match.start()).replace(name, "KERNEL")
        digest = hashlib.sha256(body.encode()).hexdigest()[:8]
        renames[name] = f"{prefix}{name[len(group_name):]}_{digest}"
    for old, new in renames.items():
        text = re.sub(rf"\b{old}\b", new, text)
    return text


def _function_text(text: str, start: int) -> str:
    """The decorated function that begins at ``start`` (up to the next top-level line)."""
    end = re.compile(r"^\S", re.MULTILINE)
    first_line_end = text.index("\n", text.index("def ", start))
    following = end.search(text, first_line_end + 1)
    while following is not None and text.startswith(")", following.start()):
        following = end.search(text, following.start() + 1)  # a signature's closing line
    return text[start : following.start() if following else len(text)]


def generate(plan: KernelPlan, module: ModuleOp) -> dict[str, list[KernelSource]]:
    """Entry point -> the generated module of each of its non-host groups, in plan order."""
    ctx = GenContext(plan.names, module_dims(module))
    return {
        entry: [generate_group(g, ctx) for g in groups if g.kind != "host"]
        for entry, groups in plan.groups.items()
    }


@dataclass
class ProgramKernels:
    """A scaled module's kernel plan and generated modules: what ``--emit triton`` prints,
    what the artifact stores and what a Triton session runs, made once per program by
    `program_kernels`. ``error`` says why there are no modules (an op no generator handles
    yet); ``sources`` is then empty."""

    plan: KernelPlan
    sources: dict[tuple[str, str], KernelSource]
    """(entry point, group name) -> the group's generated module, in plan order."""
    error: str | None = None

    def message(self) -> str:
        """The one wording of why there are no kernels (the CLI, the API and the Triton
        sessions say the same)."""
        return f"cannot generate Triton kernels for this program: {self.error}"

    def by_entry(self) -> dict[str, list[KernelSource]]:
        out: dict[str, list[KernelSource]] = {}
        for (entry, _), src in self.sources.items():
            out.setdefault(entry, []).append(src)
        return out


def program_kernels(module: ModuleOp, plan: KernelPlan | None = None) -> ProgramKernels:
    """Partition ``module`` (unless its ``plan`` is given) and generate every non-host group
    (the one kernel pipeline: the driver's ``triton`` stage, the compile API and the Triton
    backends all use it)."""
    from scalc.lowering.partition import partition

    plan = plan if plan is not None else partition(module)
    try:
        generated = generate(plan, module)
    except NotSupported as err:
        return ProgramKernels(plan, {}, str(err))
    sources = {(entry, s.name): s for entry, srcs in generated.items() for s in srcs}
    return ProgramKernels(plan, sources)


def template_function(template: str, name: str) -> str:
    """The source text of function ``name`` (with its decorators) in
    ``lowering/templates/<template>.py``, read as text: generation needs no triton, and a
    generated module shares its kernel bodies with the template the template tests check."""
    functions = _template_functions(template)
    if name not in functions:
        raise KeyError(f"no function {name} in lowering/templates/{template}.py")
    return functions[name]


@functools.cache
def _template_functions(template: str) -> dict[str, str]:
    """Name -> source text of every top-level function of a template file, parsed once
    per process (generation copies them thousands of times for a large model)."""
    path = Path(__file__).resolve().parent.parent / "templates" / f"{template}.py"
    text = path.read_text()
    lines = text.splitlines()
    out: dict[str, str] = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef):
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            out[node.name] = "\n".join(lines[start - 1 : node.end_lineno]) + "\n"
    return out


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


class KernelCacheError(ScalcError):
    """The kernel cache folder is not one scalc may import code from."""


def cache_dir() -> Path:
    """``$SCALC_KERNEL_CACHE``, else ``<tmp>/scalc-kernels-<uid>``."""
    env = os.environ.get("SCALC_KERNEL_CACHE")
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(env) if env else Path(tempfile.gettempdir()) / f"scalc-kernels-{uid}"


def checked_cache_dir() -> Path:
    """`cache_dir`, made (mode 0700) if missing, and refused (`KernelCacheError`) unless it
    is a folder of the current user that other users cannot write: scalc imports the
    generated modules from it, so a folder someone else controls would run their code."""
    folder = cache_dir()
    hint = "set SCALC_KERNEL_CACHE to a folder of your own"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError as err:
        raise KernelCacheError(f"cannot use the kernel cache {folder}: {err.strerror}; {hint}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise KernelCacheError(f"the kernel cache {folder} is not a folder; {hint}")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise KernelCacheError(
            f"the kernel cache {folder} belongs to another user (uid {info.st_uid}), and scalc "
            f"imports code from it; {hint}"
        )
    if info.st_mode & stat.S_IWOTH:
        raise KernelCacheError(
            f"the kernel cache {folder} can be written by every user (mode "
            f"{stat.S_IMODE(info.st_mode):o}), and scalc imports code from it; run "
            f"`chmod 700 {folder}` or {hint}"
        )
    return folder


def load(name: str, source: str) -> ModuleType:
    """Write ``source`` to ``<cache>/<name>_<sha256[:16]>.py`` (atomically, once) and import
    it. Under ``TRITON_INTERPRET=1`` the module is imported under another name, so one
    process can hold both the compiled and the interpreted kernels of one source.

    Only ``source`` is ever imported: a file already there with other content (or a link)
    is replaced, and the file is read back and compared just before the import. The folder
    must be the user's own (`checked_cache_dir`)."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    folder = checked_cache_dir()
    path = folder / f"{name}_{digest}.py"
    if not _holds(path, source):
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(source)
        os.replace(tmp, path)
        if not _holds(path, source):
            raise KernelCacheError(f"{path} changed while scalc wrote it; not importing it")
    mode = "interpreted" if os.environ.get("TRITON_INTERPRET") == "1" else "compiled"
    module_name = f"scalc_generated.{mode}.{name}_{digest}"
    module = sys.modules.get(module_name)
    if module is None:
        loader = _SourceOnly(module_name, str(path), source)
        spec = importlib.util.spec_from_file_location(module_name, path, loader=loader)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return module


class _SourceOnly(importlib.machinery.SourceFileLoader):
    """Imports the module from its source, never from a cached ``.pyc`` (a ``__pycache__``
    file is not checked against the source it claims to be), and only if the file still
    holds ``source``."""

    def __init__(self, fullname: str, path: str, source: str) -> None:
        super().__init__(fullname, path)
        self.expected = source

    def get_code(self, fullname: str) -> Any:
        data = self.get_data(self.path)
        if data.decode("utf-8", errors="replace") != self.expected:
            raise KernelCacheError(f"{self.path} changed before its import; not importing it")
        return self.source_to_code(data, self.path)


def _holds(path: Path, source: str) -> bool:
    """Whether ``path`` is a regular file (not a link) whose text is ``source``."""
    try:
        return not path.is_symlink() and path.is_file() and path.read_text() == source
    except (OSError, UnicodeDecodeError):
        return False
