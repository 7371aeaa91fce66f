"""Kernel templates of the Triton lowering (STYLE.md: "Generated Triton looks hand-written").

Each module holds one tutorial-shaped ``@triton.jit`` kernel, its configs and a small
launcher; the lowering fills them from the IR. This package imports nothing heavy: import
the template module you need (``from scalc.lowering.templates import gemm``), which needs
``triton``.
"""
