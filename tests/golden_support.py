"""Shared by the golden tests of every stage: compare text with a golden file.

A golden file is the specification of what a stage emits. After an intended change,
regenerate with ``SCALC_UPDATE_GOLDEN=1 python -m pytest tests/...`` and review
``git diff`` of the golden files as you would review code.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

UPDATE = os.environ.get("SCALC_UPDATE_GOLDEN") == "1"


def assert_matches_golden(got: str, expected_path: Path, what: str) -> None:
    """Fail with a unified diff unless ``got`` equals the file (or rewrite it when updating)."""
    if UPDATE:
        expected_path.write_text(got)
    assert expected_path.exists(), (
        f"{expected_path} is missing; create it with SCALC_UPDATE_GOLDEN=1 and review it"
    )
    expected = expected_path.read_text()
    if got != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                got.splitlines(keepends=True),
                fromfile=f"{expected_path.name} (expected)",
                tofile=f"{expected_path.name} (got)",
            )
        )
        pytest.fail(
            f"{what} differs from {expected_path.name}; if the change is intended, "
            f"regenerate with SCALC_UPDATE_GOLDEN=1 and review the diff:\n{diff}",
            pytrace=False,
        )
