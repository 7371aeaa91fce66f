"""Time one training step of examples/gpt.scl on scalc's NumPy reference backend against
the same model in PyTorch eager mode on the CPU, measured in the same run.

    python bench/reference_step.py [--steps 10] [--warmup 2] [--threads N] [--json out.json]

The model is the example as written (its own consts: D=128, 2 layers, 4 heads, T=MAX_T=64)
with B=32 and the compiled default AdamW; torch runs bench/torch_models.py's `gpt` from the
same initial weights on the same batches with ``torch.optim.AdamW`` of the same settings.
One step is forward + backward + optimizer update (``sess.train_step`` / zero_grad,
loss, backward, ``opt.step``). The two alternate round by round, and swap which goes first
each round, so both see the same machine noise; each reports the median of ``--steps``
timed steps after ``--warmup`` untimed ones. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GPT = ROOT / "examples" / "gpt.scl"
BATCH = 32
TARGET = 2.0  # the goal: the reference step within 2x of torch eager
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps of each (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="BLAS threads for NumPy and intra-op threads for torch (default: NumPy's "
        "BLAS default, which torch is then set to match)",
    )
    parser.add_argument("--seed", type=int, default=0, help="weights and batches (default 0)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0:
        parser.error("--steps must be >= 1 and --warmup >= 0")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads is not None:
        # Before NumPy (and its OpenBLAS) is first imported: the pool size is read then.
        for var in _THREAD_VARS:
            os.environ[var] = str(args.threads)

    import numpy as np
    import torch

    import scalc

    # bench/ itself: already first on sys.path for `python bench/reference_step.py`.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import torch_models

    blas_threads, blas_name = numpy_blas_threads(args.threads)
    torch.set_num_threads(args.threads or blas_threads)

    source = GPT.read_text()
    consts = torch_models.read_consts(source)
    heads, length = int(consts["HEADS"]), int(consts["MAX_T"])
    vocab = int(consts["VOCAB"])
    program = scalc.compile(GPT)
    optimizer_options = program.manifest["optimizer"]
    assert optimizer_options["kind"] == "adamw", optimizer_options
    sess = program.session(backend="reference", seed=args.seed)

    weights = {k: torch.tensor(np.array(v), requires_grad=True) for k, v in sess.params.items()}
    optimizer = torch.optim.AdamW(
        weights.values(),
        lr=optimizer_options["lr"],
        betas=(optimizer_options["beta1"], optimizer_options["beta2"]),
        eps=optimizer_options["eps"],
        weight_decay=optimizer_options["weight_decay"],
    )

    rng = np.random.default_rng(args.seed)
    batches = []
    for _ in range(4):
        tokens = rng.integers(0, vocab, (BATCH, length)).astype(np.int32)
        targets = rng.integers(0, vocab, (BATCH, length)).astype(np.int32)
        batches.append(
            (tokens, targets, torch.from_numpy(tokens).long(), torch.from_numpy(targets).long())
        )

    def reference_step(i: int) -> float:
        tokens, targets, _, _ = batches[i % len(batches)]
        return sess.train_step(tokens=tokens, targets=targets).loss

    def torch_step(i: int) -> float:
        _, _, tokens, targets = batches[i % len(batches)]
        optimizer.zero_grad(set_to_none=True)
        loss = torch_models.cross_entropy(torch_models.gpt(weights, tokens, heads), targets)
        loss.backward()
        optimizer.step()
        return loss.item()

    times: dict[str, list[float]] = {"reference": [], "torch": []}
    first_loss: dict[str, float] = {}
    runners = (("reference", reference_step), ("torch", torch_step))
    for i in range(args.warmup + args.steps):
        order = runners if i % 2 == 0 else runners[::-1]
        for name, run in order:
            start = time.perf_counter()
            loss = run(i)
            elapsed = time.perf_counter() - start
            first_loss.setdefault(name, loss)
            if i >= args.warmup:
                times[name].append(elapsed * 1e3)

    reference_ms = statistics.median(times["reference"])
    torch_ms = statistics.median(times["torch"])
    ratio = reference_ms / torch_ms
    print(
        f"gpt.scl: B={BATCH} T={length} D={consts['D']} layers={consts['LAYERS']} "
        f"heads={heads}, AdamW; median of {args.steps} steps after {args.warmup} warmup, "
        "interleaved"
    )
    print(f"threads: numpy BLAS {blas_threads} ({blas_name}), torch {torch.get_num_threads()}")
    print(
        f"first-step loss: reference {first_loss['reference']:.6f}  torch {first_loss['torch']:.6f}"
    )
    print(
        f"reference: {reference_ms:.1f} ms/step  torch-eager: {torch_ms:.1f} ms/step  "
        f"ratio: {ratio:.2f} (target <= {TARGET})"
    )
    if args.json:
        result: dict[str, Any] = {
            "benchmark": "reference_step",
            "model": "examples/gpt.scl",
            "config": {
                "batch": BATCH,
                "seq": length,
                "d": consts["D"],
                "layers": consts["LAYERS"],
                "heads": heads,
                "vocab": vocab,
            },
            "optimizer": optimizer_options,
            "steps": args.steps,
            "warmup": args.warmup,
            "threads": {
                "numpy_blas": blas_threads,
                "blas": blas_name,
                "torch": torch.get_num_threads(),
            },
            "reference_ms": reference_ms,
            "torch_eager_ms": torch_ms,
            "ratio": ratio,
            "target": TARGET,
            "reference_ms_all": times["reference"],
            "torch_eager_ms_all": times["torch"],
            "first_loss": first_loss,
            "versions": {
                "python": platform.python_version(),
                "numpy": np.__version__,
                "torch": torch.__version__,
                "scalc": scalc.__version__ if hasattr(scalc, "__version__") else None,
            },
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        }
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def numpy_blas_threads(requested: int | None) -> tuple[int, str]:
    """NumPy's BLAS thread count and library, read with ``threadpoolctl`` when installed;
    otherwise what ``--threads`` set, or OpenBLAS's default (one per CPU, unless one of
    the usual environment variables says otherwise)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        numpy_pools = [p for p in pools if "numpy" in p.get("filepath", "")] or pools
        if numpy_pools:
            pool = numpy_pools[0]
            return int(pool["num_threads"]), str(pool.get("internal_api", "blas"))
    if requested is not None:
        return requested, "blas"
    for var in _THREAD_VARS:
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var]), "blas"
    return os.cpu_count() or 1, "blas"


if __name__ == "__main__":
    sys.exit(main())
