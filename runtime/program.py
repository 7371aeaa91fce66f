"""A compiled program: the train module, its texts and its manifest (DESIGN.md §6-7).

A `Program` comes from `scalc.compile` (fresh from the driver) or `scalc.load` (from an
artifact); either way it is the same object, and ``save`` writes the artifact that
``load`` reads. It holds no parameters: ``session()`` makes a `Session` that does.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from scalc.diagnostics import ScalcError
from scalc.dialects.context import print_module
from scalc.runtime.artifact import (
    NN_FILE,
    RUN_FILE,
    TRAIN_FILE,
    make_manifest,
    read_artifact,
    write_artifact,
)
from scalc.runtime.session import Session


class Program:
    """A compiled model, ready to run: ``program.session(seed=0).train_step(x=x, y=y)``."""

    def __init__(self, train: ModuleOp, files: dict[str, str], manifest: dict[str, Any]) -> None:
        # The module sessions execute (scaled.mlir): the train module after scalify.
        self.train = train
        self._files = dict(files)
        self._manifest = manifest
        self._entries = {
            op.sym_name.data: op for op in train.body.block.ops if isinstance(op, func.FuncOp)
        }

    @staticmethod
    def from_modules(
        run: ModuleOp, train: ModuleOp, nn: ModuleOp, recipe: str = "fp32"
    ) -> Program:
        """The program that executes ``run`` (the scaled module), keeping the train and nn
        modules it came from; the recipe (validated by the compiler) is recorded."""
        files = {
            RUN_FILE: print_module(run),
            TRAIN_FILE: print_module(train),
            NN_FILE: print_module(nn),
        }
        return Program(run, files, make_manifest(run, files, recipe))

    @staticmethod
    def load(path: str | Path) -> Program:
        """Read an artifact; `ArtifactError` if it is missing, tampered or incompatible."""
        artifact = read_artifact(path)
        return Program(artifact.train, artifact.files, artifact.manifest)

    def save(self, path: str | Path) -> None:
        """Write the artifact: a directory, or a zip archive when ``path`` ends with ``.zip``."""
        write_artifact(path, self._manifest, self._files)

    def session(self, backend: str = "auto", seed: int = 0) -> Session:
        """A fresh session: parameters from their ``init`` drawn with ``seed``, state zeros.

        ``backend`` is ``"auto"`` or ``"reference"`` (the NumPy backend); ``"triton"`` and
        ``"triton-interpret"`` are not available yet.
        """
        return Session(self, backend, seed)

    # --- what the program declares ----------------------------------------------------

    @property
    def manifest(self) -> dict[str, Any]:
        """A copy of the manifest (the artifact's ``manifest.json``)."""
        return copy.deepcopy(self._manifest)

    @property
    def model(self) -> str:
        return str(self._manifest["model"])

    @property
    def recipe(self) -> str:
        return str(self._manifest["recipe"])

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(entry["name"] for entry in self._manifest["inputs"])

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(entry["name"] for entry in self._manifest["outputs"])

    @property
    def default_lr(self) -> float:
        """The learning rate compiled into the program (``scalc.compile(..., lr=...)``)."""
        optimizer = self._manifest.get("optimizer") or {}
        return float(optimizer.get("lr", 1e-3))

    @property
    def train_hash(self) -> str:
        """``sha256:...`` of the executed module: what checkpoints record to match their
        program."""
        return str(self._manifest["files"][RUN_FILE])

    def text(self, name: str = RUN_FILE) -> str:
        """The MLIR text of one stage held by the program (``scaled.mlir``, ``train.mlir``,
        ``nn.mlir``)."""
        return self._files[name]

    def entry(self, name: str) -> func.FuncOp:
        """The entry point ``@name`` of the train module."""
        fn = self._entries.get(name)
        if fn is None:
            if name.startswith("train") or name == "optimizer_step":
                raise ScalcError(f"model `{self.model}` declares no loss, so it cannot be trained")
            raise ScalcError(f"model `{self.model}` has no entry point `{name}`")
        return fn

    def __repr__(self) -> str:
        inputs = ", ".join(self.input_names)
        return f"Program(model={self.model!r}, recipe={self.recipe!r}, inputs=[{inputs}])"
