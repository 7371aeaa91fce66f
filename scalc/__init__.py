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

from scalc.api import compile, load
from scalc.diagnostics import InputError, ScalcError

__version__ = "0.1.0"
__all__ = ["InputError", "ScalcError", "__version__", "compile", "load"]
