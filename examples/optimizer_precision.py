"""Compare the optimizer precision modes (docs/collage.md) on examples/gpt.scl: the same
steps, seed and data for each, a table and a loss-curve plot.

    python examples/optimizer_precision.py --out-dir out     # about 5 min on 2 CPU cores
    ...
    final: fp32=2.95290 fp32-master=2.95292 bf16=3.04913 collage-light=2.96012 collage-plus=2.96072

Each mode compiles gpt.scl with the bf16 recipe (``--recipe``: bf16 compute, bf16
matmuls) changed only in its ``optimizer_precision``, and trains it with AdamW on
examples/train_gpt.py's text and random windows (the same batches for every mode). The
default setting is one where pure-bf16 AdamW loses its updates: the small learning rate
1e-4 with beta2 = 0.999. An update smaller than half a bf16 ulp of its weight
(``|delta| < 2^-9 |w|``; the layer-norm gains near 1 need ``|delta| >= 2^-9``) rounds
away, so the ``bf16`` mode stalls, while the Collage modes add it exactly to a
two-component (hi + lo) weight and track ``fp32-master``. ``--warm-steps N --warm-lr X``
trains the first N steps at X before ``--lr`` takes over (a warm phase, then the late
low-learning-rate regime).

Per mode the table gives the final loss (the mean training loss over the last 10% of
steps) and its difference to fp32-master, the mean over the steps of the effective
descent quality EDQ = <w' - w, -delta> / |delta|^2 (1: every intended update applied; 0:
none) and of the stalled fraction (elements whose nonzero update left the weight
unchanged), and the bytes per parameter of the training state as allocated (weights,
master copies, compensation terms, moments). ``--out-dir`` receives the table as
``optimizer_precision.md`` and the plot ``optimizer_precision.png`` (matplotlib, Agg:
no display needed; ``pip install 'scalc[examples]'``): smoothed loss curves, their gap
to fp32-master, and EDQ over the steps.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from _common import (
    Reporter,
    make_parser,
    model_path,
    non_negative_int,
    positive_float,
    run,
    tail_mean,
)
from train_gpt import MAX_T, VAL_FRACTION, encode, load_text, windows

import scalc
from scalc import ScalcError
from scalc.passes.recipes import resolve_recipe

MODES = ("fp32", "fp32-master", "bf16", "collage-light", "collage-plus")
REFERENCE = "fp32-master"  # what the gaps are measured against
TABLE = "optimizer_precision.md"
FIGURE = "optimizer_precision.png"
COLORS = {
    "fp32": "#7f7f7f",
    "fp32-master": "#000000",
    "bf16": "#d62728",
    "collage-light": "#1f77b4",
    "collage-plus": "#2ca02c",
}
STYLES = {"fp32": ":", "fp32-master": "-", "bf16": "-", "collage-light": "--", "collage-plus": "-"}


@dataclass
class Run:
    """One mode's training record."""

    mode: str
    losses: list[float] = field(default_factory=list)
    edq: list[float] = field(default_factory=list)
    stalled: list[float] = field(default_factory=list)
    bytes_per_param: float = math.nan
    seconds: float = 0.0

    @property
    def final_loss(self) -> float:
        return tail_mean(self.losses)


def fraction(text: str) -> float:
    """An argparse type: a number strictly between 0 and 1 (beta2)."""
    value = positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be below 1, got {text}")
    return value


def learning_rate(step: int, args: argparse.Namespace) -> float:
    """The schedule: ``--warm-lr`` for the first ``--warm-steps`` steps, then ``--lr``."""
    return args.warm_lr if step <= args.warm_steps else args.lr


def train_mode(mode: str, args: argparse.Namespace, train: np.ndarray, out: Reporter) -> Run:
    base = resolve_recipe(args.recipe)
    recipe = dataclasses.replace(base, name=f"{base.name}-{mode}", optimizer_precision=mode)
    program = scalc.compile(
        model_path("gpt.scl"), recipe=recipe.validate(), optimizer="adamw", lr=args.lr,
        beta2=args.beta2,
    )  # fmt: skip
    sess = program.session(backend=args.backend, seed=args.seed)
    rng = np.random.default_rng([args.seed, 1])  # train_gpt.py's windows: the same for every mode
    record = Run(mode, bytes_per_param=sess.state_bytes()["per_param"])
    out.info(f"{mode}: {args.steps} steps")
    bar = out.bar(args.steps)
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        starts = rng.integers(0, len(train) - MAX_T, size=args.batch_size)
        tokens, targets = windows(train, starts, MAX_T)
        result = sess.train_step(lr=learning_rate(step, args), tokens=tokens, targets=targets)
        record.losses.append(result.loss)
        record.edq.append(float(result.metrics.get("edq", math.nan)))
        record.stalled.append(float(result.metrics.get("stalled", math.nan)))
        bar.update(step, result.loss)
    record.seconds = time.perf_counter() - start
    out.info(
        f"{mode}: loss {record.final_loss:.4f}, EDQ {np.nanmean(record.edq):.3f}, "
        f"{record.bytes_per_param:.2f} bytes/param, {record.seconds:.1f} s "
        f"({record.seconds / args.steps:.2f} s/step)"
    )
    return record


# --- the table ----------------------------------------------------------------------------


def table(runs: list[Run]) -> str:
    """The Markdown table, one row per mode."""
    reference = next((r.final_loss for r in runs if r.mode == REFERENCE), None)
    gap_title = f"vs {REFERENCE}"
    lines = [
        f"| mode | final loss | {gap_title} | mean EDQ | stalled | bytes/param | s/step |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        gap = "-" if reference is None else f"{100 * (r.final_loss / reference - 1):+.2f}%"
        lines.append(
            f"| {r.mode} | {r.final_loss:.4f} | {gap} | {np.nanmean(r.edq):.3f} | "
            f"{100 * np.nanmean(r.stalled):.1f}% | {r.bytes_per_param:.2f} | "
            f"{r.seconds / len(r.losses):.2f} |"
        )
    return "\n".join(lines)


def settings(args: argparse.Namespace) -> str:
    warm = (
        f"lr {args.warm_lr:g} for the first {args.warm_steps} steps, then {args.lr:g}"
        if args.warm_steps
        else f"lr {args.lr:g}"
    )
    return (
        f"gpt.scl, recipe `{args.recipe}` with each optimizer_precision; AdamW {warm}, "
        f"beta2 {args.beta2:g}; {args.steps} steps of {args.batch_size} windows of {MAX_T} "
        f"characters, seed {args.seed}"
    )


def write_table(runs: list[Run], args: argparse.Namespace, path: Path) -> None:
    command = shlex.join(["python", "examples/optimizer_precision.py", *sys.argv[1:]])
    text = (
        "# Optimizer precision modes (docs/collage.md)\n\n"
        f"{settings(args)}.\n\n`{command}`\n\n{table(runs)}\n\n"
        "final loss: mean training loss over the last 10% of steps (nats/character); "
        f"vs {REFERENCE}: its relative difference; mean EDQ and stalled: means over the "
        "steps (EDQ 1: every intended update applied); bytes/param: the training state "
        "as allocated.\n"
    )
    path.write_text(text, encoding="utf-8")


# --- the plot -----------------------------------------------------------------------------


def smooth(values: list[float], window: int) -> tuple[np.ndarray, np.ndarray]:
    """(steps, moving average over ``window`` steps), the steps 1-based at the window's end."""
    data = np.asarray(values, dtype=np.float64)
    window = max(1, min(window, len(data)))
    averaged = np.convolve(data, np.ones(window) / window, mode="valid")
    return np.arange(window, len(data) + 1), averaged


def draw(runs: list[Run], args: argparse.Namespace, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    window = max(1, args.steps // 20)
    reference = next((r for r in runs if r.mode == REFERENCE), None)
    panels = 3 if reference is not None else 2
    fig, axes = plt.subplots(
        panels, 1, figsize=(9, 3.2 * panels), sharex=True, constrained_layout=True
    )
    loss_ax, edq_ax = axes[0], axes[-1]
    fig.suptitle(settings(args), fontsize=9, wrap=True)

    for r in runs:
        style = {"color": COLORS.get(r.mode), "linestyle": STYLES.get(r.mode, "-"), "lw": 1.6}
        x, y = smooth(r.losses, window)
        loss_ax.plot(x, y, label=f"{r.mode} ({r.final_loss:.3f})", **style)
        x, y = smooth(r.edq, window)
        edq_ax.plot(x, y, label=r.mode, **style)
        if reference is not None:
            x, y = smooth(list(np.subtract(r.losses, reference.losses)), window)
            axes[1].plot(x, y, label=r.mode, **style)
    loss_ax.set_ylabel("training loss (nats/char)")
    loss_ax.set_title(f"loss, mean of {window} steps (legend: final loss)", fontsize=10)
    loss_ax.legend(loc="upper right", fontsize=9)
    # Zoom on the part after the first quarter, where the modes part ways.
    late = [v for r in runs for v in smooth(r.losses, window)[1][len(r.losses) // 4 :]]
    if late:
        low, high = min(late), max(late)
        pad = 0.1 * (high - low or 1.0)
        loss_ax.set_ylim(low - pad, high + 4 * pad)
    if reference is not None:
        axes[1].axhline(0, color="black", lw=0.8)
        axes[1].set_ylabel(f"loss - {REFERENCE}")
        axes[1].set_title(f"gap to {REFERENCE} (same batches), mean of {window} steps", fontsize=10)
    edq_ax.set_ylabel("EDQ")
    edq_ax.set_ylim(-0.05, 1.05)
    edq_ax.set_title(
        f"effective descent quality: share of the intended update applied, mean of {window}",
        fontsize=10,
    )
    edq_ax.legend(loc="lower left", fontsize=9)
    edq_ax.set_xlabel("step")
    for ax in axes:
        ax.grid(alpha=0.3)
        if args.warm_steps and args.warm_steps < args.steps:
            ax.axvspan(0, args.warm_steps, color="orange", alpha=0.08, lw=0)
    if args.warm_steps and args.warm_steps < args.steps:
        loss_ax.text(
            args.warm_steps, 1.0, f" lr {args.warm_lr:g} | lr {args.lr:g} ", ha="center",
            va="bottom", fontsize=8, transform=loss_ax.get_xaxis_transform(),
        )  # fmt: skip
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --- the command --------------------------------------------------------------------------


def main(args: argparse.Namespace, out: Reporter) -> dict[str, float]:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ScalcError("plotting needs matplotlib: pip install 'scalc[examples]'") from None
    try:  # before training, not after
        args.out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ScalcError(f"cannot create {args.out_dir}: {error.strerror or error}") from None
    modes = list(dict.fromkeys(args.modes))
    ids, _ = encode(load_text())
    train = ids[: -int(len(ids) * VAL_FRACTION)]
    out.info(settings(args))
    runs = [train_mode(mode, args, train, out) for mode in modes]
    out.info(table(runs))
    try:
        write_table(runs, args, args.out_dir / TABLE)
        draw(runs, args, args.out_dir / FIGURE)
    except OSError as error:
        raise ScalcError(f"cannot write into {args.out_dir}: {error.strerror or error}") from None
    out.info(f"wrote {args.out_dir / TABLE} and {args.out_dir / FIGURE}")
    return {r.mode: r.final_loss for r in runs}


def parser() -> argparse.ArgumentParser:
    result = make_parser(
        __doc__.split("\n\n")[0],
        steps=150,
        lr=1e-4,
        batch_size=16,
        epilog=(
            "The last line on stdout is `final: MODE=L ...`: per mode, L is the mean\n"
            "training loss over the last 10% of the steps (nats per character)."
        ),
    )
    result.set_defaults(recipe="bf16")
    for action in result._actions:  # the shared flags, with this script's meaning
        if action.dest == "recipe":
            action.help = (
                "the recipe every mode starts from; each changes only its optimizer_precision "
                "(default: %(default)s)"
            )
        if action.dest == "lr":
            action.help = "AdamW learning rate after the warm phase (default: %(default)s)"
    result.add_argument(
        "--modes",
        nargs="+",
        choices=MODES,
        default=list(MODES),
        metavar="MODE",
        help=f"optimizer precision modes to train, in order (default: {' '.join(MODES)})",
    )
    result.add_argument(
        "--beta2", type=fraction, default=0.999, help="AdamW beta2 (default: %(default)s)"
    )
    result.add_argument(
        "--warm-steps",
        type=non_negative_int,
        default=WARM_STEPS,
        help="steps at --warm-lr before --lr takes over; 0: none (default: %(default)s)",
    )
    result.add_argument(
        "--warm-lr",
        type=positive_float,
        default=1e-3,
        help="learning rate of the warm phase (default: %(default)s)",
    )
    result.add_argument(
        "--out-dir",
        type=Path,
        default=Path("."),
        help=f"directory for {TABLE} and {FIGURE}, created if missing (default: %(default)s)",
    )
    return result


WARM_STEPS = 0

if __name__ == "__main__":
    sys.exit(run(main, parser()))
