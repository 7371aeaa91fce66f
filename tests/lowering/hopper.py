"""Compiling a Triton kernel for Hopper (sm_90) on a machine without a GPU, for the
cross-compile tests: one helper instead of a copy per test file.

Spills come from the ``ptxas -v`` log Triton's ``make_cubin`` prints with
``knobs.nvidia.dump_ptxas_log``: ``CompiledKernel.n_spills`` is only set once a kernel is
loaded on a device.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import time
from collections.abc import Callable
from typing import Any

# Say what we compile with rather than rely on Triton 3.9's default (FP fusion on), which
# 3.10 changes. Tests that care pass `enable_fp_fusion` explicitly.
os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")

import triton
from triton.backends.compiler import GPUTarget

HOPPER = GPUTarget("cuda", 90, 32)


def compile_for_hopper(
    fn: Any,
    signature: dict[str, str],
    constexprs: dict[str, Any],
    aligned: tuple[str, ...],
    **options: Any,
) -> tuple[Any, str, float]:
    """(compiled kernel, ptxas log, seconds). ``constexprs`` are added to the signature;
    the ``aligned`` arguments are declared 16-divisible, as a launch on 1024-sized tensors
    would specialise them; ``options`` go to ``triton.compile`` (``num_warps``, ...)."""
    signature = {**signature, **{name: "constexpr" for name in constexprs}}
    attrs = {(fn.arg_names.index(name),): [["tt.divisibility", 16]] for name in aligned}
    source = triton.compiler.ASTSource(
        fn=fn, signature=signature, constexprs=constexprs, attrs=attrs
    )
    log = io.StringIO()
    nvidia, compilation = triton.knobs.nvidia, triton.knobs.compilation
    saved = nvidia.dump_ptxas_log, compilation.always_compile
    # Always run ptxas: a cache hit would skip it and leave no log to read.
    nvidia.dump_ptxas_log, compilation.always_compile = True, True
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(log):
            compiled = triton.compile(source, target=HOPPER, options=options)
    finally:
        nvidia.dump_ptxas_log, compilation.always_compile = saved
    return compiled, log.getvalue(), time.perf_counter() - start


def spill_bytes(ptxas_log: str) -> tuple[int, int]:
    """(spill store bytes, spill load bytes) from a ``ptxas -v`` log."""
    found = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", ptxas_log)
    assert found, f"no spill line in the ptxas log:\n{ptxas_log}"
    return int(found.group(1)), int(found.group(2))


def opcode_counts(ptx: str, keep: Callable[[str], bool]) -> dict[str, int]:
    """How often each PTX instruction (``cvt.rn.satfinite.e4m3x2.f32``, ...) that ``keep``
    accepts appears."""
    counts: dict[str, int] = {}
    for line in ptx.splitlines():
        words = line.strip().split()
        if words and keep(words[0]):
            counts[words[0]] = counts.get(words[0], 0) + 1
    return counts
