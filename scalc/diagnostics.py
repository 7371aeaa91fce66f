"""Diagnostics: user mistakes as values, rendered in one place.

A diagnostic points at a source span and renders as

    examples/mlp.scl:12:9: error: matmul: contracting dims differ (64 vs 128)
        let h = x @ w2
                ^~~~~~

Stages collect diagnostics instead of raising at the first one, so one run reports every
independent mistake; a stage that cannot go on raises :class:`ScalcError` carrying all of
them, sorted by position.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Span:
    """A region of a source file; lines and columns are 1-based, ``end_col`` exclusive."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def to(self, other: Span) -> Span:
        """The span from the start of ``self`` to the end of ``other``."""
        return Span(self.file, self.line, self.col, other.end_line, other.end_col)


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One user-facing error at ``span``."""

    span: Span
    message: str

    def render(self, source: str | None) -> str:
        """``FILE:LINE:COL: error: MESSAGE``, then the source line and a caret under the span."""
        s = self.span
        head = f"{s.file}:{s.line}:{s.col}: error: {self.message}"
        lines = source_lines(source) if source is not None else []
        if not 1 <= s.line <= len(lines):
            return head
        raw = lines[s.line - 1]
        text = raw.expandtabs(4)
        # Columns count characters (a tab is one); the caret is placed in expanded text.
        start = len(raw[: s.col - 1].expandtabs(4))
        end = len(raw[: s.end_col - 1].expandtabs(4)) if s.end_line == s.line else len(text)
        caret = " " * start + "^" + "~" * (max(1, end - start) - 1)
        return f"{head}\n{text}\n{caret}"


def source_lines(source: str) -> list[str]:
    r"""The lines of ``source`` as the parser counts them: split at ``\n`` only.

    ``str.splitlines`` would also split at form feeds, ``\x1e`` and ``\u2028``, which the
    parser treats as ordinary characters; then the shown line would not be the reported one.
    """
    return [line.removesuffix("\r") for line in source.split("\n")]


class ScalcError(Exception):
    """A user error: bad source, bad options, bad input. The CLI prints it and exits 1."""

    def __init__(self, diagnostics: list[Diagnostic] | str, source: str | None = None):
        if isinstance(diagnostics, str):
            self.diagnostics: list[Diagnostic] = []
            self.plain = diagnostics
        else:
            self.diagnostics = sorted(set(diagnostics))
            self.plain = ""
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        """Every diagnostic with its source excerpt, blank-line separated."""
        if not self.diagnostics:
            return f"error: {self.plain}"
        return "\n".join(d.render(self.source) for d in self.diagnostics)


class InputError(ScalcError, ValueError):
    """A runtime input with the wrong name, shape or dtype."""


@dataclass
class DiagnosticSink:
    """Collects diagnostics for one source file; ``raise_if_any`` ends the stage."""

    source: str
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, span: Span, message: str) -> None:
        self.diagnostics.append(Diagnostic(span, message))

    def raise_if_any(self) -> None:
        if self.diagnostics:
            raise ScalcError(self.diagnostics, self.source)


def did_you_mean(name: str, candidates: list[str] | set[str]) -> str:
    """``"; did you mean `w_out`?"`` for the closest candidate, or ``""`` when none is close."""
    import difflib

    best = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f"; did you mean `{best[0]}`?" if best else ""
