"""Train examples/gpt.scl, a character-level transformer, on the English text that ships
with Python (``pydoc_data.topics``: the help texts of ``help("topics")``; no download).

    python examples/train_gpt.py --recipe fp32 --steps 300   # about 45 s on 2 CPU cores
    ...
    final: loss=2.01854 val_loss=1.85538 unigram_entropy=3.24337

Characters become ids: newline 0, printable ASCII 32..126 -> 1..95 (the model's VOCAB is
96); anything else (a few curly quotes and dashes) becomes a space, and the count of those
is reported. The last 10% of the text is held out for validation. Each step trains on
random windows of --seq-len characters whose targets are the same windows shifted by one.
The unigram entropy of the training text is the loss of the best model that ignores
context: training should take the loss well below it. (The text is the running Python's,
so the numbers can differ a little between Python releases.)
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
from scalc import ScalcError
from _common import (
    Reporter,
    compile_session,
    make_parser,
    non_negative_int,
    positive_int,
    run,
    tail_mean,
)

VOCAB = 96  # examples/gpt.scl: const VOCAB
MAX_T = 64  # examples/gpt.scl: const MAX_T (the session refuses longer windows)
VAL_FRACTION = 0.1
EVAL_BATCH = 64
TINY = {"D": 32, "HEADS": 2, "LAYERS": 1, "MAX_T": 16}
"""--tiny: gpt.scl at a width, depth and context the Triton interpreter runs in seconds."""


def load_text() -> str:
    from pydoc_data.topics import topics

    return "\n".join(topics[key] for key in sorted(topics))


def encode(text: str) -> tuple[np.ndarray, int]:
    """Character ids (int32) of ``text`` and how many characters were replaced by a space."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    printable = (codes >= 32) & (codes <= 126)
    newline = codes == 10
    ids = np.where(printable, codes.astype(np.int64) - 31, 0)
    other = ~(printable | newline)
    ids[other] = ord(" ") - 31
    return ids.astype(np.int32), int(other.sum())


def unigram_entropy(ids: np.ndarray) -> float:
    """The entropy in nats of the character frequencies of ``ids``."""
    counts = np.bincount(ids, minlength=VOCAB).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def windows(ids: np.ndarray, starts: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(tokens, targets) of shape [len(starts), length]: targets are tokens shifted by one."""
    index = starts[:, None] + np.arange(length)[None, :]
    return ids[index], ids[index + 1]


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> float:
    """Summed negative log-likelihood of ``targets`` under ``logits`` [..., VOCAB]."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=-1))
    picked = np.take_along_axis(z, targets[..., None].astype(np.int64), axis=-1)[..., 0]
    return float((log_norm - picked).sum())


def validation_loss(sess, tokens: np.ndarray, targets: np.ndarray) -> float:
    """Mean per-character cross-entropy of the model (``forward``, no update) on fixed windows."""
    total = 0.0
    for start in range(0, len(tokens), EVAL_BATCH):
        part = slice(start, start + EVAL_BATCH)
        logits = np.asarray(sess.forward(tokens=tokens[part]).logits)
        total += cross_entropy(logits, targets[part])
    return total / targets.size


def main(args: argparse.Namespace, out: Reporter) -> dict[str, float]:
    args = resolve_tiny(args)
    text = load_text()
    ids, replaced = encode(text)
    n_val = int(len(ids) * VAL_FRACTION)
    train, val = ids[:-n_val], ids[-n_val:]
    entropy = unigram_entropy(train)
    out.info(
        f"text: {len(ids):,} characters of pydoc_data.topics ({replaced} outside ASCII "
        f"replaced by spaces); {len(train):,} train, {len(val):,} validation"
    )
    out.info(
        f"unigram entropy of the training text: {entropy:.4f} nats (uniform: {math.log(VOCAB):.4f})"
    )

    # The validation windows are evenly spaced and the same for every seed and run.
    val_starts = np.linspace(0, len(val) - args.seq_len - 1, args.eval_windows).astype(np.int64)
    val_tokens, val_targets = windows(val, val_starts, args.seq_len)

    sess = compile_session("gpt.scl", args, TINY if args.tiny else None)
    rng = np.random.default_rng([args.seed, 1])  # the windows; the session has its own
    losses: list[float] = []
    val_loss = math.nan
    since = 0  # the first step since the last evaluation (as an index into losses)
    start = time.perf_counter()
    bar = out.bar(args.steps)
    for step in range(1, args.steps + 1):
        starts = rng.integers(0, len(train) - args.seq_len, size=args.batch_size)
        tokens, targets = windows(train, starts, args.seq_len)
        result = sess.train_step(tokens=tokens, targets=targets)
        losses.append(result.loss)
        bar.update(step, result.loss)
        if step == args.steps or (args.eval_every and step % args.eval_every == 0):
            val_loss = validation_loss(sess, val_tokens, val_targets)
            recent = math.fsum(losses[since:]) / len(losses[since:])
            since = len(losses)
            out.info(
                f"step {step}: train loss {recent:.4f} (mean since the last), val loss {val_loss:.4f}"
            )
    elapsed = time.perf_counter() - start
    out.info(f"trained {args.steps} steps in {elapsed:.1f} s ({args.steps / elapsed:.2f} step/s)")
    return {"loss": tail_mean(losses), "val_loss": val_loss, "unigram_entropy": entropy}


def parser() -> argparse.ArgumentParser:
    parser = make_parser(
        __doc__.split("\n\n")[0],
        steps=300,
        lr=1e-3,
        batch_size=32,
        epilog=(
            "The last line on stdout is `final: loss=L val_loss=V unigram_entropy=H`: L is\n"
            "the mean training loss over the last 10% of the steps, V the loss on the fixed\n"
            "validation windows after the last step, H the unigram entropy of the training\n"
            "text (all per character, in nats)."
        ),
    )
    parser.set_defaults(batch_size=None)
    parser._option_string_actions["--batch-size"].help = "windows per step (default: 32; 4 with --tiny)"
    parser.add_argument(
        "--seq-len",
        type=positive_int,
        default=None,
        help=f"characters per window, at most MAX_T={MAX_T} of gpt.scl (default: {MAX_T}; 16 with --tiny)",
    )
    parser.add_argument(
        "--eval-every",
        type=non_negative_int,
        default=50,
        help="steps between validation losses; 0: only after the last step (default: %(default)s)",
    )
    parser.add_argument(
        "--eval-windows",
        type=positive_int,
        default=None,
        help="validation windows, evenly spaced over the held-out text (default: 256; 8 with --tiny)",
    )
    parser.add_argument(
        "--tiny",
        action="store_true",
        help=(
            f"a tiny gpt.scl ({', '.join(f'{k}={v}' for k, v in TINY.items())}) with --seq-len "
            "16, --batch-size 4 and --eval-windows 8 unless given: for --backend triton-interpret"
        ),
    )
    return parser


def resolve_tiny(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the size flags left unset: --tiny's values, else the full model's."""
    defaults = {"seq_len": (16, MAX_T), "batch_size": (4, 32), "eval_windows": (8, 256)}
    for name, (tiny, full) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, tiny if args.tiny else full)
    limit = TINY["MAX_T"] if args.tiny else MAX_T
    if args.seq_len > limit:
        raise ScalcError(f"--seq-len {args.seq_len} is longer than the model's MAX_T={limit}")
    return args


if __name__ == "__main__":
    sys.exit(run(main, parser()))
