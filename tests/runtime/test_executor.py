"""The executor: the flat schedule gives what op-by-op evaluation gives, its memory plan
frees intermediates, and symbolic sizes are bound from the inputs or refused clearly."""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from xdsl.dialects import func

import scalc
from scalc.dialects import nn
from scalc.dialects.context import parse_module
from scalc.runtime import Executor, Program
from scalc.runtime.backends.reference import REFERENCE, RefEnv, evaluate

ROOT = Path(__file__).resolve().parents[2]
RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def gpt() -> Program:
    return scalc.compile(ROOT / "examples" / "gpt.scl")


def gpt_env(program: Program) -> RefEnv:
    """Parameters as a session would have them (the session owns the env normally)."""
    return program.session(seed=0)._env


def tokens(b: int, t: int) -> np.ndarray:
    return RNG.integers(0, 96, (b, t)).astype(np.int32)


def interpret(fn: func.FuncOp, env: RefEnv, args: list[np.ndarray]) -> list[np.ndarray]:
    """The obvious interpreter: every value kept in a dict, looked up by SSA value."""
    values: dict[Any, Any] = dict(zip(fn.body.block.args, args))
    for op in fn.body.block.ops:
        if isinstance(op, func.ReturnOp):
            return [values[v] for v in op.operands]
        out = evaluate(op, env, *[values[v] for v in op.operands])
        results = [out] if len(op.results) == 1 else list(out or ())
        values.update(zip(op.results, results))
    raise AssertionError("no func.return")


def test_schedule_matches_op_by_op_evaluation_on_gpt(gpt: Program) -> None:
    env = gpt_env(gpt)
    args = [tokens(2, 9), tokens(2, 9)]
    fn = gpt.entry("train_forward")
    got = Executor(fn, REFERENCE).run(env, args)
    want = interpret(fn, RefEnv(sizes={"B": 2, "T": 9}, params=env.params), args)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_memory_plan_frees_intermediates_while_running(gpt: Program) -> None:
    """Count, with weak references, the arrays kernels made that are alive at each step:
    far fewer than all of them, since each dies after its last use. (Parameters belong to
    the session and live on.)"""
    made: list[weakref.ref[np.ndarray]] = []
    alive_peak = 0

    def tracking(kernel: Any) -> Any:
        def run(op: Any, env: RefEnv, *operands: np.ndarray) -> Any:
            nonlocal alive_peak
            out = kernel(op, env, *operands)
            if isinstance(op, nn.GetParamOp):
                return out
            for value in out if isinstance(out, tuple) else (out,):
                if isinstance(value, np.ndarray) and value.base is None:
                    made.append(weakref.ref(value))
            alive_peak = max(alive_peak, sum(r() is not None for r in made))
            return out

        return run

    kernels = {op: tracking(k) for op, k in REFERENCE.items()}
    executor = Executor(gpt.entry("forward"), kernels)
    executor.run(gpt_env(gpt), [tokens(2, 16)])
    assert len(made) > 30
    assert alive_peak < len(made) / 4
    assert executor.peak_live < executor.value_count / 3


@pytest.mark.parametrize("entry", ["forward", "train_forward", "train_backward", "optimizer_step"])
def test_static_plan_keeps_fewer_values_live_than_the_function_makes(
    gpt: Program, entry: str
) -> None:
    executor = Executor(gpt.entry(entry), REFERENCE)
    assert 0 < executor.peak_live < executor.value_count


def test_symbolic_sizes_are_bound_from_input_shapes(gpt: Program) -> None:
    executor = Executor(gpt.entry("train_forward"), REFERENCE)
    assert executor.bind_sizes([tokens(3, 5), tokens(3, 5)]) == {"B": 3, "T": 5}
    env = gpt_env(gpt)
    loss, logits, *_ = executor.run(env, [tokens(3, 5), tokens(3, 5)])
    assert env.sizes == {"B": 3, "T": 5} and logits.shape == (3, 5, 96) and loss.shape == ()


BINDING_ERRORS = [
    (
        "inconsistent B",
        [tokens(32, 4), tokens(31, 4)],
        (
            "inputs disagree on B: `tokens` has B=32 (shape (32, 4)) but `targets` has B=31 "
            "(shape (31, 4))"
        ),
    ),
    ("rank", [tokens(2, 4)[0], tokens(2, 4)], "input `tokens`: expected 2 dimensions i32[B, T]"),
    (
        "empty",
        [tokens(0, 4), tokens(0, 4)],
        "input `tokens`: B=0 (shape (0, 4)), but sizes must be at least 1",
    ),
    (
        "dtype",
        [tokens(2, 4).astype(np.int64), tokens(2, 4)],
        "input `tokens`: expected i32[B, T], got dtype int64",
    ),
    (
        "T > MAX_T",
        [tokens(2, 100), tokens(2, 100)],
        (
            "the inputs give T=100, but the model takes [0:T] along axis 0 of parameter `pos_emb`, "
            "which has 64 entries: T must be <= 64"
        ),
    ),
    (
        "id out of range",
        [tokens(2, 4) + 96, tokens(2, 4)],
        "input `tokens`: values must lie in [0, 96) (nn.embedding reads them)",
    ),
    (
        "label out of range",
        [tokens(2, 4), -tokens(2, 4) - 1],
        "input `targets`: values must lie in [0, 96) (nn.cross_entropy reads them)",
    ),
]


@pytest.mark.parametrize(
    "args,message", [e[1:] for e in BINDING_ERRORS], ids=[e[0] for e in BINDING_ERRORS]
)
def test_bad_input_shapes_are_refused_before_any_kernel_runs(
    gpt: Program, args: list[np.ndarray], message: str
) -> None:
    calls = []
    kernels = {op: (lambda *a, k=k: calls.append(1) or k(*a)) for op, k in REFERENCE.items()}
    executor = Executor(gpt.entry("train_forward"), kernels)
    with pytest.raises(scalc.InputError) as info:
        executor.run(gpt_env(gpt), args)
    assert message in str(info.value)
    assert not calls


COMPOSITE = """builtin.module {
  func.func @pair(%x: tensor<?x3xf32> {nn.input = "x", nn.dims = #nn.dims<B, 3>},
                  %y: tensor<?xf32> {nn.input = "y", nn.dims = #nn.dims<2*B>}) -> tensor<?xf32> {
    %0 = nn.neg %y : tensor<?xf32>
    func.return %0 : tensor<?xf32>
  }
}"""


def test_product_dims_are_checked_once_their_symbols_are_bound() -> None:
    fn = next(op for op in parse_module(COMPOSITE).body.block.ops if isinstance(op, func.FuncOp))
    executor = Executor(fn, REFERENCE)
    x, y = np.zeros((4, 3), np.float32), np.ones(8, np.float32)
    (out,) = executor.run(RefEnv(), [x, y])
    np.testing.assert_array_equal(out, -y)
    with pytest.raises(scalc.InputError, match=r"input `y`: .* dimension 0 must be 2\*B = 8"):
        executor.run(RefEnv(), [x, np.ones(7, np.float32)])
    with pytest.raises(scalc.InputError, match="input `x`: .* dimension 1 must be 3"):
        executor.run(RefEnv(), [np.zeros((4, 2), np.float32), y])


def test_an_op_without_kernel_is_reported_when_compiling_the_schedule(gpt: Program) -> None:
    kernels = {op: k for op, k in REFERENCE.items() if op.name != "nn.layernorm"}
    with pytest.raises(NotImplementedError, match="nn.layernorm has no kernel"):
        Executor(gpt.entry("forward"), kernels)
