"""scalc: a compiler for low-precision (FP8/BF16) training of neural networks.

Write a model in a ``.scl`` file and compile it with ``scalc compile model.scl``; see
README.md. The pipeline (DESIGN.md §2): frontend (``scalc.frontend``) -> `nn` IR
(``scalc.dialects``) -> passes -> lowering -> runtime.
"""

from scalc.diagnostics import InputError, ScalcError

__version__ = "0.1.0"
__all__ = ["InputError", "ScalcError", "__version__"]
