"""The kernel cache (`scalc.lowering.codegen.load`): scalc imports the generated modules
from it, so it must be a folder only the user controls, and only the source scalc
generated is ever imported from it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from scalc.lowering import codegen
from scalc.lowering.codegen import KernelCacheError, load

SOURCE = "VALUE = 1\n"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "kernels"
    monkeypatch.setenv("SCALC_KERNEL_CACHE", str(folder))
    return folder


def test_a_new_cache_is_made_private(cache: Path) -> None:
    assert load("cache_private", SOURCE).VALUE == 1
    assert stat.S_IMODE(cache.stat().st_mode) & 0o077 == 0


def test_a_world_writable_cache_is_refused(cache: Path) -> None:
    cache.mkdir()
    cache.chmod(0o777)
    with pytest.raises(KernelCacheError, match=r"can be written by every user \(mode 777\)"):
        load("cache_world", SOURCE)


def test_a_cache_of_another_user_is_refused(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(os, "getuid"):
        pytest.skip("no user ids on this platform")
    cache.mkdir(mode=0o700)
    monkeypatch.setattr(codegen.os, "getuid", lambda: cache.stat().st_uid + 1)
    with pytest.raises(KernelCacheError, match="belongs to another user"):
        load("cache_foreign", SOURCE)


def test_a_cache_path_that_is_a_file_is_refused(cache: Path) -> None:
    cache.write_text("not a folder")
    with pytest.raises(KernelCacheError, match="kernel cache"):
        load("cache_file", SOURCE)


def test_only_the_generated_source_is_imported(cache: Path) -> None:
    """A file under the source's name with other content (or a link to one) is replaced
    before the import, never imported."""
    load("cache_tamper", SOURCE)
    (path,) = cache.glob("cache_tamper_*.py")
    path.write_text("VALUE = 2\n")
    evil = cache / "elsewhere.py"
    evil.write_text("VALUE = 3\n")
    other = "VALUE = 4\n"
    load("cache_link", other)
    (link,) = cache.glob("cache_link_*.py")
    link.unlink()
    link.symlink_to(evil)
    import sys

    for name in [n for n in sys.modules if "cache_tamper" in n or "cache_link" in n]:
        del sys.modules[name]  # import afresh from the files
    assert load("cache_tamper", SOURCE).VALUE == 1 and path.read_text() == SOURCE
    assert load("cache_link", other).VALUE == 4 and not link.is_symlink()


def test_a_planted_bytecode_file_is_never_imported(cache: Path) -> None:
    """Python would run a ``__pycache__`` file that claims to be the source's; scalc
    compiles the checked source instead."""
    import importlib.util
    import py_compile
    import sys

    source = "VALUE = 5\n"
    load("cache_pyc", source)
    (path,) = cache.glob("cache_pyc_*.py")
    evil = cache / "evil.py"
    evil.write_text("VALUE = 6\n")  # the same size, and (below) the same mtime
    os.utime(evil, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))
    py_compile.compile(str(evil), cfile=importlib.util.cache_from_source(str(path)))
    # A plain import of the genuine file runs the planted bytecode:
    spec = importlib.util.spec_from_file_location("plain_cache_pyc", path)
    assert spec is not None and spec.loader is not None
    plain = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plain)
    assert plain.VALUE == 6
    for name in [n for n in sys.modules if "cache_pyc" in n]:
        del sys.modules[name]
    assert load("cache_pyc", source).VALUE == 5  # scalc's import does not
