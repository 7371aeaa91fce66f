"""Plot the per-tensor FP8 scales of weights, activations and gradients over a training run.

    python examples/plot_scales.py --model mlp --steps 100      # about 7 s on 2 CPU cores
    wrote scales.png: 9 tensors over 100 steps

Trains an example (examples/train_mlp.py's digits or examples/train_gpt.py's text, the
same data, model and flags) with an FP8 recipe and records, every --every steps, the
numerics of each FP8 cast of the step (``train_step(...).metrics["tensors"]``,
docs/runtime.md): its power-of-two scale and the fractions of values saturated and
flushed to zero. Each cast site is a

  * weight: its operand is a parameter (``%w1``; a slice of a stacked parameter such as
    ``w_qkv[l]`` counts too: the compiled program is read to follow the operand back);
  * gradient: its operand depends on the loss's gradient seed (the E5M2 casts of the
    backward pass in the built-in recipes);
  * activation: any other operand (the inputs and intermediate values, cast forward and
    again where the backward pass reuses them).

The figure (cf. the scale figures of the Graphcore FP8 paper, arXiv 2309.17224): per
class, how the tensors' log2(scale) are distributed at each recorded step (a 2-D
histogram of tensors per power of two, the median, and each tensor's path when the class
has at most 12 tensors, else the 10th and 90th percentiles), then the saturated and
underflow fractions (class mean and worst tensor) and the training loss over the steps. The value of a cast tensor is ``data * scale``, so a scale moving down by
one is the tensor's magnitude halving. The PNG is drawn with matplotlib's Agg backend
(no display needed; ``pip install 'scalc[examples]'``).

Output: informational lines and the progress bar (none with --quiet), then the one line
``wrote PATH: N tensors over K steps``. Exit status 0, 1 for a scalc error or a file that
cannot be written (one ``error: ...`` line), 2 for bad flags, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from _common import Reporter, make_parser, model_path, positive_int

import scalc
from scalc import ScalcError

CLASSES = ("weight", "activation", "gradient")
TITLES = {"weight": "weights", "activation": "activations", "gradient": "gradients"}
COLORS = {"weight": "tab:blue", "activation": "tab:orange", "gradient": "tab:green"}
CMAPS = {"weight": "Blues", "activation": "Oranges", "gradient": "Greens"}
BATCH_SIZE = {"mlp": 64, "gpt": 32}  # train_mlp.py's and train_gpt.py's defaults
MAX_PATHS = 12  # draw each tensor's own path when a class has at most this many

# Ops whose result is the same tensor as their first operand, rearranged or re-scaled:
# a cast of their result is a cast of that operand (a weight stays a weight).
_SAME_TENSOR = {
    "scaled.from_tensor",
    "scaled.rescale",
    "scaled.cast",
    "scaled.transpose",
    "scaled.reshape",
    "scaled.broadcast",
    "scaled.index",
    "scaled.slice",
}


# --- classifying the cast sites ---------------------------------------------------------


def classify_by_name(name: str, params: Sequence[str]) -> str:
    """The class of ``train_forward/cast3:%w1->f8E4M3FN`` from its name alone."""
    if name.endswith("->f8E5M2"):
        return "gradient"
    label = name.partition(":%")[2].rpartition("->")[0]
    if label and any(label == p or label.startswith(p + "_") for p in params):
        return "weight"
    return "activation"


def classify_from_program(program: Any) -> dict[str, str]:
    """{cast name: class} read from the compiled program: a cast is a gradient when its
    operand depends on the backward seed, a weight when it is a parameter (through
    `_SAME_TENSOR` ops). Empty when the program cannot be read this way."""
    try:
        from scalc.runtime.backends.reference.scaled import cast_name
    except ImportError:
        return {}
    classes: dict[str, str] = {}
    for entry in ("train_forward", "train_backward"):
        try:
            fn = program.entry(entry)
        except ScalcError:
            continue
        from_seed: set[Any] = set()
        for op in fn.walk():
            if "nn.seed" in op.attributes or any(v in from_seed for v in op.operands):
                from_seed.update(op.results)
            if op.name != "scaled.cast":
                continue
            value = op.operands[0]
            if value in from_seed:
                kind = "gradient"
            else:
                owner = getattr(value, "op", None)
                while owner is not None and owner.name in _SAME_TENSOR:
                    owner = getattr(owner.operands[0], "op", None)
                is_param = owner is not None and owner.name == "nn.get_param"
                kind = "weight" if is_param else "activation"
            classes[cast_name(op)] = kind
    return classes


# --- training and recording -------------------------------------------------------------


@dataclass
class Record:
    """Every recorded step's numerics, one column per cast site (NaN where a step lacks it)."""

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # every step's loss, recorded or not
    names: list[str] = field(default_factory=list)
    rows: list[dict[str, dict[str, float]]] = field(default_factory=list)

    def add(self, step: int, tensors: dict[str, dict[str, float]]) -> None:
        self.steps.append(step)
        self.rows.append(tensors)
        self.names.extend(n for n in tensors if n not in self.names)

    def array(self, key: str) -> np.ndarray:
        """[recorded steps, cast sites] of one statistic."""
        return np.array(
            [[row.get(n, {}).get(key, math.nan) for n in self.names] for row in self.rows],
            dtype=np.float64,
        )


def mlp_batches(args: argparse.Namespace, out: Reporter) -> Iterator[dict[str, np.ndarray]]:
    from train_mlp import batches, load_data

    x_train, y_train, _, _ = load_data(args.seed)
    out.info(f"digits: {len(x_train)} training images, batches of {args.batch_size}")
    rng = np.random.default_rng([args.seed, 1])  # train_mlp.py's data order
    for index in batches(len(x_train), args.batch_size, rng):
        yield {"x": x_train[index], "y": y_train[index]}


def gpt_batches(args: argparse.Namespace, out: Reporter) -> Iterator[dict[str, np.ndarray]]:
    from train_gpt import MAX_T, VAL_FRACTION, encode, load_text, windows

    ids, _ = encode(load_text())
    train = ids[: -int(len(ids) * VAL_FRACTION)]
    out.info(f"text: {len(train):,} training characters, {args.batch_size} windows of {MAX_T}")
    rng = np.random.default_rng([args.seed, 1])  # train_gpt.py's windows
    while True:
        starts = rng.integers(0, len(train) - MAX_T, size=args.batch_size)
        tokens, targets = windows(train, starts, MAX_T)
        yield {"tokens": tokens, "targets": targets}


def train(args: argparse.Namespace, out: Reporter) -> tuple[Record, dict[str, str]]:
    """Train and record; returns the record and each cast site's class."""
    data = mlp_batches(args, out) if args.model == "mlp" else gpt_batches(args, out)
    program = scalc.compile(
        model_path(f"{args.model}.scl"), recipe=args.recipe, optimizer="adamw", lr=args.lr
    )
    sess = program.session(backend=args.backend, seed=args.seed)
    params = [p["name"] for p in program.manifest["params"]]
    record = Record()
    bar = out.bar(args.steps)
    for step, batch in zip(range(1, args.steps + 1), data):
        result = sess.train_step(**batch)
        tensors = result.metrics.get("tensors") or {}
        if step == 1 and not tensors:
            raise ScalcError(
                f"recipe `{program.recipe}` casts nothing to FP8, so there are no scales to "
                "plot; use fp8, fp8-delayed or a recipe file with f8 matmul formats"
            )
        record.losses.append(result.loss)
        if (step - 1) % args.every == 0 or step == args.steps:
            record.add(step, tensors)
        bar.update(step, result.loss)
    from_program = classify_from_program(program)
    classes = {n: from_program.get(n) or classify_by_name(n, params) for n in record.names}
    return record, classes


# --- drawing ------------------------------------------------------------------------------


def draw(record: Record, classes: dict[str, str], args: argparse.Namespace, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.ticker import MaxNLocator

    steps = np.array(record.steps)
    log_scale = np.log2(record.array("scale"))
    saturated = record.array("saturated")
    underflow = record.array("underflow")
    fig, axes = plt.subplots(2, 3, figsize=(16, 9), layout="constrained")
    fig.suptitle(
        f"{args.model}.scl, recipe {args.recipe}: per-tensor FP8 scales over {args.steps} "
        f"steps (seed {args.seed}, recorded every {args.every})\n"
        "value = data x scale; a cast's scale is about its amax / the format's max "
        "(448 for E4M3, 57344 for E5M2)",
        fontsize=14,
    )
    # Each recorded step's column reaches halfway to its neighbours (the last may be closer).
    middles = (steps[1:] + steps[:-1]) / 2
    first = steps[0] - (middles[0] - steps[0] if len(steps) > 1 else 0.5)
    last = steps[-1] + (steps[-1] - middles[-1] if len(steps) > 1 else 0.5)
    step_edges = np.concatenate([[first], middles, [last]])
    for ax, kind in zip(axes[0], CLASSES):
        columns = [i for i, n in enumerate(record.names) if classes[n] == kind]
        formats = sorted({record.names[i].rpartition("->")[2] for i in columns})
        ax.set_title(
            f"{TITLES[kind]}: {len(columns)} tensors"
            + (f" ({', '.join(formats)})" if formats else "")
        )
        ax.set_xlabel("step")
        ax.set_ylabel("log2(scale)")
        values = log_scale[:, columns]
        finite = values[np.isfinite(values)]
        if not finite.size:
            ax.text(0.5, 0.5, "no casts", transform=ax.transAxes, ha="center", va="center")
            continue
        low, high = int(finite.min()) - 1, int(finite.max()) + 1
        # Scales are powers of two: one histogram row per exponent, one column per step.
        edges = np.arange(low, high + 2) - 0.5
        counts = np.array([np.histogram(row[np.isfinite(row)], bins=edges)[0] for row in values])
        most = max(1, int(counts.max()))
        # One light-to-middle shade per count (1 .. most), light enough for lines on top.
        shades = ListedColormap(plt.get_cmap(CMAPS[kind])(np.linspace(0.2, 0.6, most)))
        image = ax.pcolormesh(
            step_edges,
            edges,
            np.ma.masked_equal(counts.T, 0),
            cmap=shades,
            norm=BoundaryNorm(np.arange(0.5, most + 1), most),
        )
        bar = fig.colorbar(image, ax=ax, label="tensors with this scale", pad=0.01)
        ticks = MaxNLocator(nbins=6, integer=True, min_n_ticks=1).tick_values(1, most)
        bar.set_ticks([t for t in ticks if 1 <= t <= most])
        if len(columns) <= MAX_PATHS:
            # Each tensor's own path, spread a little within its row so that tensors with
            # the same scale stay apart.
            spread = min(0.5 / len(columns), 0.08)
            for j in range(len(columns)):
                offset = (j - (len(columns) - 1) / 2) * spread
                ax.plot(
                    steps,
                    values[:, j] + offset,
                    color="0.25",
                    linewidth=0.7,
                    alpha=0.8,
                    drawstyle="steps-mid",
                    label="each tensor" if j == 0 else None,
                )
        else:
            for q, style in ((10, ":"), (90, ":")):
                ax.plot(
                    steps,
                    np.nanpercentile(values, q, axis=1),
                    color="black",
                    linestyle=style,
                    linewidth=1.2,
                    label="10th / 90th percentile" if q == 10 else None,
                )
        ax.plot(
            steps,
            np.nanmedian(values, axis=1),
            color="black",
            linewidth=2,
            label="median",
            drawstyle="steps-mid",
        )
        ax.set_ylim(low - 0.5, high + 0.5)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.legend(loc="upper right", fontsize=9, framealpha=0.9)

    for ax, values, what in (
        (axes[1][0], saturated, "saturated: values clipped to the format's max"),
        (axes[1][1], underflow, "underflow: nonzero values flushed to 0"),
    ):
        ax.set_title(what)
        ax.set_xlabel("step")
        ax.set_ylabel("% of the tensor (solid: class mean, dashed: worst tensor)", fontsize=9)
        top = 0.0
        for kind in CLASSES:
            columns = [i for i, n in enumerate(record.names) if classes[n] == kind]
            if not columns:
                continue
            part = 100 * values[:, columns]
            ax.plot(steps, np.nanmean(part, axis=1), color=COLORS[kind], label=TITLES[kind])
            ax.plot(
                steps,
                np.nanmax(part, axis=1),
                color=COLORS[kind],
                linestyle="--",
                linewidth=0.8,
                alpha=0.8,
            )
            top = max(top, float(np.nanmax(part)))
        if top == 0.0:
            ax.set_ylim(-0.05, 1.0)
            ax.text(
                0.5,
                0.5,
                "0 at every recorded step",
                transform=ax.transAxes,
                ha="center",
                color="0.3",
            )
        else:
            ax.set_ylim(-0.02 * top, 1.15 * top)
        ax.legend(loc="upper left", fontsize=9, framealpha=0.9)

    ax = axes[1][2]
    ax.set_title("training loss")
    ax.set_xlabel("step")
    losses = np.array(record.losses)
    ax.plot(np.arange(1, len(losses) + 1), losses, color="0.6", linewidth=0.8, label="per step")
    window = max(1, len(losses) // 20)
    if window > 1:
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.plot(
            np.arange(window, len(losses) + 1), smooth, color="black", label=f"mean of {window}"
        )
    ax.legend(loc="upper right", fontsize=9)
    for ax in axes.flat:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True, steps=[1, 2, 5, 10]))
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --- the command --------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    result = make_parser(
        __doc__.split("\n\n")[0],
        steps=300,
        lr=1e-3,
        batch_size=BATCH_SIZE["mlp"],
        epilog="The last line on stdout is `wrote PATH: N tensors over K steps`.",
    )
    result.set_defaults(recipe="fp8", batch_size=None)
    for action in result._actions:  # the shared flag, with this script's per-model default
        if action.dest == "batch_size":
            action.help = "examples per step (default: 64 for mlp, 32 for gpt)"
    result.add_argument(
        "--model",
        choices=("mlp", "gpt"),
        default="mlp",
        help="example to train (default: %(default)s)",
    )
    result.add_argument(
        "--out", type=Path, default=Path("scales.png"), help="PNG to write (default: %(default)s)"
    )
    result.add_argument(
        "--every",
        type=positive_int,
        default=1,
        help="record the scales every N steps (and at the last) (default: %(default)s)",
    )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    flags = parser()
    args = flags.parse_args(argv)
    if args.batch_size is None:
        args.batch_size = BATCH_SIZE[args.model]
    out = Reporter(args.quiet)
    try:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ScalcError("plotting needs matplotlib: pip install 'scalc[examples]'") from None
        if not args.out.parent.is_dir():  # before training, not after
            raise ScalcError(f"cannot write {args.out}: no directory {args.out.parent}")
        record, classes = train(args, out)
        counts = {k: sum(c == k for c in classes.values()) for k in CLASSES}
        out.info(
            f"cast sites: {counts['weight']} weights, {counts['activation']} activations, "
            f"{counts['gradient']} gradients; {len(record.steps)} recorded steps"
        )
        try:
            draw(record, classes, args, args.out)
        except OSError as error:
            raise ScalcError(f"cannot write {args.out}: {error.strerror or error}") from None
    except ScalcError as error:
        out.close()
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        out.close()
        print(f"{flags.prog}: interrupted", file=sys.stderr)
        return 130
    out.close()
    print(f"wrote {args.out}: {len(record.names)} tensors over {args.steps} steps", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
