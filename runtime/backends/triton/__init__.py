"""The Triton backends (DESIGN.md §8): ``triton`` runs the generated kernels on CUDA tensors,
``triton-interpret`` runs the same kernels on CPU tensors under Triton's interpreter
(``TRITON_INTERPRET=1``) with `interpreter_patch` making its casts round as the GPU does.
Importing this package imports neither torch nor triton."""
