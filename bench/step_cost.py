"""What one training step of examples/gpt.scl costs the host on the Triton path, measured
on CPU, and what that predicts for an H100 (issue 13; bench/README.md).

    python bench/step_cost.py                     # tiny and GPT-124M, every recipe (~10 min)
    python bench/step_cost.py --configs tiny --recipes fp8 --no-compile
    python bench/step_cost.py --smoke             # seconds: tiny, fp32, no compile

For each configuration (``tiny``: D=32, 2 heads, T=16, B=4; ``124m``: D=768, 12 heads,
12 layers, T=1024, B=8; both VOCAB 96) and recipe it prints:

- **per step** (`bench/counting.py`, on ``triton-interpret`` after two warm-up steps): host
  reads of tensor values, Triton launches, torch ops outside kernels, allocations, bytes
  host-to-device and device-to-host. The interpreter runs a 124M-wide step in minutes, so
  these are measured at the tiny width with 1 and 2 layers and extrapolated linearly to
  the configuration's depth (``per layer``). Launches, reads and ops do not depend on the
  width (checked by hand once at D=768, one layer); every count is also measured at twice
  the width, and one that changes (bytes copied with a tensor) is marked ``+``: at the
  real width it is larger than printed;
- **kernels**: the ``@triton.jit`` kernels the program's generated modules hold, as distinct
  texts (what Triton compiles and caches separately) and as distinct bodies once every
  name is blanked (what a canonical generator would compile);
- **cold compile**: the distinct texts compiled for sm_90 (``triton.compile`` with a
  ``GPUTarget("cuda", 90, 32)`` and an empty cache), one after another, in seconds; and
  the time ``scalc.compile`` takes to compile the program and generate its kernels;
- **H100 estimate**: a roofline model of the step (assumptions printed with it) against the
  same model of the same training step in torch eager bf16, as a ratio.

Nothing here is a unit test: the numbers depend on the machine (compile time) and on a
model (the estimate). tests/e2e/test_bench_smoke.py runs ``--smoke`` and checks the format.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

GPT = ROOT / "examples" / "gpt.scl"
RECIPES = ("fp32", "bf16", "fp8", "fp8-delayed")
CONFIGS: dict[str, dict[str, int]] = {
    "tiny": {"D": 32, "HEADS": 2, "LAYERS": 1, "MAX_T": 16, "B": 4, "T": 16},
    "124m": {"D": 768, "HEADS": 12, "LAYERS": 12, "MAX_T": 1024, "B": 8, "T": 1024},
}
COUNT_WIDTH = {"D": 32, "HEADS": 2, "MAX_T": 16, "B": 4, "T": 16}
"""The size the counts are measured at (any width gives the same counts)."""

# The roofline model's assumptions (printed with every estimate).
MODEL = {
    "hbm_bytes_per_s": 2.6e12,  # H100 SXM, achieved (3.35 TB/s peak)
    "fp8_flops": 600e12,  # FP8 GEMM, achieved
    "bf16_flops": 400e12,  # bf16 GEMM, achieved
    "fp32_flops": 50e12,  # fp32 FMA (no TF32)
    "triton_launch_s": 25e-6,  # one Triton launch from Python (argument handling, no graph)
    "graph_launch_s": 1.5e-6,  # one kernel node of a replayed CUDA graph
    "torch_op_s": 8e-6,  # one eager torch op's host dispatch
    "sync_s": 15e-6,  # one device-to-host read (the queue drains, the copy returns)
}
MODEL_TEXT = (
    "device time per kernel = max(bytes / HBM, flops / peak); host time = launches x launch "
    "+ torch ops x op; without host reads host and device overlap (max), with them they "
    "serialise (sum) plus reads x sync"
)
_SIZE = {"f32": 4, "i32": 4, "i64": 8, "bf16": 2, "f16": 2, "f8E4M3FN": 1, "f8E5M2": 1}


def source_of(consts: dict[str, int]) -> str:
    from scl_consts import with_consts

    model = {k: v for k, v in consts.items() if k not in ("B", "T")}
    return with_consts(GPT.read_text(), **model, VOCAB=96)


def compile_program(consts: dict[str, int], recipe: str) -> Any:
    import scalc

    return scalc.compile(source_of(consts), recipe=recipe, optimizer="adamw", lr=1e-3)


# --- workers (own processes: the interpreter and the compiler cannot share one) ----------


def worker_counts(recipe: str, layers: int, width: int) -> dict[str, Any]:
    """One counted train_step on triton-interpret at the counting size, ``layers`` deep
    and ``width`` wide."""
    import numpy as np
    from counting import StepCounter

    consts = {**COUNT_WIDTH, "LAYERS": layers, "D": width}
    sess = compile_program(consts, recipe).session(backend="triton-interpret", seed=0)
    rng = np.random.default_rng(0)

    def batch() -> dict[str, Any]:
        shape = (consts["B"], consts["T"])
        return {k: rng.integers(0, 96, shape).astype(np.int32) for k in ("tokens", "targets")}

    for _ in range(2):
        sess.train_step(**batch())
    inputs = batch()
    with StepCounter() as counts:
        sess.train_step(**inputs)
    return {**counts.summary(), "reads_by_place": dict(counts.reads_by_place().most_common(6))}


def jit_kernels(program: Any) -> list[tuple[Any, str, dict[str, Any]]]:
    """(jit function, kernel text, HOPPER entry) of every ``@triton.jit`` kernel of
    ``program``'s generated modules (imported from the kernel cache, as a session does)."""
    import inspect

    from scalc.lowering.codegen import load

    out = []
    for (_, group), text in program.kernel_texts().items():
        module = load(group, text)
        for entry in module.HOPPER:
            fn = getattr(module, entry["kernel"])
            out.append((fn, inspect.getsource(fn.fn), entry))
    return out


def blank_names(text: str, kernel: str) -> str:
    """A kernel's text with its own name and every numbered identifier made anonymous."""
    text = text.replace(kernel, "KERNEL")
    return re.sub(r"\b([A-Za-z_]+?)_?\d+\b", r"\1_N", text)


def worker_compile(recipe: str, config: str) -> dict[str, Any]:
    """Compile every distinct kernel text of the program for sm_90, cold, one by one."""
    import triton
    from triton.backends.compiler import GPUTarget

    program = compile_program(CONFIGS[config], recipe)
    distinct = {(text, _key(entry)): (fn, entry) for fn, text, entry in jit_kernels(program)}
    start = time.perf_counter()
    for fn, entry in distinct.values():
        signature = {**entry["signature"], **{n: "constexpr" for n in entry["constexprs"]}}
        attrs = {(fn.arg_names.index(n),): [["tt.divisibility", 16]] for n in entry["aligned"]}
        src = triton.compiler.ASTSource(fn=fn, signature=signature,
                                        constexprs=entry["constexprs"], attrs=attrs)  # fmt: skip
        triton.compile(src, target=GPUTarget("cuda", 90, 32), options=entry["options"])
    return {"compiled": len(distinct), "seconds": time.perf_counter() - start}


def _key(entry: dict[str, Any], name: bool = True) -> str:
    """A HOPPER entry as text (without the kernel's name when ``name`` is false)."""
    return json.dumps({k: v for k, v in entry.items() if name or k != "kernel"},
                      sort_keys=True, default=repr)  # fmt: skip


def run_worker(*args: str, timeout: int = 3600) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    if args[0] == "counts":
        env["TRITON_INTERPRET"] = "1"
    else:
        env["TRITON_CACHE_DIR"] = tempfile.mkdtemp(prefix="scalc-cold-triton-")
        env["SCALC_KERNEL_CACHE"] = tempfile.mkdtemp(prefix="scalc-cold-kernels-")
    proc = subprocess.run([sys.executable, __file__, "--worker", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, check=False)  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"worker {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the roofline model -------------------------------------------------------------------


def _elements(value: Any, dims: dict[Any, Any], sizes: dict[str, int]) -> int:
    t = value.type
    if not hasattr(t, "get_element_type"):
        return 0
    shape = [d.evaluate(sizes) for d in dims[value]] if value in dims else list(t.get_shape())
    return math.prod(shape)


def _bytes(value: Any, dims: dict[Any, Any], sizes: dict[str, int], eager_bf16: bool) -> int:
    """The bytes of ``value``: its elements in its own format, or 2 each (torch bf16)."""
    size = 2 if eager_bf16 else _SIZE.get(str(value.type.get_element_type()), 4)
    return _elements(value, dims, sizes) * size if hasattr(value.type, "get_element_type") else 0


def _matmul_flops(op: Any, dims: dict[Any, Any], sizes: dict[str, int]) -> int:
    lhs = [d.evaluate(sizes) for d in dims[op.operands[0]]]
    out = [d.evaluate(sizes) for d in dims[op.results[0]]]
    return 2 * math.prod(out) * lhs[-1]


def device_seconds(program: Any, sizes: dict[str, int], eager_bf16: bool) -> float:
    """The step's device time in the model: scalc's kernel groups (boundary bytes, matmul
    flops at the operands' precision), or torch eager bf16 (one kernel per nn op of the
    train module, every tensor 2 bytes)."""
    from scalc.dialects import nn, scaled
    from scalc.lowering.partition import ENTRIES, partition
    from scalc.lowering.shapes import module_dims

    module = program.train
    dims = module_dims(module)
    matmuls = (nn.MatmulOp, scaled.MatmulOp)
    total = 0.0
    for entry, groups in partition(module).groups.items():
        if entry not in ENTRIES[1:]:
            continue  # a training step: train_forward, train_backward, optimizer_step
        for group in groups:
            if group.kind == "host" and not eager_bf16:
                continue
            units = [[op] for op in group.ops] if eager_bf16 else [group.ops]
            for ops in units:
                if eager_bf16 and type(ops[0]).__name__.startswith(("Get", "Set", "Constant")):
                    continue
                inside = {r for op in ops for r in op.results}
                values = {v for op in ops for v in op.operands if v not in inside}
                values |= {r for op in ops for r in op.results}
                nbytes = sum(_bytes(v, dims, sizes, eager_bf16) for v in values)
                flops = 0.0
                for op in ops:
                    if isinstance(op, matmuls):
                        fmt = str(op.operands[0].type.get_element_type())
                        peak = (
                            MODEL["bf16_flops"]
                            if eager_bf16 or fmt == "bf16"
                            else (
                                MODEL["fp8_flops"] if fmt.startswith("f8") else MODEL["fp32_flops"]
                            )
                        )
                        flops += _matmul_flops(op, dims, sizes) / peak
                total += max(nbytes / MODEL["hbm_bytes_per_s"], flops)
    return total


def step_estimate(counts: dict[str, float], device_s: float, graphs: bool = False) -> float:
    launch = MODEL["graph_launch_s"] if graphs else MODEL["triton_launch_s"]
    host = counts["launches"] * launch + counts["torch_ops"] * MODEL["torch_op_s"]
    if counts["host_reads"] == 0:
        return max(host, device_s)
    return host + device_s + counts["host_reads"] * MODEL["sync_s"]


def eager_estimate(program: Any, sizes: dict[str, int]) -> float:
    """torch eager bf16: one op per nn op of the step, overlapped with the device."""
    from scalc.lowering.partition import ENTRIES, partition

    ops = sum(len(g.ops) for e, gs in partition(program.train).groups.items()
              if e in ENTRIES[1:] for g in gs if g.kind != "host")  # fmt: skip
    return max(ops * MODEL["torch_op_s"], device_seconds(program, sizes, eager_bf16=True))


# --- the report ---------------------------------------------------------------------------


def extrapolate(one: dict[str, Any], two: dict[str, Any], layers: int) -> dict[str, float]:
    keys = [k for k in one if isinstance(one[k], int | float)]
    return {k: one[k] + (two[k] - one[k]) * (layers - 1) for k in keys}


def measure(config: str, recipe: str, compile_kernels: bool) -> dict[str, Any]:
    consts = CONFIGS[config]
    width = str(COUNT_WIDTH["D"])
    one = run_worker("counts", recipe, "1", width)
    two = run_worker("counts", recipe, "2", width) if consts["LAYERS"] > 1 else one
    per_step = extrapolate(one, two, consts["LAYERS"])
    width_dependent: list[str] = []
    if consts["D"] != COUNT_WIDTH["D"]:
        # A count that changes with the width cannot be carried to another width: say so.
        wide = run_worker("counts", recipe, "1", str(2 * COUNT_WIDTH["D"]))
        width_dependent = sorted(k for k in per_step if wide[k] != one[k])
    start = time.perf_counter()
    program = compile_program(consts, recipe)
    program.kernel_texts()  # generated lazily: compiling includes generating the kernels
    program_s = time.perf_counter() - start
    kernels = jit_kernels(program)
    texts = {(text, _key(entry)) for _, text, entry in kernels}
    bodies = {(blank_names(text, e["kernel"]), _key(e, name=False)) for _, text, e in kernels}
    sizes = {"B": consts["B"], "T": consts["T"]}
    device = device_seconds(program, sizes, eager_bf16=False)
    # The baseline trains the same model: the fp32 train module's nn ops, in bf16.
    eager = eager_estimate(compile_program(consts, "fp32"), sizes)
    result = {
        "config": config, "recipe": recipe, "per_step": per_step,
        "per_layer": {k: two[k] - one[k] for k in per_step} if two is not one else None,
        "reads_by_place": one["reads_by_place"], "width_dependent": width_dependent,
        "kernel_texts": len(texts), "kernel_bodies": len(bodies), "program_compile_s": program_s,
        "device_s": device, "step_s": step_estimate(per_step, device),
        "eager_bf16_s": eager,
    }  # fmt: skip
    result["ratio_to_eager"] = result["step_s"] / eager
    if compile_kernels:
        result["cold_compile"] = run_worker("compile", recipe, config)
    return result


def print_result(r: dict[str, Any]) -> None:
    s = {
        k: f"{v:.0f}" + ("+" if k in r["width_dependent"] else "") for k, v in r["per_step"].items()
    }
    print(f"{r['config']:>5} {r['recipe']:<12} reads {s['host_reads']:>6}  launches "
          f"{s['launches']:>6}  torch ops {s['torch_ops']:>6}  allocs {s['allocations']:>6}"
          f"  h2d {s['h2d_bytes']:>9} B  d2h {s['d2h_bytes']:>9} B")  # fmt: skip
    if r["width_dependent"]:
        print(f"{'':>18} + grows with the width: measured at D={COUNT_WIDTH['D']}, more at "
              f"D={CONFIGS[r['config']]['D']} ({', '.join(r['width_dependent'])})")  # fmt: skip
    compiled = r.get("cold_compile")
    cold = f"{compiled['seconds']:.1f} s for {compiled['compiled']}" if compiled else "not measured"
    print(f"{'':>18} kernels: {r['kernel_texts']} texts, {r['kernel_bodies']} bodies; "
          f"cold sm_90 compile: {cold}; scalc.compile + kernel generation: "
          f"{r['program_compile_s']:.1f} s")  # fmt: skip
    step_ms, device_ms = r["step_s"] * 1e3, r["device_s"] * 1e3
    print(f"{'':>18} H100 estimate {step_ms:.1f} ms/step (device {device_ms:.1f}"
          f" ms) vs torch eager bf16 {r['eager_bf16_s'] * 1e3:.1f} ms: ratio "
          f"{r['ratio_to_eager']:.2f}")  # fmt: skip
    if r["per_layer"]:
        layer = r["per_layer"]
        print(f"{'':>18} per layer: reads {layer['host_reads']:.0f}, launches "
              f"{layer['launches']:.0f}, torch ops {layer['torch_ops']:.0f}")  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--recipes", nargs="+", choices=RECIPES, default=list(RECIPES))
    parser.add_argument("--no-compile", action="store_true", help="skip the cold sm_90 compile")
    parser.add_argument("--smoke", action="store_true", help="tiny, fp32, no compile (seconds)")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        kind, *rest = args.worker
        if kind == "counts":
            print(json.dumps(worker_counts(rest[0], int(rest[1]), int(rest[2]))))
        else:
            print(json.dumps(worker_compile(rest[0], rest[1])))
        return 0
    if args.smoke:
        args.configs, args.recipes, args.no_compile = ["tiny"], ["fp32"], True
    print("examples/gpt.scl, AdamW; per-step counts on triton-interpret (bench/counting.py)")
    print(f"model: {MODEL_TEXT}; " + ", ".join(f"{k}={v:g}" for k, v in MODEL.items()))
    results = []
    for config in args.configs:
        for recipe in args.recipes:
            result = measure(config, recipe, compile_kernels=not args.no_compile)
            print_result(result)
            results.append(result)
    if args.json:
        args.json.write_text(json.dumps({"model": MODEL, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
