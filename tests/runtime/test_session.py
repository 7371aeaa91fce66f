"""Sessions and the public API (DESIGN.md §7): initialisation, forward, training steps,
checkpoints, and every way a runtime input can be wrong."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import scalc
from scalc.runtime import CheckpointError, Program, Session, SkippedStepWarning

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "examples" / "mlp.scl"
GPT = ROOT / "examples" / "gpt.scl"
RNG = np.random.default_rng(42)
X = RNG.random((16, 64), dtype=np.float32)
Y = RNG.integers(0, 10, 16).astype(np.int32)


@pytest.fixture(scope="module")
def mlp() -> Program:
    return scalc.compile(MLP, lr=1e-2)


@pytest.fixture(scope="module")
def gpt() -> Program:
    return scalc.compile(GPT)


def assert_same_params(a: Session, b: Session) -> None:
    assert a.params.keys() == b.params.keys()
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name], err_msg=name)


# --- initialisation -------------------------------------------------------------------


def test_params_follow_their_init_drawn_in_declaration_order(mlp: Program) -> None:
    params = mlp.session(seed=5).params
    rng = np.random.default_rng(5)
    w1 = (np.sqrt(2.0 / 64) * rng.standard_normal((64, 256))).astype(np.float32)
    w2 = (np.sqrt(1.0 / 256) * rng.standard_normal((256, 10))).astype(np.float32)
    np.testing.assert_array_equal(params["w1"], w1)
    np.testing.assert_array_equal(params["w2"], w2)
    assert not params["b1"].any() and params["b1"].dtype == np.float32


def test_sessions_are_deterministic_for_a_seed(mlp: Program) -> None:
    assert_same_params(mlp.session(seed=1), mlp.session(seed=1))
    assert not np.array_equal(mlp.session(seed=1).params["w1"], mlp.session(seed=2).params["w1"])


def test_backend_choice(mlp: Program) -> None:
    assert mlp.session(backend="reference").backend == "reference"
    # No CUDA GPU on the test machines: auto is the reference backend and triton says so
    # (tests/runtime/test_triton_backend.py has the rest).
    assert mlp.session(backend="auto").backend == "reference"
    with pytest.raises(scalc.ScalcError, match='backend "triton" needs a CUDA GPU'):
        mlp.session(backend="triton")
    with pytest.raises(
        scalc.ScalcError,
        match="unknown backend `cuda`; choose one of auto, reference, triton, triton-interpret",
    ):
        mlp.session(backend="cuda")


# --- forward and training -------------------------------------------------------------


def test_forward_returns_named_outputs(mlp: Program) -> None:
    out = mlp.session().forward(x=X)
    assert list(out) == ["logits"] and out.logits is out["logits"]
    assert out.logits.shape == (16, 10) and out.logits.dtype == np.float32
    with pytest.raises(AttributeError, match="no output `logit`; did you mean `logits`?"):
        _ = out.logit


def test_forward_ignores_model_inputs_it_does_not_read(mlp: Program) -> None:
    sess = mlp.session()
    np.testing.assert_array_equal(sess.forward(x=X, y=Y).logits, sess.forward(x=X).logits)


def test_train_step_equals_backward_then_step(mlp: Program) -> None:
    a, b = mlp.session(seed=0), mlp.session(seed=0)
    for _ in range(2):
        result = a.train_step(x=X, y=Y)
        loss = b.backward(x=X, y=Y)
        assert b.step() == result and loss == result.loss
    assert_same_params(a, b)
    assert a.step_count == b.step_count == 2


def test_step_reports_metrics_and_uses_the_compiled_learning_rate(mlp: Program) -> None:
    result = mlp.session().train_step(x=X, y=Y)
    assert result.metrics["lr"] == 1e-2 and result.metrics["step"] == 1
    assert result.metrics["loss"] == result.loss and result.metrics["grad_norm"] > 0
    assert not result.skipped


def test_learning_rate_per_step_overrides_the_compiled_one() -> None:
    sgd = scalc.compile(MLP, optimizer="sgd", lr=0.5, momentum=0.0)
    sess = sgd.session()
    before = sess.params
    assert sess.train_step(lr=0.0, x=X, y=Y).metrics["lr"] == 0.0
    assert_same_params_dict(before, sess.params)
    with pytest.raises(scalc.InputError, match="lr must be a finite number >= 0, got -1.0"):
        sess.train_step(lr=-1.0, x=X, y=Y)


def assert_same_params_dict(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for name, value in a.items():
        np.testing.assert_array_equal(value, b[name], err_msg=name)


def test_loss_decreases_on_a_tiny_mlp(mlp: Program) -> None:
    sess = mlp.session(seed=0)
    losses = [sess.train_step(x=X, y=Y).loss for _ in range(20)]
    assert losses[-1] < 0.5 * losses[0]
    assert all(np.isfinite(losses))


def test_step_needs_gradients_from_backward(mlp: Program) -> None:
    sess = mlp.session()
    with pytest.raises(scalc.ScalcError, match=r"call backward\(...\) first"):
        sess.step()
    sess.backward(x=X, y=Y)
    sess.step()
    with pytest.raises(scalc.ScalcError, match="no gradients to apply"):
        sess.step()


def test_params_are_read_only_snapshots(mlp: Program) -> None:
    sess = mlp.session()
    w1 = sess.params["w1"]
    with pytest.raises(ValueError, match="read-only"):
        w1[0, 0] = 1.0
    kept = w1.copy()
    sess.train_step(x=X, y=Y)
    np.testing.assert_array_equal(w1, kept)
    assert not np.array_equal(sess.params["w1"], kept)


def test_non_finite_input_skips_the_step_and_keeps_params(mlp: Program) -> None:
    sess = mlp.session()
    sess.train_step(x=X, y=Y)
    before, state = sess.params, sess.state_dict()
    bad = X.copy()
    bad[3, 7] = np.nan
    with pytest.warns(
        SkippedStepWarning, match="step 2 skipped: the loss is nan; parameters are unchanged"
    ):
        result = sess.train_step(x=bad, y=Y)
    assert result.skipped and np.isnan(result.loss) and result.metrics["step"] == 1
    assert_same_params_dict(before, sess.params)
    assert_same_params_dict(state, sess.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not sess.train_step(x=X, y=Y).skipped  # recovers on the next good batch
    assert sess.step_count == 2


def test_overflow_skips_the_step_with_one_warning(mlp: Program) -> None:
    sess = mlp.session()
    huge = np.full_like(X, 1e38)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert sess.train_step(x=huge, y=Y).skipped
    assert [w.category for w in caught] == [SkippedStepWarning]
    assert sess.step_count == 0


# --- state dicts and checkpoints ------------------------------------------------------


def test_state_dict_round_trips_into_a_fresh_session(mlp: Program) -> None:
    a = mlp.session(seed=0)
    a.train_step(x=X, y=Y)
    flat = a.state_dict()
    assert "param/w1" in flat and "state/w1.m" in flat and "state/step" in flat
    b = mlp.session(seed=9)
    b.load_state_dict(flat)
    assert_same_params(a, b)
    assert b.step_count == 1
    assert a.train_step(x=X, y=Y) == b.train_step(x=X, y=Y)


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda d: d.pop("param/w1"), "missing entry `param/w1`"),
        (
            lambda d: d.update({"param/w1x": d["param/w2"]}),
            "unknown entry `param/w1x`; did you mean `param/w1`?",
        ),
        (
            lambda d: d.update({"param/b1": np.zeros(255, np.float32)}),
            "`param/b1` has shape (255,), expected (256,)",
        ),
        (
            lambda d: d.update({"param/b1": np.zeros(256)}),
            "`param/b1` has dtype float64, expected float32",
        ),
    ],
    ids=["missing", "unknown", "shape", "dtype"],
)
def test_load_state_dict_validates_names_shapes_and_dtypes(
    mlp: Program, edit, message: str
) -> None:
    sess = mlp.session()
    flat = sess.state_dict()
    edit(flat)
    before = sess.params
    with pytest.raises(CheckpointError) as info:
        sess.load_state_dict(flat)
    assert message in str(info.value)
    assert_same_params_dict(before, sess.params)  # nothing was half-loaded


def test_save_restore_continues_bit_exactly(mlp: Program, tmp_path: Path) -> None:
    batches = [(RNG.random((8, 64), dtype=np.float32), RNG.integers(0, 10, 8)) for _ in range(5)]
    first = mlp.session(seed=3)
    for x, y in batches[:3]:
        first.train_step(x=x, y=y)
    first.save(tmp_path / "ckpt")
    for x, y in batches[3:]:
        first.train_step(x=x, y=y)
    second = mlp.session(seed=11)
    second.restore(tmp_path / "ckpt")
    for x, y in batches[3:]:
        second.train_step(x=x, y=y)
    assert_same_params(first, second)
    assert_same_params_dict(first.state_dict(), second.state_dict())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no temporaries left


def test_checkpoint_is_npz_without_pickled_objects(mlp: Program, tmp_path: Path) -> None:
    mlp.session().save(tmp_path / "c.npz")
    with np.load(tmp_path / "c.npz", allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)
        assert "param/w1" in npz.files


def test_restoring_another_models_checkpoint_is_refused(
    mlp: Program, gpt: Program, tmp_path: Path
) -> None:
    gpt.session().save(tmp_path / "gpt.npz")
    with pytest.raises(
        CheckpointError, match="a checkpoint of model `gpt`, but this session runs model `mlp`"
    ):
        mlp.session().restore(tmp_path / "gpt.npz")


def test_restoring_another_compilation_needs_strict_false(mlp: Program, tmp_path: Path) -> None:
    other = scalc.compile(MLP, lr=3e-3)
    source = other.session(seed=4)
    source.save(tmp_path / "other.npz")
    sess = mlp.session()
    with pytest.raises(CheckpointError, match="another compilation of model `mlp`.*strict=False"):
        sess.restore(tmp_path / "other.npz")
    sess.restore(tmp_path / "other.npz", strict=False)
    assert_same_params(source, sess)


def test_damaged_checkpoint_is_refused(mlp: Program, tmp_path: Path) -> None:
    mlp.session().save(tmp_path / "c.npz")
    data = (tmp_path / "c.npz").read_bytes()
    (tmp_path / "c.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        mlp.session().restore(tmp_path / "c.npz")
    np.savez(tmp_path / "plain.npz", w=np.zeros(3))
    with pytest.raises(CheckpointError, match="not a scalc checkpoint"):
        mlp.session().restore(tmp_path / "plain.npz")


# --- input validation -----------------------------------------------------------------

INPUT_ERRORS = [
    ({"x": X}, "missing input `y`; @train_forward takes x: f32[B, 64], y: i32[B]"),
    (
        {"x": X, "y": Y, "yy": Y},
        "unknown input `yy`; the model's inputs are x, y; did you mean `y`?",
    ),
    ({"x": X[0], "y": Y}, "input `x`: expected 2 dimensions f32[B, 64], got shape (64,)"),
    (
        {"x": X[:, :63], "y": Y},
        "input `x`: expected f32[B, 64], got shape (16, 63): dimension 1 must be 64",
    ),
    ({"x": X, "y": Y[:15]}, "inputs disagree on B: `x` has B=16 (shape (16, 64)) but `y` has B=15"),
    (
        {"x": X, "y": Y.astype(np.float32)},
        "input `y`: expected integer ids i32[B], got dtype float32",
    ),
    (
        {"x": (X * 255).astype(np.uint8), "y": Y},
        "input `x`: expected floats f32[B, 64], got dtype uint8",
    ),
    ({"x": X, "y": Y.astype(np.int64) + 2**40}, "do not fit int32"),
    ({"x": X, "y": ["a"] * 16}, "input `y`: expected a NumPy array or torch tensor of numbers"),
]


@pytest.mark.parametrize(
    "inputs,message",
    INPUT_ERRORS,
    ids=[
        "missing",
        "unknown",
        "rank",
        "static size",
        "symbolic size",
        "float ids",
        "int pixels",
        "too large",
        "strings",
    ],
)
def test_bad_inputs_raise_input_error_naming_the_input(
    mlp: Program, inputs: dict, message: str
) -> None:
    with pytest.raises(scalc.InputError) as info:
        mlp.session().train_step(**inputs)
    assert message in str(info.value)


def test_sequence_longer_than_the_position_table_is_an_input_error(gpt: Program) -> None:
    ids = RNG.integers(0, 96, (2, 100))
    with pytest.raises(
        scalc.InputError, match="T=100.*`pos_emb`, which has 64 entries: T must be <= 64"
    ):
        gpt.session().forward(tokens=ids)


def test_same_kind_inputs_are_converted(mlp: Program) -> None:
    sess = mlp.session()
    expected = sess.forward(x=X).logits
    np.testing.assert_array_equal(sess.forward(x=X.astype(np.float64)).logits, expected)
    assert sess.backward(x=X, y=Y.astype(np.int64)) == sess.backward(x=X, y=Y)
    assert sess.backward(x=X.tolist(), y=Y.tolist()) == sess.backward(x=X, y=Y)


def test_torch_tensors_in_give_torch_tensors_out(mlp: Program) -> None:
    torch = pytest.importorskip("torch")
    sess = mlp.session()
    out = sess.forward(x=torch.from_numpy(X))
    assert isinstance(out.logits, torch.Tensor) and out.logits.dtype == torch.float32
    np.testing.assert_array_equal(out.logits.numpy(), sess.forward(x=X).logits)
    result = sess.train_step(x=torch.from_numpy(X).double(), y=torch.from_numpy(Y).long())
    assert isinstance(result.loss, float) and not result.skipped
    with pytest.raises(scalc.InputError, match="ids must be integers"):
        sess.train_step(x=torch.from_numpy(X), y=torch.from_numpy(Y).float())


# --- the public API -------------------------------------------------------------------


def test_compile_accepts_source_text_and_paths(tmp_path: Path) -> None:
    source = MLP.read_text()
    from_text = scalc.compile(source)
    from_path = scalc.compile(str(MLP))
    assert from_text.text() == from_path.text().replace(str(MLP), "<source>")
    assert from_text.manifest["params"] == from_path.manifest["params"]
    with pytest.raises(scalc.ScalcError, match="no such file"):
        scalc.compile(str(tmp_path / "missing.scl"))


def test_compile_options_are_validated() -> None:
    with pytest.raises(scalc.ScalcError, match="unknown recipe `fp4`; use one of fp32, bf16, fp8"):
        scalc.compile(MLP, recipe="fp4")
    with pytest.raises(scalc.ScalcError, match="unknown optimizer `adam`"):
        scalc.compile(MLP, optimizer="adam")
    with pytest.raises(scalc.ScalcError, match="unknown optimizer option `learning_rate`"):
        scalc.compile(MLP, learning_rate=0.1)
    assert scalc.compile(MLP, optimizer="sgd", lr=0.2).manifest["optimizer"]["lr"] == 0.2


def test_compile_errors_point_at_the_source() -> None:
    with pytest.raises(scalc.ScalcError, match="<source>:2:14: error: unknown name `B`"):
        scalc.compile("model m\ninput x: f32[B, 2]\n")


def test_save_then_load_through_the_api(mlp: Program, tmp_path: Path) -> None:
    mlp.save(tmp_path / "mlp.sclc")
    loaded = scalc.load(tmp_path / "mlp.sclc")
    assert loaded.model == "mlp" and loaded.default_lr == 1e-2
    a, b = mlp.session(seed=0), loaded.session(seed=0)
    assert a.train_step(x=X, y=Y) == b.train_step(x=X, y=Y)


def test_import_scalc_loads_neither_compiler_nor_runtime() -> None:
    heavy = ("numpy", "xdsl", "lark", "scalc.runtime", "scalc.driver")
    code = f"import sys, scalc; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
