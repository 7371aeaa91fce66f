"""The public Python API (DESIGN.md §7): ``scalc.compile`` and ``scalc.load``.

    import scalc
    program = scalc.compile("examples/mlp.scl", optimizer="adamw", lr=3e-3)
    program.save("mlp.sclc")
    program = scalc.load("mlp.sclc")
    sess = program.session(seed=0)

This module is imported by ``import scalc``, so it imports the compiler and the runtime
only when a function is called.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from scalc.diagnostics import ScalcError

if TYPE_CHECKING:
    from scalc.passes.optimizer import OptimizerConfig
    from scalc.passes.recipes import Recipe
    from scalc.runtime.program import Program

from scalc.passes.recipes import RECIPE_NAMES as RECIPES


def compile(
    path_or_source: str | Path,
    recipe: str | Path | Recipe = "fp32",
    optimizer: str = "adamw",
    **optimizer_options: Any,
) -> Program:
    """Compile a ``.scl`` program into a `Program`.

    ``path_or_source`` is a path when it is a `Path`, names an existing file or ends with
    ``.scl``; otherwise it is the program's text. ``optimizer`` is ``"adamw"`` or
    ``"sgd"``; ``optimizer_options`` are its hyper-parameters (``lr``, ``weight_decay``,
    ``beta1``, ``beta2``, ``eps``, ``momentum``, ``nesterov``). Mistakes raise `ScalcError`
    with ``file:line:col`` diagnostics.

    >>> program = compile("model m\\ndim B\\ninput x: f32[B, 2]\\nparam w: f32[2] = ones\\n"
    ...                   "loss = mean(x * w)", optimizer="sgd", lr=0.1)
    >>> program.model, program.input_names
    ('m', ('x',))
    """
    from scalc.driver import read_source
    from scalc.passes.optimizer import OptimizerConfig

    config = OptimizerConfig.make(optimizer, **optimizer_options)
    if _is_path(path_or_source):
        source, file = read_source(path_or_source), str(path_or_source)
    else:
        source, file = str(path_or_source), "<source>"
    return compile_program(source, file, recipe, config)


def compile_program(
    source: str, file: str, recipe: str | Path | Recipe, optimizer: OptimizerConfig
) -> Program:
    """Compile ``source`` (named ``file`` in diagnostics) with a validated optimizer."""
    from scalc.driver import run_stages
    from scalc.passes.recipes import resolve_recipe
    from scalc.runtime.program import Program

    chosen = resolve_recipe(recipe)
    compilation = run_stages(source, file, "scaled", optimizer, chosen).compilation
    assert compilation.scaled is not None and compilation.train is not None
    assert compilation.nn is not None
    scaled = compilation.scaled
    return Program.from_modules(scaled, compilation.train, compilation.nn, chosen.name)


def load(path: str | Path) -> Program:
    """Load an artifact written by `Program.save` (a ``.sclc`` directory or ``.zip``).

    Raises ``scalc.runtime.ArtifactError`` (a `ScalcError`) when it is missing, was
    modified after it was written, or comes from an incompatible scalc.
    """
    from scalc.runtime.program import Program

    return Program.load(path)


def _is_path(value: str | Path) -> bool:
    if isinstance(value, Path):
        return True
    if "\n" in value or not value.strip():
        return False
    if value.endswith(".scl"):
        return True
    try:
        return Path(value).is_file()
    except (OSError, ValueError):  # a name too long, or with a NUL: source text
        return False
