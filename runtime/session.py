"""A training session (DESIGN.md §7): a program's parameters and optimizer state, and the
entry points of its train module (docs/train.md) run on a backend.

    sess = program.session(seed=0)
    out = sess.train_step(x=x, y=y)      # @train_forward, @train_backward, @optimizer_step
    out.loss, out.metrics["grad_norm"], out.skipped
    logits = sess.forward(x=x).logits    # @forward

A step whose loss or gradients are not finite is skipped: parameters and state stay as
they were, the result says ``skipped=True`` and a `SkippedStepWarning` is issued, so bad
data is a reported, recoverable event and never corrupts the weights (DESIGN.md §9).
Parameter arrays are read-only and replaced, never written in place, by each step.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scalc.diagnostics import InputError, ScalcError, did_you_mean
from scalc.dialects import nn
from scalc.runtime import checkpoint
from scalc.runtime.backends.base import Backend
from scalc.runtime.backends.reference import REFERENCE
from scalc.runtime.backends.reference.backend import ReferenceBackend
from scalc.runtime.executor import Executor
from scalc.runtime.inputs import convert, is_torch_tensor, like_torch, to_numpy

if TYPE_CHECKING:
    from scalc.runtime.program import Program

BACKENDS = ("auto", "reference", "triton", "triton-interpret")
STEP_STATE = "step"


class SkippedStepWarning(RuntimeWarning):
    """An optimizer step was skipped because the loss or a gradient was not finite."""


class Outputs(Mapping[str, Any]):
    """The outputs of ``forward``, by name: ``out["logits"]`` or ``out.logits``."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"no output `{name}`{did_you_mean(name, set(values))}")

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {tuple(v.shape)}" for k, v in self._values.items())
        return f"Outputs({shapes})"


TensorStats = dict[str, dict[str, float]]
"""Per ``scaled.cast`` of a step: name -> ``{"scale", "amax", "saturated", "underflow"}``."""


class StepResult:
    """One optimizer step: the loss before the update, metrics, and whether it was skipped.

    ``metrics``: ``loss``, ``lr``, ``step``, ``grad_norm`` and, for a program with scaled
    casts (an fp8 recipe), ``tensors``: for each ``scaled.cast`` the step ran (forward and
    backward), keyed like ``train_forward/cast3:%x->f8E4M3FN``, its ``scale``, the
    ``amax`` of the value cast, and the fractions of ``saturated`` values (clipped to the
    format's max) and of nonzero values flushed to zero (``underflow``).

    The per-cast statistics and ``edq``/``stalled`` are read from the device when
    ``metrics`` is first read (one transfer for the whole step, on a Triton backend), so a
    loop that does not look at them does not wait for them."""

    def __init__(
        self,
        loss: float,
        metrics: dict[str, Any] | None = None,
        skipped: bool = False,
        deferred: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self._loss = loss
        self._metrics: dict[str, Any] = dict(metrics or {})
        self._skipped = skipped
        self._deferred = deferred

    @property
    def loss(self) -> float:
        return self._loss

    @property
    def skipped(self) -> bool:
        return self._skipped

    @property
    def metrics(self) -> dict[str, Any]:
        if self._deferred is not None:
            deferred, self._deferred = self._deferred, None
            self._metrics.update(deferred())
        return self._metrics

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StepResult):
            return NotImplemented
        return (self.loss, self.skipped, self.metrics) == (other.loss, other.skipped, other.metrics)

    __hash__ = None  # type: ignore[assignment]  (equal by value, and the metrics change)

    def __repr__(self) -> str:
        shown = {k: v for k, v in self._metrics.items() if k != "tensors"}
        return f"StepResult(loss={self._loss!r}, skipped={self._skipped}, metrics={shown})"


@dataclass
class _Pending:
    """Gradients ``backward`` computed and ``step`` will apply (``None``: loss not finite),
    the casts' statistics, and the state as it was before (delayed scaling's amax
    histories are written by ``@train_forward``; a skipped step puts them back)."""

    loss: float
    grads: dict[str, np.ndarray] | None
    stats: TensorStats = field(default_factory=dict)
    state_before: dict[str, np.ndarray] = field(default_factory=dict)


def resolve_backend(backend: str) -> str:
    """The backend a session runs on: ``auto`` is ``triton`` when a CUDA GPU (with torch
    and triton) is there, else ``reference``."""
    if backend == "auto":
        from scalc.runtime.backends.triton.backend import cuda_available

        return "triton" if cuda_available() else "reference"
    if backend in BACKENDS:
        return backend
    raise ScalcError(f"unknown backend `{backend}`; choose one of {', '.join(BACKENDS)}")


class Session:
    """Parameters, optimizer state and compiled entry points of one program.

    Made by `Program.session`; parameters are initialised from their ``init`` with
    ``numpy.random.default_rng(seed)`` in declaration order, then optimizer state: zeros,
    or a copy of its parameter (``init = "param"``).
    """

    def __init__(
        self, program: Program, backend: str = "auto", seed: int = 0, stats: bool = True
    ) -> None:
        self.program = program
        self.stats = bool(stats)
        """Whether steps record per-cast statistics (``metrics["tensors"]``)."""
        self.backend = resolve_backend(backend)
        self._backend = make_backend(program, self.backend)
        self._env = self._backend.env(np.random.default_rng(seed))
        self._executors: dict[str, Executor] = {}
        self._pending: _Pending | None = None
        self._step_count: int | None = None  # a host copy of the "step" state buffer
        for op in program.train.body.block.ops:
            # The reference's initialisers, on every backend (the same draws from `rng`).
            if isinstance(op, nn.ParamOp):
                self._env.params[op.sym_name.data] = REFERENCE[nn.ParamOp](op, self._env)
            elif isinstance(op, nn.StateOp):
                self._env.state[op.sym_name.data] = REFERENCE[nn.StateOp](op, self._env)
        self._freeze()

    # --- running ----------------------------------------------------------------------

    def forward(self, **inputs: Any) -> Outputs:
        """The model's outputs (``@forward``), as NumPy arrays or as torch tensors when the
        inputs were torch tensors. Inputs the model has but ``forward`` does not read (the
        labels) are accepted and ignored."""
        executor = self._executor("forward")
        args, example = self._arguments(executor, inputs)
        results = self._run(executor, args, stats=None)
        values = dict(zip(executor.result_names, results))
        return Outputs(like_torch(values, example) if example is not None else values)

    def train_step(self, lr: float | None = None, **inputs: Any) -> StepResult:
        """Forward, backward and the optimizer update on one batch: ``backward`` + ``step``."""
        rate = self._learning_rate(lr)
        self.backward(**inputs)
        return self._apply(rate)

    def backward(self, **inputs: Any) -> float:
        """The loss on one batch; its gradients are kept for the next ``step()``."""
        forward = self._executor("train_forward")
        args, _ = self._arguments(forward, inputs)
        state_before = self._env.state.copy()  # kernels replace arrays, never write into them
        stats: TensorStats | None = {} if self.stats else None
        loss_value, *saved = self._run(forward, args, stats)
        loss = float(loss_value)
        grads = None
        if math.isfinite(loss):
            backward = self._executor("train_backward")
            grads = dict(zip(backward.result_names, self._run(backward, saved, stats)))
        self._pending = _Pending(loss, grads, stats or {}, state_before)
        return loss

    def step(self, lr: float | None = None) -> StepResult:
        """Apply the gradients of the last ``backward()`` with learning rate ``lr`` (default:
        the compiled one); skipped, with a warning, when they are not finite."""
        rate = self._learning_rate(lr)
        if self._pending is None:
            raise ScalcError("step() has no gradients to apply: call backward(...) first")
        return self._apply(rate)

    def _apply(self, rate: float) -> StepResult:
        """``step`` once the learning rate is checked (warnings point at the caller's caller)."""
        assert self._pending is not None
        pending, self._pending = self._pending, None
        if pending.grads is None:
            norm, bad = math.nan, None
        else:
            norm, bad = self._backend.grad_norm(pending.grads)
        metrics: dict[str, float | int | TensorStats] = {
            "loss": pending.loss,
            "lr": rate,
            "step": self.step_count,
            "grad_norm": norm,
        }
        if not math.isfinite(pending.loss) or bad is not None:
            # State the step's entry points wrote (amax histories) goes back as it was.
            self._env.state.clear()
            self._env.state.update(pending.state_before)
            what = (
                f"the loss is {pending.loss}"
                if bad is None
                else f"the gradient of `{bad}` is not finite"
            )
            warnings.warn(
                f"step {self.step_count + 1} skipped: {what}; parameters are unchanged",
                SkippedStepWarning,
                stacklevel=3,
            )
            deferred = self._backend.step_metrics(pending.stats, None)
            return StepResult(pending.loss, metrics, skipped=True, deferred=deferred)
        assert pending.grads is not None
        optimizer = self._executor("optimizer_step")
        lr_array = np.asarray(rate, dtype=np.float32)
        args = [lr_array if s.grad is None else pending.grads[s.grad] for s in optimizer.args]
        update_stats = self._run(optimizer, args, stats=None)
        self._freeze()
        if self._step_count is not None:  # @optimizer_step added 1 to the f32 "step" state
            self._step_count = int(np.float32(self._step_count) + np.float32(1))
        metrics["step"] = self.step_count
        deferred = self._backend.step_metrics(pending.stats, update_stats)
        return StepResult(pending.loss, metrics, deferred=deferred)

    # --- parameters and checkpoints ---------------------------------------------------

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Parameter name -> its current value (read-only arrays; later steps replace them)."""
        return dict(self._env.params)

    def state_bytes(self) -> dict[str, float]:
        """Persistent training state as the runtime allocated it (docs/collage.md):
        ``weights`` (parameter buffers), ``optimizer`` (every state buffer: moments, master
        copies, compensation terms, the step count, amax histories), their sum ``total``,
        ``params`` (parameter elements) and ``per_param`` = total / params."""
        weights = sum(a.nbytes for a in self._env.params.values())
        optimizer = sum(a.nbytes for a in self._env.state.values())
        count = sum(a.size for a in self._env.params.values())
        total = weights + optimizer
        return {
            "weights": weights,
            "optimizer": optimizer,
            "total": total,
            "params": count,
            "per_param": total / count if count else 0.0,
        }

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """d loss / d param from the last ``backward()`` not yet applied by ``step()``
        (empty when there is none). Parameters the loss does not depend on are absent."""
        if self._pending is None or self._pending.grads is None:
            return {}
        return {name: self._backend.to_host(g) for name, g in self._pending.grads.items()}

    @property
    def step_count(self) -> int:
        """Optimizer steps taken (skipped steps do not count). Read from the ``step`` state
        buffer once, then counted on the host (a device backend keeps it on the device)."""
        if self._step_count is None:
            value = self._env.state.get(STEP_STATE)
            self._step_count = 0 if value is None else int(value)
        return self._step_count

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and state buffer: ``param/NAME``, ``state/NAME``."""
        return checkpoint.make_state_dict(self._env.params, self._env.state)

    def load_state_dict(self, values: Mapping[str, Any]) -> None:
        """Replace parameters and state; names, shapes and dtypes must match exactly."""
        self._load(dict(values), "state dict")

    def save(self, path: str | Path) -> None:
        """Write a checkpoint (``.npz``, atomically) that `restore` reads back bit-exactly."""
        meta = {
            "model": self.program.model,
            "train_mlir": self.program.train_hash,
            "scalc_version": self.program.manifest["scalc_version"],
        }
        checkpoint.write_checkpoint(path, self.state_dict(), meta)

    def restore(self, path: str | Path, *, strict: bool = True) -> None:
        """Load a checkpoint written by `save`. It must come from the same model; with
        ``strict`` (the default) also from the same compilation (the same ``train.mlir``)."""
        meta, arrays = checkpoint.read_checkpoint(path)
        if meta.get("model") != self.program.model:
            raise checkpoint.CheckpointError(
                f"{path}: a checkpoint of model `{meta.get('model')}`, but this session runs "
                f"model `{self.program.model}`"
            )
        if strict and meta.get("train_mlir") != self.program.train_hash:
            raise checkpoint.CheckpointError(
                f"{path}: written by another compilation of model `{self.program.model}` "
                "(its train.mlir differs: other optimizer settings or source); pass "
                "strict=False to load it anyway (names, shapes and dtypes are still checked)"
            )
        self._load(arrays, str(path))

    # --- internals --------------------------------------------------------------------

    def _load(self, values: dict[str, Any], source: str) -> None:
        expected = checkpoint.make_state_dict(self._env.params, self._env.state)
        checked = checkpoint.check_state_dict(expected, values, source)
        params, state = checkpoint.split_state_dict(checked)
        self._env.params.update(params)
        self._env.state.update(state)
        self._pending = None
        self._step_count = None

    def _run(self, executor: Executor, args: list[Any], stats: TensorStats | None) -> list[Any]:
        """Run one entry point; its casts record their statistics into ``stats`` (``None``:
        not recorded)."""
        self._env.stats = stats
        # Overflow and NaN are detected after the step and reported once, as a skipped
        # step; NumPy's per-kernel floating-point warnings would only repeat that.
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return executor.run(self._env, args)
        finally:
            self._env.stats = None

    def _executor(self, entry: str) -> Executor:
        executor = self._executors.get(entry)
        if executor is None:
            executor = self._backend.executor(self.program.entry(entry))
            self._executors[entry] = executor
        return executor

    def _arguments(
        self, executor: Executor, inputs: dict[str, Any]
    ) -> tuple[list[np.ndarray], Any]:
        """The executor's arguments from user inputs, and a torch tensor among them if any."""
        known = self.program.input_names
        for name in inputs:
            if name not in known:
                raise InputError(
                    f"unknown input `{name}`; the model's inputs are "
                    f"{', '.join(known) or '(none)'}{did_you_mean(name, set(known))}"
                )
        specs = [spec for spec in executor.args if spec.dims is not None]
        missing = [spec for spec in specs if spec.name not in inputs]
        if missing:
            wants = ", ".join(f"{s.name}: {s.describe()}" for s in specs)
            raise InputError(f"missing input `{missing[0].name}`; @{executor.name} takes {wants}")
        example = next((v for v in inputs.values() if is_torch_tensor(v)), None)
        args = [convert(spec, to_numpy(spec.name, inputs[spec.name])) for spec in specs]
        return args, example

    def _learning_rate(self, lr: float | None) -> float:
        rate = self.program.default_lr if lr is None else float(lr)
        if not math.isfinite(rate) or rate < 0:
            raise InputError(f"lr must be a finite number >= 0, got {rate}")
        return rate

    def _freeze(self) -> None:
        """Make every parameter and state array read-only: views given out stay valid."""
        for table in (self._env.params, self._env.state):
            if hasattr(table, "freeze"):  # device buffers: arrays are made read-only
                table.freeze()
                continue
            for value in table.values():
                value.flags.writeable = False

    def __repr__(self) -> str:
        return (
            f"Session(model={self.program.model!r}, backend={self.backend!r}, "
            f"step={self.step_count})"
        )


def make_backend(program: Program, backend: str) -> Backend:
    """The backend named ``backend`` (already resolved: not ``auto``) for ``program``."""
    if backend == "reference":
        return ReferenceBackend()
    from scalc.runtime.backends.triton.backend import TritonBackend

    return TritonBackend(program, interpret=backend == "triton-interpret")
