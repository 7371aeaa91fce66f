"""The compiled artifact, ``.sclc`` (DESIGN.md §6): what `scalc.load` reads back.

An artifact is a directory, or a zip archive of one when its path ends with ``.zip``::

    mlp.sclc/
      manifest.json   format and versions, recipe, optimizer, inputs, outputs, params,
                      state, entry points, kernels, and the sha256 of every other file
      train.mlir      the train module (docs/train.md): what sessions execute
      nn.mlir         the nn module (docs/ir.md), for reading and for later stages
      scaled.mlir     the scaled module (docs/scaled.md): what sessions execute
      triton/ENTRY/NAME.py  the generated Triton module of each kernel group
                      (docs/lowering.md), which the Triton backends run

Nothing in it is executable and nothing is pickled. Every manifest field except the
versions, the recipe, the kernels and the hashes is derived from ``train.mlir``
(``runtime/manifest.py``); loading recomputes them and refuses a manifest that disagrees,
so editing either file is detected. Writing is atomic: a reader sees the old artifact or the
new one, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import ParseError, VerifyException

import scalc
from scalc.diagnostics import ScalcError
from scalc.dialects.context import parse_module
from scalc.runtime.manifest import DERIVED, describe_module

FORMAT = "scalc-artifact"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TRAIN_FILE = "train.mlir"
NN_FILE = "nn.mlir"
# The module sessions execute: the scaled module (for the fp32 recipe, the train module
# itself with its recipe recorded). The other two are kept for inspection.
RUN_FILE = "scaled.mlir"
KERNEL_DIR = "triton"
"""Folder of the generated Triton modules: ``triton/ENTRY/NAME.py``."""
# A fixed timestamp keeps zip archives byte-identical for identical content.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class ArtifactError(ScalcError):
    """An artifact that is missing, tampered with, truncated or from another scalc."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class Artifact:
    """A loaded, checked artifact: its manifest, its texts and the verified train module."""

    manifest: dict[str, Any]
    files: dict[str, str]
    train: ModuleOp


def make_manifest(
    train: ModuleOp,
    files: dict[str, str],
    recipe: str = "fp32",
    kernels: list[dict[str, Any]] | None = None,
    kernel_error: str | None = None,
) -> dict[str, Any]:
    """The manifest of an artifact holding ``files`` (name -> text), ``train.mlir`` among
    them; ``kernels`` lists the generated Triton modules (``triton/ENTRY/NAME.py``, one per
    kernel group: entry, name, kind, file, the SSA names of its inputs and outputs), or
    ``kernel_error`` says why the program has none."""
    extra = {"kernel_error": kernel_error} if kernel_error else {}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "scalc_version": scalc.__version__,
        "recipe": recipe,
        **describe_module(train),
        "kernels": kernels or [],
        **extra,
        "files": {name: _digest(text.encode("utf-8")) for name, text in sorted(files.items())},
    }


def write_artifact(path: str | Path, manifest: dict[str, Any], files: dict[str, str]) -> None:
    """Write an artifact atomically; refuse to replace anything that is not an artifact."""
    path = Path(path)
    blobs = {name: text.encode("utf-8") for name, text in files.items()}
    blobs[MANIFEST] = (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
    if not path.parent.is_dir():
        raise ArtifactError(path, f"cannot write: directory {path.parent} does not exist")
    _check_replaceable(path)
    if is_zip_path(path):
        _write_zip(path, blobs)
    else:
        _write_directory(path, blobs)


def read_artifact(path: str | Path) -> Artifact:
    """Read and check an artifact; every problem is an `ArtifactError` naming the file."""
    path = Path(path)
    blobs = _read_blobs(path)
    manifest = _check_manifest(path, blobs)
    files = _check_files(path, manifest, blobs)
    run = _parse(path, RUN_FILE, files[RUN_FILE])
    _parse(path, TRAIN_FILE, files[TRAIN_FILE])
    _parse(path, NN_FILE, files[NN_FILE])
    derived = describe_module(run)
    for key in DERIVED:
        if manifest.get(key) != derived[key]:
            raise ArtifactError(
                path,
                f"{MANIFEST} disagrees with {RUN_FILE} about `{key}` (the manifest was "
                f"edited or the files mixed): manifest says {_short(manifest.get(key))}, "
                f"{RUN_FILE} says {_short(derived[key])}",
            )
    return Artifact(manifest, files, run)


def is_zip_path(path: Path) -> bool:
    return path.suffix == ".zip"


def sha256_of(text: str) -> str:
    """``sha256:<hex>`` of a text's UTF-8 bytes, as the manifest lists files."""
    return _digest(text.encode("utf-8"))


# --- writing --------------------------------------------------------------------------


def _check_replaceable(path: Path) -> None:
    """Only an existing artifact (or an empty directory) may be overwritten."""
    if not path.exists() and not path.is_symlink():
        return
    if is_zip_path(path):
        if not path.is_file() or not _is_artifact_zip(path):
            raise ArtifactError(
                path, "exists and is not a scalc artifact; refusing to overwrite it"
            )
        return
    if not path.is_dir() or path.is_symlink():
        raise ArtifactError(
            path, "exists and is not an artifact directory; refusing to overwrite it"
        )
    if any(path.iterdir()) and not _has_artifact_manifest(path / MANIFEST):
        raise ArtifactError(
            path, "is a directory but not a scalc artifact; refusing to overwrite it"
        )


def _has_artifact_manifest(manifest: Path) -> bool:
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _is_artifact_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            blobs = _zip_members(path, archive)
        return json.loads(blobs[MANIFEST]).get("format") == FORMAT
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, AttributeError, ArtifactError):
        return False


def _write_zip(path: Path, blobs: dict[str, bytes]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name in sorted(blobs):
                zf.writestr(zipfile.ZipInfo(name, _ZIP_TIME), blobs[name], zipfile.ZIP_DEFLATED)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_directory(path: Path, blobs: dict[str, bytes]) -> None:
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        for name, data in blobs.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            with open(tmp / name, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        if path.exists():
            # A directory cannot be renamed over a non-empty one: move the old aside first,
            # and put it back if the swap fails, so an artifact is never lost.
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
            os.replace(path, old / "artifact")
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(old / "artifact", path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --- reading --------------------------------------------------------------------------


def _read_blobs(path: Path) -> dict[str, bytes]:
    if not path.exists():
        raise ArtifactError(path, "no such artifact")
    if path.is_dir():
        return _directory_members(path)
    if not zipfile.is_zipfile(path):
        raise ArtifactError(
            path, "not an artifact: neither a directory nor a zip archive (truncated or corrupted?)"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            return _zip_members(path, archive)
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise ArtifactError(
            path, f"the zip archive is damaged (truncated or corrupted?): {err}"
        ) from None


def _directory_members(path: Path) -> dict[str, bytes]:
    blobs: dict[str, bytes] = {}
    for entry in sorted(path.rglob("*")):
        name = entry.relative_to(path).as_posix()
        if entry.is_dir() and not entry.is_symlink() and name == KERNEL_DIR or (
            name.startswith(f"{KERNEL_DIR}/") and entry.is_dir() and not entry.is_symlink()
        ):
            continue  # the folders of triton/ENTRY/NAME.py; their files are checked
        if entry.is_symlink() or not entry.is_file():
            raise ArtifactError(
                path,
                f"unexpected {'link' if entry.is_symlink() else 'folder'} {name}: an "
                "artifact holds only the plain files its manifest lists",
            )
        blobs[name] = entry.read_bytes()
    return blobs


def _zip_members(path: Path, archive: zipfile.ZipFile) -> dict[str, bytes]:
    """The archive's files; a single top folder (``zip -r a.zip a.sclc``) is looked through."""
    names = [n for n in archive.namelist() if not n.endswith("/")]
    tops = {n.split("/", 1)[0] for n in names}
    prefix = f"{tops.pop()}/" if len(tops) == 1 and all("/" in n for n in names) else ""
    blobs: dict[str, bytes] = {}
    for name in names:
        inner = name[len(prefix) :]
        if inner.startswith("/") or ".." in inner.split("/"):
            raise ArtifactError(path, f"unsafe member name {name!r} in the zip archive")
        blobs[inner] = archive.read(name)
    return blobs


def _check_manifest(path: Path, blobs: dict[str, bytes]) -> dict[str, Any]:
    if MANIFEST not in blobs:
        raise ArtifactError(path, f"{MANIFEST} is missing: this is not a scalc artifact")
    try:
        manifest = json.loads(blobs[MANIFEST].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ArtifactError(
            path, f"{MANIFEST} is not valid JSON (truncated or corrupted?): {err}"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise ArtifactError(path, f"{MANIFEST} is not a scalc artifact manifest (format {found!r})")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ArtifactError(path, f"{MANIFEST}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ArtifactError(
            path,
            f"written by scalc {manifest.get('scalc_version', '?')} (artifact format {version}); "
            f"this is scalc {scalc.__version__}, which reads format {FORMAT_VERSION}: "
            "upgrade scalc to load it",
        )
    for key, kind in (("files", dict), ("recipe", str), ("kernels", list)):
        if not isinstance(manifest.get(key), kind):
            raise ArtifactError(
                path, f"{MANIFEST}: field `{key}` is missing or not a {kind.__name__}"
            )
    for kernel in manifest["kernels"]:
        if not isinstance(kernel, dict) or not isinstance(kernel.get("file"), str):
            raise ArtifactError(path, f"{MANIFEST}: malformed kernel entry {_short(kernel)}")
        if kernel["file"] not in manifest["files"]:
            raise ArtifactError(
                path, f"{MANIFEST}: kernel {kernel.get('name')!r} names {kernel['file']}, which "
                "the artifact does not list"
            )
    return manifest


def _check_files(path: Path, manifest: dict[str, Any], blobs: dict[str, bytes]) -> dict[str, str]:
    listed: dict[str, Any] = manifest["files"]
    for required in (RUN_FILE, TRAIN_FILE, NN_FILE):
        if required not in listed:
            raise ArtifactError(path, f"{MANIFEST} does not list {required}")
    unlisted = sorted(set(blobs) - set(listed) - {MANIFEST})
    if unlisted:
        raise ArtifactError(
            path,
            f"unexpected file {unlisted[0]}: not listed in {MANIFEST}; an artifact holds "
            "only the files its manifest lists",
        )
    files: dict[str, str] = {}
    for name, digest in sorted(listed.items()):
        if name not in blobs:
            raise ArtifactError(path, f"{name} is missing (listed in {MANIFEST})")
        if _digest(blobs[name]) != digest:
            raise ArtifactError(
                path,
                f"{name} does not match its sha256 in {MANIFEST}: the file was modified, "
                "truncated or corrupted after the artifact was written",
            )
        try:
            files[name] = blobs[name].decode("utf-8")
        except UnicodeDecodeError:
            raise ArtifactError(path, f"{name} is not UTF-8 text") from None
    return files


def _parse(path: Path, name: str, text: str) -> ModuleOp:
    try:
        module = parse_module(text)
        module.verify()
    except ParseError as err:
        raise ArtifactError(path, f"{name} does not parse as scalc IR:\n{err}") from None
    except VerifyException as err:
        raise ArtifactError(path, f"{name} is not valid scalc IR: {err}") from None
    return module


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
