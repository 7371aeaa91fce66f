"""Lowering of the scaled module to kernels (DESIGN.md section 2): ``partition.py`` groups
the ops of each entry point into fused kernels (``scalc compile --emit kernels``,
docs/lowering.md); ``templates/`` holds the Triton kernel templates the emitter fills."""
