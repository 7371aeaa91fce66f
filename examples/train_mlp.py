"""Train examples/mlp.scl on scikit-learn's bundled 8x8 digits (no download).

    python examples/train_mlp.py --recipe fp32       # about 2 s on 2 CPU cores
    ...
    final: loss=0.02586 test_acc=0.97500

Pixels are scaled from 0..16 to [0, 1] (float32), labels are int32. A stratified 80/20
train/test split and the order of the shuffled minibatches are fixed by --seed, as are the
initial parameters, so a seed always gives the same final line.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _common import Reporter, compile_session, make_parser, run, tail_mean
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

TEST_FRACTION = 0.2
EVAL_BATCH = 512


def load_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): pixels in [0, 1] as float32, labels int32."""
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_FRACTION, stratify=y, random_state=seed
    )
    return x_train, y_train, x_test, y_test


def batches(n: int, batch_size: int, rng: np.random.Generator):
    """Index arrays of ``batch_size`` forever: shuffled epochs laid end to end, so every
    example is seen once per epoch and every batch has the same size."""
    order = np.empty(0, dtype=np.int64)
    while True:
        while len(order) < batch_size:
            order = np.concatenate([order, rng.permutation(n)])
        yield order[:batch_size]
        order = order[batch_size:]


def accuracy(sess, x: np.ndarray, y: np.ndarray) -> float:
    correct = 0
    for start in range(0, len(x), EVAL_BATCH):
        logits = np.asarray(sess.forward(x=x[start : start + EVAL_BATCH]).logits)
        correct += int((logits.argmax(axis=1) == y[start : start + EVAL_BATCH]).sum())
    return correct / len(x)


def main(args: argparse.Namespace, out: Reporter) -> dict[str, float]:
    x_train, y_train, x_test, y_test = load_data(args.seed)
    out.info(
        f"digits: {len(x_train)} train / {len(x_test)} test images of 8x8 pixels, 10 classes; "
        f"{args.steps} steps of {args.batch_size} (~{args.steps * args.batch_size / len(x_train):.1f} epochs)"
    )
    sess = compile_session("mlp.scl", args)
    rng = np.random.default_rng([args.seed, 1])  # the data order; the session has its own
    losses: list[float] = []
    start = time.perf_counter()
    bar = out.bar(args.steps)
    for step, index in zip(range(1, args.steps + 1), batches(len(x_train), args.batch_size, rng)):
        result = sess.train_step(x=x_train[index], y=y_train[index])
        losses.append(result.loss)
        bar.update(step, result.loss)
    elapsed = time.perf_counter() - start
    test_acc = accuracy(sess, x_test, y_test)
    out.info(
        f"trained {args.steps} steps in {elapsed:.1f} s ({args.steps / elapsed:.1f} step/s); "
        f"train accuracy {accuracy(sess, x_train, y_train):.4f}"
    )
    return {"loss": tail_mean(losses), "test_acc": test_acc}


def parser() -> argparse.ArgumentParser:
    return make_parser(
        __doc__.split("\n\n")[0],
        steps=1000,
        lr=1e-3,
        batch_size=64,
        epilog=(
            "The last line on stdout is `final: loss=L test_acc=A`: L is the mean training\n"
            "loss over the last 10% of the steps, A the accuracy on the held-out 20% of the\n"
            "images (argmax of the logits)."
        ),
    )


if __name__ == "__main__":
    sys.exit(run(main, parser()))
