"""Sessions of scaled programs (docs/scaled.md recipes): training steps report, per
``scaled.cast``, its scale, amax and the fractions of saturated and flushed values; a
skipped step leaves delayed scaling's amax histories as they were."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import scalc
from scalc.runtime import Program, SkippedStepWarning

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "examples" / "mlp.scl"
RNG = np.random.default_rng(7)
X = RNG.standard_normal((32, 64)).astype(np.float32)
Y = RNG.integers(0, 10, 32).astype(np.int32)
NAME = re.compile(r"^train_(forward|backward)/cast\d+(:%[\w.]+)?->f8E(4M3FN|5M2)$")


@pytest.fixture(scope="module")
def fp8() -> Program:
    return scalc.compile(MLP, recipe="fp8", lr=1e-2)


@pytest.fixture(scope="module")
def delayed() -> Program:
    return scalc.compile(MLP, recipe="fp8-delayed", lr=1e-2)


def test_train_step_reports_every_cast_of_the_step(fp8: Program) -> None:
    result = fp8.session(seed=0).train_step(x=X, y=Y)
    tensors = result.metrics["tensors"]
    assert isinstance(tensors, dict)
    # the MLP: forward casts x, w1, h, w2 to E4M3; backward casts dlogits (E5M2), w2,
    # h, x (E4M3) and dh (E5M2)
    assert len(tensors) == 9
    assert all(NAME.match(name) for name in tensors), list(tensors)
    assert "train_forward/cast0:%x->f8E4M3FN" in tensors
    assert sum(name.endswith("f8E5M2") for name in tensors) == 2
    assert sum(name.startswith("train_backward/") for name in tensors) == 5
    for name, stats in tensors.items():
        assert set(stats) == {"scale", "amax", "saturated", "underflow"}, name
        assert math.log2(stats["scale"]).is_integer() and stats["amax"] > 0
        # dynamic scaling: the amax maps to at most the format's max, nothing saturates
        assert stats["saturated"] == 0.0 and 0.0 <= stats["underflow"] < 0.01
        fmt_max = 448.0 if name.endswith("f8E4M3FN") else 57344.0
        assert fmt_max / 2 < stats["amax"] / stats["scale"] <= fmt_max


def test_forward_records_nothing_and_fp32_programs_report_no_tensors(fp8: Program) -> None:
    sess = fp8.session(seed=0)
    sess.backward(x=X, y=Y)
    sess.forward(x=X * 100)  # between backward and step: must not show up
    tensors = sess.step().metrics["tensors"]
    assert all(name.startswith("train_") for name in tensors)
    reference = fp8.session(seed=0).train_step(x=X, y=Y).metrics["tensors"]
    assert tensors == reference
    plain = scalc.compile(MLP, lr=1e-2).session(seed=0).train_step(x=X, y=Y)
    assert "tensors" not in plain.metrics


def test_fp8_training_follows_fp32(fp8: Program) -> None:
    ours, base = fp8.session(seed=0), scalc.compile(MLP, lr=1e-2).session(seed=0)
    losses = [(ours.train_step(x=X, y=Y).loss, base.train_step(x=X, y=Y).loss) for _ in range(5)]
    assert abs(losses[0][0] - losses[0][1]) < 0.02 * losses[0][1]
    assert (
        losses[-1][0] < losses[0][0] and abs(losses[-1][0] - losses[-1][1]) < 0.05 * losses[-1][1]
    )


def test_delayed_scaling_saturates_when_the_amax_jumps_and_says_so(delayed: Program) -> None:
    sess = delayed.session(seed=0)
    first = sess.train_step(x=X, y=Y).metrics["tensors"]
    assert first["train_forward/cast0:%x->f8E4M3FN"]["saturated"] == 0.0
    jump = sess.train_step(x=X * 8, y=Y).metrics["tensors"]["train_forward/cast0:%x->f8E4M3FN"]
    # the scale comes from last step's amax, one step late: 8x larger values clip
    assert jump["scale"] == first["train_forward/cast0:%x->f8E4M3FN"]["scale"]
    assert 0.05 < jump["saturated"] < 1
    after = sess.train_step(x=X * 8, y=Y).metrics["tensors"]["train_forward/cast0:%x->f8E4M3FN"]
    assert after["saturated"] == 0.0 and after["scale"] == 8 * jump["scale"]


def test_a_skipped_step_leaves_the_amax_histories_alone(delayed: Program) -> None:
    sess = delayed.session(seed=0)
    sess.train_step(x=X, y=Y)
    state = sess.state_dict()
    assert any(k.startswith("state/amax") and v.any() for k, v in state.items())
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.warns(SkippedStepWarning):
        result = sess.train_step(x=bad, y=Y)
    assert result.skipped
    assert math.isnan(result.metrics["tensors"]["train_forward/cast0:%x->f8E4M3FN"]["amax"])
    after = sess.state_dict()
    for name, value in state.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not sess.train_step(x=X, y=Y).skipped


def test_a_session_without_statistics_reports_no_casts(fp8: Program) -> None:
    sess = fp8.session(seed=0, stats=False)
    result = sess.train_step(x=X, y=Y)
    assert "tensors" not in result.metrics and not sess.stats
    # The same training: statistics only observe.
    with_stats = fp8.session(seed=0).train_step(x=X, y=Y)
    assert result.loss == with_stats.loss
    assert result.metrics["grad_norm"] == with_stats.metrics["grad_norm"]


def test_step_result_repr_does_not_read_the_statistics(fp8: Program) -> None:
    result = fp8.session(seed=0).train_step(x=X, y=Y)
    assert "tensors" not in repr(result) and "loss=" in repr(result)
    assert "tensors" in result.metrics  # read now
