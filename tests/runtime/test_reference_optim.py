"""``nn.sgd`` and ``nn.adamw`` follow ``torch.optim.SGD`` and ``torch.optim.AdamW`` step for
step, and the state ops read and write the environment without aliasing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pytest
import torch
from xdsl.dialects.builtin import TensorType, f32
from xdsl.ir import SSAValue
from xdsl.utils.test_value import create_ssa_value

from scalc.dialects import nn
from scalc.runtime.backends.reference import RefEnv, evaluate
from scalc.runtime.backends.reference.dtypes import tensor_type

STEPS = 20
SHAPE = (4, 6)
# float32 updates in a different operation order from PyTorch's drift by a few ulps per
# step; 20 steps stay far below this.
REL_TOL = 1e-6


def arg(x: np.ndarray) -> SSAValue:
    return create_ssa_value(tensor_type(x))


LR_OR_T = create_ssa_value(TensorType(f32, []))
"""A ``tensor<f32>`` operand: the learning rate or the step count."""


def scalar(value: float) -> np.ndarray:
    return np.array(value, np.float32)


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


def gradients(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(SHAPE).astype(np.float32) for _ in range(STEPS)]


def torch_trajectory(
    make_optimizer: Callable[[list[torch.nn.Parameter]], torch.optim.Optimizer],
    w0: np.ndarray,
    grads: list[np.ndarray],
    state_names: tuple[str, ...],
) -> list[tuple[np.ndarray, ...]]:
    """After each step of a PyTorch optimizer fed ``grads``: the parameter, then the
    optimizer state named ``state_names`` (zeros where PyTorch keeps none)."""
    w = torch.nn.Parameter(torch.from_numpy(w0.copy()))
    optimizer = make_optimizer([w])
    trajectory: list[tuple[np.ndarray, ...]] = []
    for g in grads:
        w.grad = torch.from_numpy(g.copy())
        optimizer.step()
        state = optimizer.state[w]
        buffers = [
            state[n].numpy().copy() if state.get(n) is not None else np.zeros_like(w0)
            for n in state_names
        ]
        trajectory.append((w.detach().numpy().copy(), *buffers))
    return trajectory


def check_step(step: int, ours: tuple[np.ndarray, ...], theirs: tuple[np.ndarray, ...]) -> None:
    for name, a, b in zip(("w", "state 1", "state 2"), ours, theirs, strict=False):
        assert a.dtype == np.float32, f"step {step}: {name} is {a.dtype}"
        if np.any(b):
            error = relative_error(a, b)
            assert error <= REL_TOL, f"step {step}: {name} differs by {error:.2e}"
        else:
            np.testing.assert_array_equal(a, b)


@dataclass(frozen=True)
class SgdCase:
    momentum: float
    weight_decay: float
    nesterov: bool


SGD_CASES = [
    SgdCase(momentum=0.0, weight_decay=0.0, nesterov=False),
    SgdCase(momentum=0.9, weight_decay=0.0, nesterov=False),
    SgdCase(momentum=0.9, weight_decay=0.01, nesterov=False),
    SgdCase(momentum=0.8, weight_decay=0.05, nesterov=True),
    SgdCase(momentum=0.0, weight_decay=0.1, nesterov=False),
]


@pytest.mark.parametrize("case", SGD_CASES, ids=str)
def test_sgd_matches_torch_over_20_steps(case: SgdCase) -> None:
    lr = float(np.float32(0.05))  # the f32 value the IR's tensor<f32> lr holds
    w = np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)
    grads = gradients(1)
    expected = torch_trajectory(
        lambda ps: torch.optim.SGD(ps, lr=lr, **asdict(case)), w, grads, ("momentum_buffer",)
    )
    op = nn.SgdOp(arg(w), arg(w), arg(w), LR_OR_T, **asdict(case))
    buf = np.zeros_like(w)
    for step, g in enumerate(grads):
        result = evaluate(op, RefEnv(), w, g, buf, scalar(lr))
        assert isinstance(result, tuple)
        w, buf = result
        check_step(step + 1, result, expected[step])


@dataclass(frozen=True)
class AdamWCase:
    beta1: float
    beta2: float
    eps: float
    weight_decay: float


ADAMW_CASES = [
    AdamWCase(beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01),
    AdamWCase(beta1=0.8, beta2=0.95, eps=1e-6, weight_decay=0.1),
    AdamWCase(beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0),
]


@pytest.mark.parametrize("case", ADAMW_CASES, ids=str)
def test_adamw_matches_torch_over_20_steps(case: AdamWCase) -> None:
    lr = float(np.float32(1e-2))
    w = np.random.default_rng(2).standard_normal(SHAPE).astype(np.float32)
    grads = gradients(3)

    def make(params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
        betas = (case.beta1, case.beta2)
        return torch.optim.AdamW(
            params, lr=lr, betas=betas, eps=case.eps, weight_decay=case.weight_decay
        )

    expected = torch_trajectory(make, w, grads, ("exp_avg", "exp_avg_sq"))
    op = nn.AdamWOp(arg(w), arg(w), arg(w), arg(w), LR_OR_T, LR_OR_T, **asdict(case))
    m, v = np.zeros_like(w), np.zeros_like(w)
    for step, g in enumerate(grads):
        result = evaluate(op, RefEnv(), w, g, m, v, scalar(lr), scalar(step + 1))
        assert isinstance(result, tuple)
        w, m, v = result
        check_step(step + 1, result, expected[step])


def test_adamw_first_step_moves_each_weight_by_about_lr() -> None:
    # At t = 1 the bias-corrected update is g / (|g| + eps): a step of lr against the sign.
    w, g = np.zeros(3, np.float32), np.array([2.0, -0.5, 3.0], np.float32)
    op = nn.AdamWOp(arg(w), arg(w), arg(w), arg(w), LR_OR_T, LR_OR_T, weight_decay=0.0)
    result = evaluate(op, RefEnv(), w, g, w, w, scalar(0.1), scalar(1))
    assert isinstance(result, tuple)
    new_w, m, v = result
    np.testing.assert_allclose(new_w, [-0.1, 0.1, -0.1], rtol=1e-6)
    np.testing.assert_allclose(m, 0.1 * g, rtol=1e-6)
    np.testing.assert_allclose(v, 0.001 * g * g, rtol=1e-6)


# --- state and parameter ops ------------------------------------------------------------------


def test_set_param_stores_a_copy() -> None:
    env, value = RefEnv(params={"w": np.zeros(3, np.float32)}), np.ones(3, np.float32)
    assert evaluate(nn.SetParamOp("w", arg(value)), env, value) is None
    value[0] = 5.0
    np.testing.assert_array_equal(env.params["w"], [1.0, 1.0, 1.0])


def test_set_state_stores_a_copy_that_get_state_reads() -> None:
    env, value = RefEnv(), np.full((2,), 3.0, np.float32)
    evaluate(nn.SetStateOp("w.m", arg(value)), env, value)
    assert env.state["w.m"] is not value
    read = evaluate(nn.GetStateOp("w.m", tensor_type(value)), env)
    np.testing.assert_array_equal(read, value)  # type: ignore[arg-type]


def test_set_param_refuses_another_shape() -> None:
    env, value = RefEnv(params={"w": np.zeros(3, np.float32)}), np.ones(4, np.float32)
    with pytest.raises(ValueError, match="parameter @w has shape"):
        evaluate(nn.SetParamOp("w", arg(value)), env, value)


def test_state_declaration_starts_at_zeros() -> None:
    value = evaluate(nn.StateOp("w.m", TensorType(f32, [2, 3]), param="w"), RefEnv())
    assert isinstance(value, np.ndarray) and value.dtype == np.float32
    np.testing.assert_array_equal(value, np.zeros((2, 3)))
