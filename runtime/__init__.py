"""The runtime (DESIGN.md §6-8): artifacts, the executor and its memory plan, sessions
and checkpoints, and the backends that run ``nn`` ops.

    program = scalc.load("mlp.sclc")          # runtime/program.py, runtime/artifact.py
    sess = program.session(seed=0)            # runtime/session.py
    sess.train_step(x=x, y=y)                 # runtime/executor.py + backends/reference
    sess.save("mlp.npz")                      # runtime/checkpoint.py
"""

from scalc.runtime.artifact import ArtifactError
from scalc.runtime.checkpoint import CheckpointError
from scalc.runtime.executor import Executor
from scalc.runtime.program import Program
from scalc.runtime.session import Outputs, Session, SkippedStepWarning, StepResult

__all__ = [
    "ArtifactError",
    "CheckpointError",
    "Executor",
    "Outputs",
    "Program",
    "Session",
    "SkippedStepWarning",
    "StepResult",
]
