"""The checker: names, shapes and dtypes of a parsed program.

``check(program, source)`` evaluates the program without building IR and raises one
:class:`~scalc.diagnostics.ScalcError` with every independent mistake, or returns the
:class:`~scalc.frontend.program.ProgramInfo` (what the program declares).
"""

from __future__ import annotations

from scalc.diagnostics import DiagnosticSink
from scalc.frontend import ast
from scalc.frontend.evaluate import CheckEmitter
from scalc.frontend.program import ProgramInfo, evaluate_program
from scalc.frontend.types import Tensor, TensorType


class _CheckProgramEmitter(CheckEmitter):
    def input(self, name: str, type: TensorType) -> Tensor:
        return Tensor(type)

    def param(self, name: str, type: TensorType) -> Tensor:
        return Tensor(type)


def check(program: ast.Program, source: str) -> ProgramInfo:
    """Type-check ``program``; raise ``ScalcError`` listing every diagnostic."""
    sink = DiagnosticSink(source)
    info = evaluate_program(program, sink, _CheckProgramEmitter())
    sink.raise_if_any()
    return info
