"""The compiler driver: a table of stages run in order, verified after each.

Every stage takes the previous stage's result; ``compile_source(..., emit=NAME)`` stops
after the named stage and returns its printed form. Invalid IR after a stage is a bug in
scalc, not in the user's program: it is reported as an :class:`InternalError` with the IR
written to a file for the bug report.
"""

from __future__ import annotations

import codecs
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import VerifyException

from scalc.diagnostics import ScalcError
from scalc.dialects.context import print_module
from scalc.frontend import ast
from scalc.frontend.build import build
from scalc.frontend.check import check
from scalc.frontend.parser import parse
from scalc.frontend.program import ProgramInfo
from scalc.lowering.codegen import KernelSource, program_kernels
from scalc.lowering.partition import KernelPlan, partition
from scalc.passes.autodiff import differentiate
from scalc.passes.optimizer import OptimizerConfig, add_optimizer
from scalc.passes.recipes import BUILTIN, Recipe
from scalc.passes.scalify import scalify


class InternalError(Exception):
    """scalc produced invalid IR: a compiler bug. The message says where the IR was saved."""


@dataclass
class Compilation:
    """What the stages have produced so far for one source file."""

    source: str
    file: str
    optimizer: OptimizerConfig = OptimizerConfig()
    recipe: Recipe = BUILTIN["fp32"]
    ast: ast.Program | None = None
    info: ProgramInfo | None = None
    nn: ModuleOp | None = None
    train: ModuleOp | None = None
    scaled: ModuleOp | None = None
    kernels: KernelPlan | None = None
    triton: dict[str, list[KernelSource]] | None = None


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Compilation], None]
    show: Callable[[Compilation], str]


def _parse(c: Compilation) -> None:
    c.ast = parse(c.source, c.file)
    c.info = check(c.ast, c.source)


def _build_nn(c: Compilation) -> None:
    assert c.ast is not None and c.info is not None
    c.nn = build(c.ast, c.source, c.info)
    _verify_or_report_bug(c.nn, "nn", c.file)


def _differentiate(c: Compilation) -> None:
    """Autodiff, then the optimizer: the nn module becomes the train module."""
    assert c.nn is not None
    train = c.nn.clone()
    trained, grad_types = differentiate(train)
    add_optimizer(train, trained, grad_types, c.optimizer, c.recipe.optimizer_precision)
    c.train = train
    _verify_or_report_bug(train, "train", c.file)


def _show_ast(c: Compilation) -> str:
    from scalc.frontend.dump import dump_ast

    assert c.ast is not None
    return dump_ast(c.ast)


def _scalify(c: Compilation) -> None:
    """Scale propagation for the recipe: the train module becomes the scaled module."""
    assert c.train is not None
    module = c.train.clone()
    scalify(module, c.recipe)
    c.scaled = module
    _verify_or_report_bug(module, "scaled", c.file)


def _partition(c: Compilation) -> None:
    """Partition the scaled module into kernel groups (docs/lowering.md)."""
    assert c.scaled is not None
    c.kernels = partition(c.scaled)


def _codegen(c: Compilation) -> None:
    """Triton source for every kernel group (docs/lowering.md), by the one kernel pipeline
    the compile API and the Triton backends use (`program_kernels`)."""
    assert c.scaled is not None and c.kernels is not None
    made = program_kernels(c.scaled, c.kernels)  # the plan of the `kernels` stage
    if made.error is not None:
        raise ScalcError(f"{c.file}: {made.message()}")
    c.kernels, c.triton = made.plan, made.by_entry()


def _show_triton(c: Compilation) -> str:
    """Every generated module, each under a header naming its artifact file."""
    assert c.triton is not None
    parts = []
    for entry, sources in c.triton.items():
        for src in sources:
            parts.append(f"# ===== triton/{entry}/{src.name}.py =====\n{src.source}")
    return "\n".join(parts)


STAGES: tuple[Stage, ...] = (
    Stage("ast", _parse, _show_ast),
    Stage("nn", _build_nn, lambda c: print_module(c.nn)),  # type: ignore[arg-type]
    Stage("train", _differentiate, lambda c: print_module(c.train)),  # type: ignore[arg-type]
    Stage("scaled", _scalify, lambda c: print_module(c.scaled)),  # type: ignore[arg-type]
    Stage("kernels", _partition, lambda c: c.kernels.show()),  # type: ignore[union-attr]
    Stage("triton", _codegen, _show_triton),
)
EMIT_CHOICES = tuple(stage.name for stage in STAGES)


def compile_source(
    source: str,
    file: str = "<input>",
    emit: str = "nn",
    optimizer: OptimizerConfig | None = None,
    recipe: Recipe | None = None,
) -> str:
    """Run the stages up to ``emit`` and return that stage's text.

    >>> print(compile_source("const D = 2", emit="ast").splitlines()[0])
    Program(file='<input>')
    """
    return run_stages(source, file, emit, optimizer, recipe).show()


@dataclass
class StageResult:
    compilation: Compilation
    stage: Stage

    def show(self) -> str:
        return self.stage.show(self.compilation)


def run_stages(
    source: str,
    file: str = "<input>",
    emit: str = "nn",
    optimizer: OptimizerConfig | None = None,
    recipe: Recipe | None = None,
) -> StageResult:
    """Run the stages up to and including ``emit``; raise ``ScalcError`` on user mistakes."""
    if emit not in EMIT_CHOICES:
        raise ScalcError(f"unknown stage `{emit}`; choose one of {', '.join(EMIT_CHOICES)}")
    compilation = Compilation(source, file, optimizer or OptimizerConfig(), recipe or BUILTIN["fp32"])
    for stage in STAGES:
        stage.run(compilation)
        if stage.name == emit:
            return StageResult(compilation, stage)
    raise AssertionError("unreachable: emit was validated")


def read_source(path: str | Path) -> str:
    """The text of a .scl file, or a ``ScalcError`` a user can act on."""
    p = Path(path)
    if not p.exists():
        raise ScalcError(f"{path}: no such file")
    if p.is_dir():
        raise ScalcError(f"{path}: is a directory, expected a .scl file")
    try:
        data = p.read_bytes()
    except OSError as err:
        raise ScalcError(f"{path}: cannot read: {err.strerror}") from None
    return decode_source(data, str(path))


def decode_source(data: bytes, name: str) -> str:
    """Program text from the bytes of file ``name`` (or ``<stdin>``): UTF-8 with newlines
    made ``\\n`` and a byte-order mark (some Windows editors write one) dropped."""
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ScalcError(f"{name}: not UTF-8 text (an invalid byte on line {line})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _verify_or_report_bug(module: ModuleOp, stage: str, file: str) -> None:
    try:
        module.verify()
    except VerifyException as err:
        dump = Path(tempfile.gettempdir()) / f"scalc-bug-{stage}.mlir"
        dump.write_text(print_module(module, generic=True))
        raise InternalError(
            f"internal error: the `{stage}` stage produced invalid IR for {file}: {err}\n"
            f"The IR is in {dump}; please report it with the command:\n"
            f"  scalc compile {file} --emit {stage}"
        ) from None
