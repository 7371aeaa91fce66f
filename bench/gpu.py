"""The GPU benchmark of the Triton backend (issue 5): one command, one process, ratios
against baselines measured in the same run, and a JSON file with every number.

    python bench/gpu.py --quick --json bench-gpu.json      # under 8 minutes on an H100
    python bench/gpu.py                                     # every shape, more repeats
    python bench/gpu.py --smoke                             # CPU, Triton interpreter, tiny
                                                            # shapes: checks the script runs

Sections:
1. **GEMM** TFLOP/s at 4096^3, 8192^3 and the example/LLM shapes: the scalc FP8 GEMM (the
   generated kernel of a ``scaled.matmul`` group, E4M3 x E4M3, fp32 accumulation, bf16
   out) against ``torch.matmul`` in bf16 and ``torch._scaled_mm`` (FP8, bf16 out).
   Bars at 8192^3: scalc >= 1.5x torch.matmul bf16 and >= 0.9x torch._scaled_mm.
2. **Cast**: the generated fused amax + rescale + saturating cast (bf16 -> E4M3) of a
   8192x8192 tensor, as bytes moved per second (read twice, write once), as a fraction
   of the bandwidth of a device copy of the same tensor (``clone``).
3. **Training step** of examples/gpt.scl at d=768, 12 layers, T=1024 (VOCAB 96): scalc
   ``--recipe fp8`` on the ``triton`` backend against the same model in PyTorch bf16
   (bench/torch_models.py, autograd, ``torch.optim.AdamW``) eager and ``torch.compile``.
4. **SQNR** of the scalc FP8 GEMM (with its per-tensor dynamic scaling casts) against the
   fp32 product of the same inputs, in dB.

Timing: CUDA events around ``--repeats`` calls after ``--warmup`` calls; the median is
reported. Nothing here is a unit test: the numbers depend on the GPU, its clocks and its
neighbours; every ratio's two sides are measured in the same process minutes apart.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

GEMM_SHAPES = {
    "4096^3": (4096, 4096, 4096),
    "8192^3": (8192, 8192, 8192),
    "gpt-d768 qkv (B*T=8192)": (8192, 768, 2304),
    "gpt-d768 mlp-up": (8192, 768, 3072),
    "gpt-d768 mlp-down": (8192, 3072, 768),
    "llama-7b mlp-up (B*T=8192)": (8192, 4096, 11008),
    "llama-7b mlp-down": (8192, 11008, 4096),
}
QUICK_GEMMS = ("4096^3", "8192^3", "gpt-d768 mlp-up", "llama-7b mlp-up (B*T=8192)")
SMOKE_GEMMS = {"smoke 64x128x64": (64, 128, 64)}
GPT = {"D": 768, "HEADS": 12, "LAYERS": 12, "MAX_T": 1024, "VOCAB": 96}
SMOKE_GPT = {"D": 32, "HEADS": 2, "LAYERS": 1, "MAX_T": 16, "VOCAB": 96}
BARS = {"fp8_vs_bf16_matmul_8192": 1.5, "fp8_vs_scaled_mm_8192": 0.9}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="fewer shapes and repeats (< 8 minutes)")
    p.add_argument(
        "--smoke",
        action="store_true",
        help="tiny shapes on CPU under Triton's interpreter: checks that every section runs; "
        "its numbers mean nothing",
    )
    p.add_argument("--json", metavar="PATH", help="write every number to PATH as JSON")
    p.add_argument("--repeats", type=int, default=None, help="timed calls per measurement")
    p.add_argument("--warmup", type=int, default=None, help="untimed calls first")
    p.add_argument("--batch", type=int, default=8, help="sequences per training step (default 8)")
    p.add_argument(
        "--skip", action="append", default=[], choices=("gemm", "cast", "step", "sqnr"),
        help="leave a section out (repeatable)",
    )  # fmt: skip
    args = p.parse_args(argv)
    if args.repeats is None:
        args.repeats = 2 if args.smoke else (10 if args.quick else 30)
    if args.warmup is None:
        args.warmup = 1 if args.smoke else (3 if args.quick else 10)
    return args


# --- timing ---------------------------------------------------------------------------


class Timer:
    """Median milliseconds of ``fn()`` on the device (CUDA events), or wall clock on CPU."""

    def __init__(self, device: str, warmup: int, repeats: int) -> None:
        self.device, self.warmup, self.repeats = device, warmup, repeats

    def __call__(self, fn: Callable[[], Any]) -> float:
        import torch

        for _ in range(self.warmup):
            fn()
        times = []
        for _ in range(self.repeats):
            if self.device == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1e3)
        return statistics.median(times)


# --- scalc pieces ---------------------------------------------------------------------


def _compile(source: str, recipe: str) -> Any:
    import scalc

    return scalc.compile(source, recipe=recipe)


def gemm_program(K: int, N: int) -> Any:
    """A program whose @forward is ``a @ w``: its gemm group is the FP8 GEMM we time."""
    return _compile(
        f"model gemm\ndim M\ninput a: f32[M, {K}]\nparam w: f32[{K}, {N}] = normal(std = 1.0)\n"
        "output c = a @ w\nloss = mean(c * c)\n",
        "fp8",
    )


def _forward_groups(program: Any, kind: str) -> list[tuple[Any, Any]]:
    from scalc.lowering.codegen import generate, load
    from scalc.lowering.partition import partition

    plan = partition(program.train)
    sources = generate(plan, program.train)["forward"]
    return [(s, load(s.name, s.source)) for s in sources if s.group.kind == kind]


def scalc_gemm(M: int, K: int, N: int, device: str) -> tuple[Callable[[], Any], Any]:
    """A call of the generated FP8 GEMM on E4M3 operands (A row-major, B K-major) and the
    operands' fp32 values."""
    import torch

    from scalc.lowering.codegen.abi import KernelValue

    (src, module), = _forward_groups(gemm_program(K, N), "gemm")
    g = torch.Generator(device="cpu").manual_seed(0)
    a32 = torch.randn(M, K, generator=g).to(device)
    b32 = torch.randn(N, K, generator=g).to(device)  # Bᵀ, row-major: B is K-major
    a = KernelValue(a32.to(torch.float8_e4m3fn), 1.0)
    b = KernelValue(b32.to(torch.float8_e4m3fn).t(), 1.0)
    sizes = {"M": M}
    return (lambda: module.launch(src.group.ops, sizes, a, b)), (a, b)


def scalc_cast(shape: tuple[int, int], device: str) -> Callable[[], Any]:
    """A call of the generated amax + rescale + E4M3 cast of a bf16 tensor of ``shape``."""
    import torch
    from xdsl.dialects.builtin import DYNAMIC_INDEX

    from scalc.lowering.codegen.abi import KernelValue

    program = _compile(
        f"model c\ndim M\ninput a: f32[M, {shape[1]}]\nparam w: f32[{shape[1]}, 16] = ones\n"
        "output c = a @ w\nloss = mean(c * c)\n",
        "fp8",
    )
    # The cast of the input `a` (M x K, M symbolic), not the one of the weight.
    src, module = next(
        (s, m) for s, m in _forward_groups(program, "cast") if DYNAMIC_INDEX in s.inputs[0].type.get_shape()
    )
    x = KernelValue(torch.randn(*shape, device=device).to(torch.bfloat16), 1.0)
    sizes = {"M": shape[0]}
    return lambda: module.launch(src.group.ops, sizes, x)


# --- sections ---------------------------------------------------------------------------


def bench_gemm(args: argparse.Namespace, device: str, timer: Timer, out: dict) -> None:
    import torch

    shapes = SMOKE_GEMMS if args.smoke else {
        k: v for k, v in GEMM_SHAPES.items() if not args.quick or k in QUICK_GEMMS
    }  # fmt: skip
    rows = {}
    for name, (M, K, N) in shapes.items():
        flops = 2.0 * M * K * N
        run_fp8, (a, b) = scalc_gemm(M, K, N, device)
        a16, b16 = a.data.to(torch.bfloat16), b.data.to(torch.bfloat16)
        one = torch.ones((), device=device)
        row = {"M": M, "K": K, "N": N}
        row["scalc_fp8_ms"] = timer(run_fp8)
        row["torch_bf16_ms"] = timer(lambda: torch.matmul(a16, b16))
        try:
            row["scaled_mm_ms"] = timer(
                lambda: torch._scaled_mm(a.data, b.data, one, one, out_dtype=torch.bfloat16)
            )
        except (RuntimeError, NotImplementedError) as err:  # CPU builds without FP8 GEMM
            row["scaled_mm_ms"], row["scaled_mm_error"] = math.nan, str(err).splitlines()[0]
        for key in ("scalc_fp8", "torch_bf16", "scaled_mm"):
            row[f"{key}_tflops"] = flops / (row[f"{key}_ms"] * 1e-3) / 1e12
        row["fp8_vs_bf16_matmul"] = row["torch_bf16_ms"] / row["scalc_fp8_ms"]
        row["fp8_vs_scaled_mm"] = row["scaled_mm_ms"] / row["scalc_fp8_ms"]
        rows[name] = row
        print(
            f"gemm {name:28s} scalc fp8 {row['scalc_fp8_tflops']:8.1f} TFLOP/s | "
            f"bf16 matmul {row['torch_bf16_tflops']:8.1f} | _scaled_mm {row['scaled_mm_tflops']:8.1f} | "
            f"x bf16 {row['fp8_vs_bf16_matmul']:.2f}, x _scaled_mm {row['fp8_vs_scaled_mm']:.2f}",
            flush=True,
        )
    out["gemm"] = rows
    if "8192^3" in rows:
        r = rows["8192^3"]
        out["bars"] = {
            "fp8_vs_bf16_matmul_8192": {"value": r["fp8_vs_bf16_matmul"], "bar": BARS["fp8_vs_bf16_matmul_8192"]},
            "fp8_vs_scaled_mm_8192": {"value": r["fp8_vs_scaled_mm"], "bar": BARS["fp8_vs_scaled_mm_8192"]},
        }  # fmt: skip


def bench_cast(args: argparse.Namespace, device: str, timer: Timer, out: dict) -> None:
    import torch

    shape = (64, 128) if args.smoke else (8192, 8192)
    run_cast = scalc_cast(shape, device)
    x = torch.randn(*shape, device=device).to(torch.bfloat16)
    n = shape[0] * shape[1]
    cast_ms = timer(run_cast)
    copy_ms = timer(lambda: x.clone())
    cast_bytes, copy_bytes = n * (2 + 2 + 1), n * (2 + 2)  # amax read, cast read + write
    row = {
        "shape": list(shape),
        "cast_ms": cast_ms,
        "copy_ms": copy_ms,
        "cast_GBps": cast_bytes / (cast_ms * 1e-3) / 1e9,
        "copy_GBps": copy_bytes / (copy_ms * 1e-3) / 1e9,
    }
    row["fraction_of_copy"] = row["cast_GBps"] / row["copy_GBps"]
    out["cast"] = row
    print(
        f"cast {shape[0]}x{shape[1]} bf16->e4m3 (amax + rescale + cast): {row['cast_GBps']:.0f} GB/s, "
        f"{row['fraction_of_copy']:.2f} of a device copy ({row['copy_GBps']:.0f} GB/s)",
        flush=True,
    )


def bench_step(args: argparse.Namespace, device: str, timer: Timer, out: dict) -> None:
    import numpy as np
    import torch
    import torch_models

    consts = SMOKE_GPT if args.smoke else GPT
    T = consts["MAX_T"]
    B = 2 if args.smoke else args.batch
    source = torch_models.with_consts((HERE.parent / "examples" / "gpt.scl").read_text(), **consts)
    program = _compile(source, "fp8")
    backend = "triton-interpret" if args.smoke else "triton"
    sess = program.session(backend=backend, seed=0)
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, consts["VOCAB"], (B, T)).astype(np.int32)
    targets = rng.integers(0, consts["VOCAB"], (B, T)).astype(np.int32)
    step_timer = Timer(device, max(1, args.warmup // 2), max(2, args.repeats // 3))
    row: dict[str, Any] = {"config": {**consts, "B": B, "T": T}}
    row["scalc_fp8_ms"] = step_timer(lambda: sess.train_step(tokens=tokens, targets=targets))

    weights = {k: torch.tensor(np.asarray(v), device=device, dtype=torch.bfloat16, requires_grad=True)
               for k, v in sess.params.items()}  # fmt: skip
    opt = torch.optim.AdamW(weights.values(), lr=1e-3)
    tok = torch.from_numpy(tokens).long().to(device)
    tgt = torch.from_numpy(targets).long().to(device)

    def torch_step(model: Callable[..., Any]) -> Callable[[], None]:
        def step() -> None:
            opt.zero_grad(set_to_none=True)
            logits = model(weights, tok, consts["HEADS"])
            loss = torch_models.cross_entropy(logits.float(), tgt)
            loss.backward()
            opt.step()

        return step

    row["torch_bf16_eager_ms"] = step_timer(torch_step(torch_models.gpt))
    if args.smoke:
        row["torch_compile_ms"] = math.nan
        row["torch_compile_note"] = "skipped in --smoke"
    else:
        compiled = torch.compile(torch_models.gpt)
        row["torch_compile_ms"] = step_timer(torch_step(compiled))
    row["scalc_vs_eager"] = row["torch_bf16_eager_ms"] / row["scalc_fp8_ms"]
    row["scalc_vs_compile"] = row["torch_compile_ms"] / row["scalc_fp8_ms"]
    out["train_step"] = row
    print(
        f"gpt step d={consts['D']} L={consts['LAYERS']} T={T} B={B}: scalc fp8 {row['scalc_fp8_ms']:.1f} ms | "
        f"torch bf16 eager {row['torch_bf16_eager_ms']:.1f} ms (x{row['scalc_vs_eager']:.2f}) | "
        f"torch.compile {row['torch_compile_ms']:.1f} ms (x{row['scalc_vs_compile']:.2f})",
        flush=True,
    )


def bench_sqnr(args: argparse.Namespace, device: str, out: dict) -> None:
    """SQNR of the scalc FP8 path (dynamic per-tensor casts, FP8 GEMM) against fp32."""
    import numpy as np

    M = K = N = 64 if args.smoke else 4096
    program = gemm_program(K, N)
    backend = "triton-interpret" if args.smoke else "triton"
    sess = program.session(backend=backend, seed=0)
    a = np.random.default_rng(1).standard_normal((M, K)).astype(np.float32)
    got = np.asarray(sess.forward(a=a).c, np.float64)
    want = a.astype(np.float64) @ np.asarray(sess.params["w"], np.float64)
    noise = np.sum((got - want) ** 2)
    sqnr = 10 * math.log10(np.sum(want**2) / noise) if noise > 0 else math.inf
    out["sqnr_db"] = {"shape": [M, K, N], "scalc_fp8_vs_fp64": sqnr}
    print(f"sqnr {M}x{K}x{N}: scalc fp8 gemm {sqnr:.2f} dB against the exact product", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.smoke:
        os.environ["TRITON_INTERPRET"] = "1"  # before triton is imported: it decides then
    try:
        import torch
        import triton
    except ImportError as err:
        print(f"bench/gpu.py needs torch and triton: {err}", file=sys.stderr)
        return 2
    if args.smoke:
        from scalc.runtime.backends.triton import interpreter_patch

        interpreter_patch.apply()  # the casts and dots of sm_90, as triton-interpret has
        device = "cpu"
    elif not torch.cuda.is_available():
        print(
            "bench/gpu.py needs a CUDA GPU and none is available here "
            "(--smoke runs it on CPU at tiny shapes)",
            file=sys.stderr,
        )
        return 2
    else:
        device = "cuda"
    timer = Timer(device, args.warmup, args.repeats)
    out: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "device": torch.cuda.get_device_name() if device == "cuda" else f"cpu ({platform.processor()})",
        "torch": torch.__version__,
        "triton": triton.__version__,
        "mode": "smoke" if args.smoke else ("quick" if args.quick else "full"),
    }
    print(f"device: {out['device']}; torch {out['torch']}, triton {out['triton']}; {out['mode']}")
    start = time.perf_counter()
    if "gemm" not in args.skip:
        bench_gemm(args, device, timer, out)
    if "cast" not in args.skip:
        bench_cast(args, device, timer, out)
    if "sqnr" not in args.skip:
        bench_sqnr(args, device, out)
    if "step" not in args.skip:
        bench_step(args, device, timer, out)
    out["seconds"] = time.perf_counter() - start
    for name, bar in out.get("bars", {}).items():
        verdict = "meets" if bar["value"] >= bar["bar"] else "MISSES"
        print(f"bar {name}: {bar['value']:.2f} {verdict} the bar {bar['bar']}")
    print(f"done in {out['seconds']:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=float) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
