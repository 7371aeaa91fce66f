"""The session API on ``triton-interpret`` (parameters and state on the device): prints one
JSON line of facts that test_triton_interpret.py asserts. Run in its own process."""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import scalc  # noqa: E402
from tests.lowering.groups import SMALL, _inputs, example_source  # noqa: E402


def main() -> None:
    program = scalc.compile(example_source("mlp"), recipe="fp8-delayed")
    sess = program.session(backend="triton-interpret", seed=0)
    rng = np.random.default_rng(3)
    batches = [_inputs("mlp", SMALL["mlp"], {}, rng) for _ in range(4)]
    facts: dict[str, object] = {}
    sess.train_step(**batches[0])
    params = sess.params
    facts["params_read_only"] = all(not a.flags.writeable for a in params.values())
    facts["params_numpy"] = all(isinstance(a, np.ndarray) for a in params.values())
    sess.backward(**batches[1])
    grads = sess.grads
    facts["grads_numpy"] = all(isinstance(g, np.ndarray) for g in grads.values())
    facts["grads_names"] = sorted(grads)
    sess.step()
    facts["step_count"] = sess.step_count
    facts["state_bytes_per_param"] = sess.state_bytes()["per_param"]

    # A checkpoint restores bit-exactly into a fresh session, and training goes on alike.
    path = Path(tempfile.mkdtemp()) / "ckpt.npz"
    sess.save(path)
    other = program.session(backend="triton-interpret", seed=99)
    other.restore(path)
    a, b = sess.state_dict(), other.state_dict()
    facts["restored_exactly"] = sorted(a) == sorted(b) and all(
        a[k].tobytes() == b[k].tobytes() for k in a
    )
    la, lb = sess.train_step(**batches[2]).loss, other.train_step(**batches[2]).loss
    facts["same_loss_after_restore"] = la == lb

    # A step with a NaN input is skipped, and the amax histories the forward wrote
    # go back to what they were.
    before = sess.state_dict()
    bad = dict(batches[3])
    bad["x"] = bad["x"].copy()
    bad["x"][0, 0] = np.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sess.train_step(**bad)
    after = sess.state_dict()
    facts["skipped"] = bool(result.skipped)
    facts["warned"] = any("skipped" in str(w.message) for w in caught)
    facts["state_unchanged"] = all(
        before[k].tobytes() == after[k].tobytes() for k in before
    )
    print(json.dumps(facts), flush=True)


if __name__ == "__main__":
    main()
