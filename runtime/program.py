"""A compiled program: the train module, its texts and its manifest (DESIGN.md §6-7).

A `Program` comes from `scalc.compile` (fresh from the driver) or `scalc.load` (from an
artifact); either way it is the same object, and ``save`` writes the artifact that
``load`` reads. It holds no parameters: ``session()`` makes a `Session` that does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from scalc.diagnostics import ScalcError
from scalc.dialects.context import print_module
from scalc.lowering.codegen import ProgramKernels, program_kernels
from scalc.runtime.artifact import (
    KERNEL_DIR,
    NN_FILE,
    RUN_FILE,
    TRAIN_FILE,
    ArtifactError,
    make_manifest,
    read_artifact,
    write_artifact,
)
from scalc.runtime.session import Session


@dataclass(frozen=True)
class KernelFile:
    """One generated Triton module as the artifact stores it."""

    entry: str
    name: str
    kind: str
    source: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    @property
    def file(self) -> str:
        return f"{KERNEL_DIR}/{self.entry}/{self.name}.py"

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "name": self.name,
            "kind": self.kind,
            "file": self.file,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
        }


class Program:
    """A compiled model, ready to run: ``program.session(seed=0).train_step(x=x, y=y)``."""

    def __init__(self, train: ModuleOp, files: dict[str, str], manifest: dict[str, Any]) -> None:
        # The module sessions execute (scaled.mlir): the train module after scalify.
        self.train = train
        self._files = dict(files)
        self._manifest = manifest
        self._kernels: ProgramKernels | None = None
        self._kernels_listed = True  # the files and manifest hold the kernel modules
        self._origin = "<program>"  # the artifact's path, for errors about what it carries
        self._entries = {
            op.sym_name.data: op for op in train.body.block.ops if isinstance(op, func.FuncOp)
        }

    @staticmethod
    def from_modules(run: ModuleOp, train: ModuleOp, nn: ModuleOp, recipe: str = "fp32") -> Program:
        """The program that executes ``run`` (the scaled module), keeping the train and nn
        modules it came from; the recipe (validated by the compiler) is recorded. Its
        Triton modules are generated when first needed (``save``, a Triton session,
        ``manifest``), so a program that only runs on the reference backend never pays."""
        files = {
            RUN_FILE: print_module(run),
            TRAIN_FILE: print_module(train),
            NN_FILE: print_module(nn),
        }
        program = Program(run, files, make_manifest(run, files, recipe))
        program._kernels_listed = False  # generated when first needed
        return program

    def kernels(self) -> ProgramKernels:
        """The kernel plan and generated modules of the executed module, made once
        (`program_kernels`: the pipeline ``--emit triton`` runs). For a loaded artifact
        they are generated from its IR and must equal the modules it carries: scalc runs
        only code it generates itself (`ArtifactError` otherwise)."""
        if self._kernels is None:
            made = program_kernels(self.train)
            # Listed before anything was generated here: an artifact's own modules, which
            # must be these (a compiled program lists its modules from this very result).
            if self._kernels_listed:
                carried = self.kernel_texts()
                _check_carried(made, carried, self._manifest.get("kernel_error"), self._origin)
            self._kernels = made
        return self._kernels

    def _kernels_made(self) -> None:
        """Add the generated Triton modules to the files and the manifest, once."""
        if self._kernels_listed:
            return
        made = self.kernels()  # before the flag: generating them is not checking them
        self._kernels_listed = True
        label = made.plan.names.get
        kernels = [
            KernelFile(
                entry,
                src.name,
                src.group.kind,
                src.source,
                tuple(label(v, "%?") for v in src.inputs),
                tuple(label(v, "%?") for v in src.outputs),
            )
            for (entry, _), src in made.sources.items()
        ]
        for kernel in kernels:
            self._files[kernel.file] = kernel.source
        self._manifest = make_manifest(
            self.train,
            self._files,
            self._manifest["recipe"],
            [k.manifest_entry() for k in kernels],
            made.error,
        )

    @staticmethod
    def load(path: str | Path) -> Program:
        """Read an artifact; `ArtifactError` if it is missing, tampered or incompatible."""
        artifact = read_artifact(path)
        program = Program(artifact.train, artifact.files, artifact.manifest)
        program._origin = str(path)
        return program

    def save(self, path: str | Path) -> None:
        """Write the artifact: a directory, or a zip archive when ``path`` ends with ``.zip``."""
        self._kernels_made()
        write_artifact(path, self._manifest, self._files)

    def session(self, backend: str = "auto", seed: int = 0, stats: bool = True) -> Session:
        """A fresh session: parameters from their ``init`` drawn with ``seed``, state zeros.

        ``backend``: ``"reference"`` (NumPy, everywhere), ``"triton"`` (the generated kernels
        on a CUDA GPU), ``"triton-interpret"`` (the same kernels on CPU under Triton's
        interpreter: slow, for tests and tiny models) or ``"auto"`` (``triton`` when a CUDA
        GPU is there, else ``reference``). ``stats=False``: no per-cast statistics
        (``metrics["tensors"]``), not even counted on the device.
        """
        return Session(self, backend, seed, stats=stats)

    # --- what the program declares ----------------------------------------------------

    @property
    def manifest(self) -> dict[str, Any]:
        """A copy of the manifest (the artifact's ``manifest.json``)."""
        self._kernels_made()
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

    def kernel_texts(self) -> dict[tuple[str, str], str]:
        """(entry point, kernel group name) -> the generated Triton module's text."""
        self._kernels_made()
        return {
            (k["entry"], k["name"]): self._files[k["file"]] for k in self._manifest["kernels"]
        }

    @property
    def kernel_error(self) -> str | None:
        """Why the program carries no Triton kernels (an op no generator handles), if so."""
        self._kernels_made()
        return self._manifest.get("kernel_error")

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


def _check_carried(
    made: ProgramKernels,
    carried: dict[tuple[str, str], str],
    carried_error: str | None,
    origin: str,
) -> None:
    """An artifact's kernel modules must be exactly what scalc generates from its IR."""
    if made.error is not None or carried_error is not None:
        if made.error != carried_error:
            raise ArtifactError(
                origin, f"the artifact says {carried_error!r} about its kernels, but scalc finds "
                f"{made.error!r}: it was compiled by another scalc version; recompile it"
            )
        return
    generated = {key: src.source for key, src in made.sources.items()}
    for key in sorted(set(generated) | set(carried)):
        if generated.get(key) != carried.get(key):
            entry, name = key
            raise ArtifactError(
                origin, f"kernel {name} of @{entry} is not the code scalc generates from the "
                "artifact's IR (edited, or written by another scalc version); scalc runs only "
                "code it generates itself: recompile the artifact"
            )
