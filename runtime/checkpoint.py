"""Checkpoints: a session's parameters and optimizer state as one ``.npz`` file.

The file holds one array per entry of the state dict (``param/w1``, ``state/w1.m``,
``state/step``) and, under ``__scalc__``, a JSON string (a NumPy unicode array, not an
object array) naming the format, the model and the sha256 of the ``train.mlir`` it was
trained with. Nothing is pickled: reading uses ``allow_pickle=False``. Writing goes to a
temporary file beside the target and is renamed over it, so a crash never destroys the
previous checkpoint.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np

from scalc.diagnostics import ScalcError, did_you_mean

FORMAT = "scalc-checkpoint"
FORMAT_VERSION = 1
META_KEY = "__scalc__"
PARAM_PREFIX, STATE_PREFIX = "param/", "state/"


class CheckpointError(ScalcError):
    """A checkpoint or state dict that does not fit the session, or a damaged file."""


def make_state_dict(
    params: dict[str, np.ndarray], state: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """``{"param/NAME": copy, ..., "state/NAME": copy, ...}`` in declaration order."""
    flat = {PARAM_PREFIX + k: np.array(v, copy=True) for k, v in params.items()}
    flat.update({STATE_PREFIX + k: np.array(v, copy=True) for k, v in state.items()})
    return flat


def check_state_dict(
    expected: dict[str, np.ndarray], given: dict[str, Any], source: str = "state dict"
) -> dict[str, np.ndarray]:
    """The arrays of ``given``, validated against ``expected`` (names, shapes, dtypes).

    Returns fresh, read-only copies; raises `CheckpointError` naming the first problem.
    """
    unknown = sorted(set(given) - set(expected))
    if unknown:
        raise CheckpointError(
            f"{source}: unknown entry `{unknown[0]}`{did_you_mean(unknown[0], set(expected))}"
        )
    missing = [k for k in expected if k not in given]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise CheckpointError(f"{source}: missing entry `{missing[0]}`{more}")
    checked: dict[str, np.ndarray] = {}
    for key, want in expected.items():
        value = _as_array(given[key])
        if value.shape != want.shape:
            raise CheckpointError(
                f"{source}: `{key}` has shape {value.shape}, expected {want.shape}"
            )
        if value.dtype != want.dtype:
            raise CheckpointError(
                f"{source}: `{key}` has dtype {value.dtype}, expected {want.dtype}"
            )
        copy = np.array(value, copy=True)
        copy.flags.writeable = False
        checked[key] = copy
    return checked


def split_state_dict(
    flat: dict[str, np.ndarray],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(params, state)`` from a flat state dict (the inverse of `make_state_dict`)."""
    params = {k[len(PARAM_PREFIX) :]: v for k, v in flat.items() if k.startswith(PARAM_PREFIX)}
    state = {k[len(STATE_PREFIX) :]: v for k, v in flat.items() if k.startswith(STATE_PREFIX)}
    return params, state


def write_checkpoint(path: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write ``arrays`` and ``meta`` to ``path`` atomically (the name is kept as given)."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory")
    if not path.parent.is_dir():
        raise CheckpointError(f"{path}: directory {path.parent} does not exist")
    # NumPy's .npz has no bfloat16/float8: store their bits as unsigned ints and record
    # the real dtype, so a restore gives back the same bits.
    extended = {k: v.dtype.name for k, v in arrays.items() if v.dtype.name in _ML_DTYPES}
    arrays = {k: (v.view(f"u{v.dtype.itemsize}") if k in extended else v) for k, v in arrays.items()}
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta, "dtypes": extended}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, **{META_KEY: np.array(json.dumps(header))}, **arrays)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_checkpoint(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(meta, arrays)`` of a checkpoint; `CheckpointError` if it is not a readable one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise CheckpointError(
            f"{path}: not a readable .npz checkpoint (truncated or corrupted?): {err}"
        ) from None
    except ValueError as err:
        # allow_pickle=False refuses object arrays: they could run code when loaded.
        raise CheckpointError(f"{path}: refused: {err}") from None
    raw = arrays.pop(META_KEY, None)
    try:
        meta = json.loads(str(raw)) if raw is not None and raw.dtype.kind == "U" else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a scalc checkpoint (no `{META_KEY}` header)")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: written by scalc {meta.get('scalc_version', '?')} (checkpoint format "
            f"{version}); this scalc reads format {FORMAT_VERSION}"
        )
    extended = meta.get("dtypes") or {}
    for key, name in extended.items():
        if key not in arrays or name not in _ML_DTYPES:
            raise CheckpointError(f"{path}: header names dtype {name!r} for unknown array `{key}`")
        arrays[key] = arrays[key].view(_ML_DTYPES[name])
    return meta, arrays


_ML_DTYPES = {
    np.dtype(t).name: np.dtype(t)
    for t in (ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2)
}


def _as_array(value: Any) -> np.ndarray:
    """NumPy arrays as they are; torch tensors through NumPy (``detach().cpu()``)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)
