"""What the training scripts in examples/ share: the common flags, a progress bar, the
informational lines, the final line, and running ``main`` so that mistakes are one-line
messages instead of tracebacks.

Output contract of every script:
  * stdout: informational lines (data set, evaluations; none with ``--quiet``), then,
    always, exactly one last line ``final: name=value ...`` (values with 5 decimals);
  * stderr: the progress bar (none with ``--quiet``), warnings and errors;
  * exit status: 0 success, 1 a scalc error (the message, no traceback), 2 bad flags
    (argparse), 130 interrupted.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

# The one source of truth for what scalc can run: the scripts offer exactly these.
import scalc
from scalc import RECIPES, ScalcError

EXAMPLES = Path(__file__).resolve().parent
TAIL_FRACTION = 0.1  # the final `loss` is the mean training loss over the last 10% of steps


def model_path(name: str) -> Path:
    """The ``.scl`` file beside these scripts (so they run from any directory)."""
    return EXAMPLES / name


# --- flags ----------------------------------------------------------------------------


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def make_parser(
    description: str, *, steps: int, lr: float, batch_size: int, epilog: str | None = None
) -> argparse.ArgumentParser:
    """A parser with the flags every training script has; a script adds its own after."""
    parser = argparse.ArgumentParser(
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--recipe",
        metavar="RECIPE",
        default="fp32",
        help=(
            f"precision recipe to compile with: a built-in ({', '.join(RECIPES)}) or the path "
            "of a .toml/.json recipe file (docs/scaled.md); checked when the model is "
            "compiled (default: %(default)s)"
        ),
    )
    parser.add_argument(
        "--steps", type=positive_int, default=steps, help="optimizer steps (default: %(default)s)"
    )
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="seed for the parameters, the data order and any split (default: %(default)s)",
    )
    parser.add_argument(
        "--backend",
        choices=scalc.BACKENDS,
        default="auto",
        help="where the session runs (default: %(default)s)",
    )
    parser.add_argument(
        "--lr", type=positive_float, default=lr, help="AdamW learning rate (default: %(default)s)"
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=batch_size,
        help="examples per step (default: %(default)s)",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="print only the final line (no progress bar, no informational lines)",
    )
    return parser


def compile_session(model: str, args: argparse.Namespace, consts: dict[str, int] | None = None) -> Any:
    """Compile ``examples/<model>`` with the flags' recipe and AdamW learning rate and open a
    session on the flags' backend and seed. ``consts`` replaces the values of the model's
    ``const NAME = ...`` lines (a smaller model of the same shape)."""
    source: Any = model_path(model)
    if consts:
        source = with_consts(source.read_text(), consts)
    program = scalc.compile(source, recipe=args.recipe, optimizer="adamw", lr=args.lr)
    return program.session(backend=args.backend, seed=args.seed)


def with_consts(source: str, consts: dict[str, int]) -> str:
    """``source`` with each ``const NAME = ...`` of ``consts`` given the new value."""
    for name, value in consts.items():
        source, found = re.subn(
            rf"^const {name} = [^#\n]*", f"const {name} = {value} ", source, flags=re.M
        )
        if found != 1:
            raise ValueError(f"the model has no `const {name}`")
    return source


# --- output ---------------------------------------------------------------------------


class Progress:
    """A progress bar on ``stream`` (stderr): steps done/total, an EMA of the loss, steps/s
    and the time left. On a terminal it redraws one line with ``\\r`` at most 10 times a
    second; otherwise it writes a plain line every 10% of the steps."""

    REDRAW_S = 0.1
    EMA = 0.9  # weight of the previous average

    def __init__(self, total: int, *, enabled: bool = True, stream: IO[str] | None = None) -> None:
        self.total = total
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.done = 0
        self.ema: float | None = None
        self._drawn = 0.0  # when the bar was last drawn (terminal)
        self._visible = False  # a bar line is on the terminal without a newline
        self._next_line = 0  # the next step count at which a plain line is due

    def update(self, step: int, loss: float) -> None:
        """Record that ``step`` steps are done, the last with training loss ``loss``."""
        self.done = step
        if math.isfinite(loss):
            self.ema = loss if self.ema is None else self.EMA * self.ema + (1 - self.EMA) * loss
        if not self.enabled:
            return
        if self.tty:
            now = time.perf_counter()
            if step >= self.total:  # the last state stays, on its own line
                self.stream.write("\r" + self.render() + "\x1b[K\n")
                self._visible = False
            elif now - self._drawn >= self.REDRAW_S:
                self._drawn = now
                self.stream.write("\r" + self.render() + "\x1b[K")
                self._visible = True
            self.stream.flush()
        elif step >= self._next_line or step >= self.total:
            self.stream.write(self.render() + "\n")
            self.stream.flush()
            every = max(1, math.ceil(self.total / 10))
            self._next_line = (step // every + 1) * every

    def render(self) -> str:
        elapsed = time.perf_counter() - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        width = 20
        filled = width * self.done // self.total if self.total else width
        bar = "#" * filled + "." * (width - filled)
        loss = "  -   " if self.ema is None else f"{self.ema:.4f}"
        eta = (self.total - self.done) / rate if rate > 0 else math.inf
        return (
            f"step {self.done:>{len(str(self.total))}}/{self.total} [{bar}] "
            f"loss {loss}  {rate:.2f} step/s  ETA {format_seconds(eta)}"
        )

    def clear(self) -> None:
        """Take the bar off the terminal line (before other output, or at the end)."""
        if self.enabled and self.tty and self._visible:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._visible = False

    def close(self) -> None:
        """End an unfinished bar (an error, an interrupt): keep its last state, end the line."""
        if self.enabled and self.tty and self._visible:
            self.stream.write("\n")
            self.stream.flush()
            self._visible = False


def format_seconds(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--:--"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class Reporter:
    """Informational lines on stdout (silenced by ``--quiet``) that keep the bar intact."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.progress: Progress | None = None

    def bar(self, total: int) -> Progress:
        self.progress = Progress(total, enabled=not self.quiet)
        return self.progress

    def info(self, message: str) -> None:
        if self.quiet:
            return
        if self.progress is not None:
            self.progress.clear()
        print(message, flush=True)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.close()


def tail_mean(losses: Sequence[float]) -> float:
    """The mean of the last ``TAIL_FRACTION`` of ``losses`` (at least one value)."""
    count = max(1, math.ceil(len(losses) * TAIL_FRACTION))
    tail = losses[-count:]
    return math.fsum(tail) / len(tail) if tail else math.nan


def final_line(**values: float) -> str:
    """``final: a=1.00000 b=2.00000``: the one line a script's result is read from."""
    return "final: " + " ".join(f"{name}={value:.5f}" for name, value in values.items())


def run(
    main: Callable[[argparse.Namespace, Reporter], dict[str, float]],
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None = None,
) -> int:
    """Parse flags, run ``main`` and print its final line; scalc errors become
    ``error: MESSAGE`` on stderr and exit status 1."""
    args = parser.parse_args(argv)
    reporter = Reporter(args.quiet)
    try:
        values = main(args, reporter)
    except ScalcError as error:
        reporter.close()
        print(error, file=sys.stderr)  # "error: ..." or "FILE:LINE:COL: error: ..."
        return 1
    except KeyboardInterrupt:
        reporter.close()
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    reporter.close()
    print(final_line(**values), flush=True)
    return 0
