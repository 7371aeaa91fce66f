"""scalc: a compiler for low-precision (FP8/BF16) training of neural networks.

Write a model in a ``.scl`` file, then::

    import scalc
    program = scalc.compile("examples/mlp.scl")   # or scalc.load("mlp.sclc")
    sess = program.session(seed=0)
    print(sess.train_step(x=x, y=y).loss)

The pipeline (DESIGN.md §2): frontend (``scalc.frontend``) -> `nn` IR (``scalc.dialects``)
-> passes -> lowering -> runtime (``scalc.runtime``). Importing ``scalc`` is cheap: the
compiler and the runtime load when first used.
"""

from typing import Any

from scalc.api import RECIPES, compile, load
from scalc.diagnostics import InputError, ScalcError

__version__ = "0.1.0"
__all__ = ["BACKENDS", "RECIPES", "InputError", "ScalcError", "__version__", "compile", "load"]


def __getattr__(name: str) -> Any:
    # `scalc.BACKENDS` lives with the sessions; importing them eagerly would make
    # `import scalc` load NumPy and the IR framework.
    if name == "BACKENDS":
        from scalc.runtime.session import BACKENDS

        return BACKENDS
    raise AttributeError(f"module 'scalc' has no attribute {name!r}")
