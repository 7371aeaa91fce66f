"""The ``triton`` and ``triton-interpret`` backends (DESIGN.md §8, docs/runtime.md).

A `TritonBackend` partitions the program's scaled module (lowering/partition.py, the same
plan ``scalc compile --emit kernels`` prints), loads the generated module of every non-host
group (the artifact's ``triton/`` files, or freshly generated for a program compiled in
this process) and makes one `Executor` per entry point whose steps are the groups: a
generated kernel module's ``launch`` for a kernel group, the torch host ops of `host.py`
for the ops of a host group. Values between steps are `KernelValue`s (torch data and a
host-float scale). Inputs come in as NumPy arrays; what one entry point hands the next
(saved values, the loss, gradients, update statistics) stays on the device, and only
``@forward``'s outputs go back as NumPy. The session talks to it through the `Backend`
interface (runtime/backends/base.py), as to the reference.

``triton`` needs CUDA: tensors live on the GPU, kernels are compiled by Triton on first
use and cached on disk (Triton's cache, keyed by the source hash, the GPU and the
specialisation; the generated sources sit in the scalc kernel cache keyed by their hash).
``triton-interpret`` runs the same kernels on CPU tensors under Triton's interpreter
(``TRITON_INTERPRET=1``, set here before the kernels are imported) with
`interpreter_patch` applied, so its casts round and saturate as sm_90 does. It is slow
(tests and tiny models), but it checks the kernels the GPU would run.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from xdsl.dialects import func
from xdsl.ir import Operation

from scalc.diagnostics import ScalcError
from scalc.lowering.codegen import KernelSource, load
from scalc.lowering.codegen.abi import KernelValue
from scalc.lowering.partition import KernelGroup
from scalc.runtime.backends.reference.env import RefEnv
from scalc.runtime.executor import Executor, Unit

if TYPE_CHECKING:
    from scalc.runtime.program import Program


class BackendUnavailable(ScalcError):
    """The backend cannot run here (no CUDA, no triton, a kernel scalc cannot generate)."""


@dataclass
class TritonEnv(RefEnv):
    """The reference environment plus the torch device the kernels run on."""

    device: Any = "cpu"
    constants: dict[Any, Any] = field(default_factory=dict)
    """Op -> its `KernelValue` on the device: each constant is made once per session."""


def cuda_available() -> bool:
    """Whether ``torch`` and ``triton`` import and a CUDA device is there."""
    try:
        import torch
        import triton  # noqa: F401
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _require_triton(backend: str) -> None:
    try:
        import torch  # noqa: F401
        import triton  # noqa: F401
    except ImportError as err:
        raise BackendUnavailable(
            f'backend "{backend}" needs torch and triton ({err}); install them with '
            "`pip install torch==2.13.0 triton==3.9.0` (or the `test` extra)"
        ) from None


def _enable_interpreter() -> None:
    """Run the kernels under Triton's interpreter, with GPU casts. Triton decides at import
    (its own ``@jit`` helpers such as ``tl.cdiv``), so it must not have been imported in
    compiled mode before."""
    if "triton" in sys.modules and os.environ.get("TRITON_INTERPRET") != "1":
        raise BackendUnavailable(
            'backend "triton-interpret": triton was already imported in this process without '
            "TRITON_INTERPRET=1, and Triton picks its mode at import; start Python with "
            "TRITON_INTERPRET=1 in the environment (or open the session before anything "
            "imports triton)"
        )
    os.environ["TRITON_INTERPRET"] = "1"
    _require_triton("triton-interpret")
    from triton import knobs

    if not knobs.runtime.interpret:
        raise BackendUnavailable(
            'backend "triton-interpret": Triton did not switch to its interpreter; set '
            "TRITON_INTERPRET=1 in the environment before starting Python"
        )
    from scalc.runtime.backends.triton import interpreter_patch

    interpreter_patch.apply()


class TritonBackend:
    """Kernel modules and executors of one program on one device."""

    def __init__(self, program: Program, interpret: bool) -> None:
        self.name = "triton-interpret" if interpret else "triton"
        made = program.kernels()
        if made.error is not None:  # the program first: no device can run it
            raise BackendUnavailable(
                f"{made.message()}; it cannot run on the Triton backends (backend=\"reference\" "
                "runs it)"
            )
        if interpret:
            _enable_interpreter()
            self.device = "cpu"
        else:
            _require_triton(self.name)
            if not cuda_available():
                raise BackendUnavailable(
                    'backend "triton" needs a CUDA GPU and none is available; use '
                    '"reference" (or "auto", which picks it), or "triton-interpret" to run '
                    "the same kernels on CPU (slowly)"
                )
            os.environ.pop("TRITON_INTERPRET", None)
            self.device = "cuda"
        self.program = program
        self.plan = made.plan  # made once per program (and checked against an artifact's)
        self.sources = made.sources

    def env(self, rng: np.random.Generator) -> TritonEnv:
        """Parameters and state live on the device (`DeviceBuffers`)."""
        from scalc.runtime.backends.triton.buffers import DeviceBuffers

        return TritonEnv(
            rng=rng,
            device=self.device,
            params=DeviceBuffers(self.device),  # type: ignore[arg-type]
            state=DeviceBuffers(self.device),  # type: ignore[arg-type]
        )

    def step_metrics(
        self, recorded: dict[str, Any], update_stats: Sequence[Any] | None
    ) -> Callable[[], dict[str, Any]]:
        """`Backend.step_metrics`: the casts' counts and the four descent sums stay on the
        device until called, then come back in one transfer (`stats.resolve`)."""
        from scalc.runtime.backends.triton import stats

        return lambda: stats.resolve(recorded, update_stats)

    def to_host(self, value: Any) -> np.ndarray:
        """A device tensor (or NumPy array) as a NumPy array the caller owns."""
        from scalc.runtime.backends.triton.convert import to_numpy

        if isinstance(value, np.ndarray):
            return np.array(value, copy=True)
        return np.array(to_numpy(value), copy=True)

    @staticmethod
    def grad_norm(grads: Mapping[str, Any]) -> tuple[float, str | None]:
        """The global L2 norm of device gradients (float64 sums, one sync), and the first
        parameter whose gradient is not finite."""
        import torch

        squares = torch.stack([torch.dot(g.reshape(-1).double(), g.reshape(-1).double())
                               for g in grads.values()]) if grads else None  # fmt: skip
        total = float(squares.sum()) if squares is not None else 0.0
        if math.isfinite(total):
            return math.sqrt(total), None
        for name, g in grads.items():
            if not bool(torch.isfinite(g).all()):
                return math.nan, name
        return math.sqrt(total), None

    def executor(self, fn: func.FuncOp) -> Executor:
        """The executor of entry point ``fn``: one step per host op or kernel group."""
        from scalc.runtime.backends.triton.host import HOST

        entry = fn.sym_name.data
        units: list[Unit] = []
        for group in self.plan.groups.get(entry, []):
            if group.kind == "host":
                for op in group.ops:
                    units.append((_host_step(HOST, op), op, list(op.operands), list(op.results)))
                continue
            src = self.sources[(entry, group.name)]
            module = load(group.name, src.source)
            units.append((_launcher(module, src), group, src.inputs, src.outputs))
        # Results handed from one entry point to the next (saved values, the loss,
        # gradients, update statistics) stay on the device; only @forward's outputs,
        # which go to the user, come back as NumPy.
        return GroupExecutor(fn, units, self.device, device_results=entry != "forward")


def _host_step(table: dict[type[Operation], Any], op: Operation) -> Any:
    kernel = table.get(type(op))
    if kernel is None:
        raise BackendUnavailable(f"{op.name} has no host kernel in the Triton backends")
    return kernel


def _launcher(module: Any, src: KernelSource) -> Any:
    """The step of a kernel group: its module's ``launch``; for a cast group whose cast's
    statistics the session reports, with a counts buffer the kernel fills (`stats.py`),
    kept pending in ``env.stats`` until the user reads the metrics."""
    from scalc.runtime.backends.triton import stats

    launch = module.launch
    cast = stats.recorder(src.group.ops, src.inputs, src.outputs) if src.group.kind == "cast" else None

    def step(tag: KernelGroup, env: TritonEnv, *args: KernelValue) -> Any:
        if cast is not None and getattr(env, "stats", None) is not None:
            name, x_index, out_index = cast
            counts = stats.counts_buffer(env.device)
            outs = tuple(launch(tag.ops, env.sizes, *args, stats=counts))
            env.stats[name] = stats.pending(counts, args[x_index], outs[out_index])
        else:
            outs = tuple(launch(tag.ops, env.sizes, *args))
        return outs[0] if len(outs) == 1 else outs

    step.__name__ = f"launch_{src.name}"
    return step


class GroupExecutor(Executor):
    """An `Executor` over kernel groups: arguments come in as NumPy arrays (or the
    `KernelValue`s an earlier entry point saved), plain results go back as NumPy arrays."""

    def __init__(
        self, fn: func.FuncOp, units: list[Unit], device: Any, device_results: bool = False
    ) -> None:
        super().__init__(fn, {}, units)
        self.device = device
        self.device_results = device_results

    def run(self, env: Any, args: Any) -> list[Any]:
        import torch

        from scalc.runtime.backends.triton.convert import to_numpy, to_torch

        wrapped = []
        for a in args:
            if isinstance(a, KernelValue):
                wrapped.append(a)
            elif isinstance(a, torch.Tensor):
                wrapped.append(KernelValue(a))
            else:
                wrapped.append(KernelValue(to_torch(a, self.device)))
        # Sizes are bound and checked on NumPy arrays; a device tensor (a gradient) is
        # checked through a stand-in of its shape and dtype, without a copy.
        self.prepare(env, [_stand_in(a) if isinstance(a, torch.Tensor) else a for a in args])
        results = self.execute(env, wrapped)
        if self.device_results:
            return [r if r.scale is not None else r.data for r in results]
        return [r if r.scale is not None else to_numpy(r.data).copy() for r in results]


def _stand_in(tensor: Any) -> np.ndarray:
    """A zero-stride NumPy array with ``tensor``'s shape and dtype (for the input checks),
    made without touching the device."""
    from scalc.runtime.backends.triton.convert import numpy_dtype

    return np.broadcast_to(np.zeros((), numpy_dtype(tensor.dtype)), tuple(tensor.shape))
