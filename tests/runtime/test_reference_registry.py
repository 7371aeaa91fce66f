"""The reference table is complete (one kernel per ``nn`` and ``scaled`` op) and cannot be
overwritten."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.ir import Operation

from scalc.dialects import nn, scaled
from scalc.runtime.backends.reference import REFERENCE, RefEnv, evaluate, reference
from scalc.runtime.backends.reference.registry import DuplicateKernelError


def test_every_nn_op_has_a_reference_kernel() -> None:
    missing = sorted(op.name for op in nn.NN.operations if op not in REFERENCE)
    assert not missing, f"ops without a reference kernel: {', '.join(missing)}"


def test_every_scaled_op_has_a_reference_kernel() -> None:
    missing = sorted(op.name for op in scaled.SCALED.operations if op not in REFERENCE)
    assert not missing, f"ops without a reference kernel: {', '.join(missing)}"


def test_the_table_holds_only_nn_and_scaled_ops() -> None:
    known = set(nn.NN.operations) | set(scaled.SCALED.operations)
    extra = sorted(op.name for op in REFERENCE if op not in known)
    assert not extra, f"kernels registered for ops outside nn and scaled: {', '.join(extra)}"


def test_registering_a_second_kernel_for_an_op_raises_and_keeps_the_first() -> None:
    first = REFERENCE[nn.ReluOp]
    with pytest.raises(DuplicateKernelError, match="nn.relu already has a reference kernel"):

        @reference(nn.ReluOp)
        def other_relu(op: nn.ReluOp, env: RefEnv, x: np.ndarray) -> np.ndarray:
            return x

    assert REFERENCE[nn.ReluOp] is first


def test_evaluating_an_op_without_a_kernel_names_it() -> None:
    class UnknownOp(Operation):
        name = "test.unknown"

    with pytest.raises(NotImplementedError, match="test.unknown has no reference kernel"):
        evaluate(UnknownOp(), RefEnv())
