"""examples/optimizer_precision.py (docs/collage.md): a short run of two modes writes its
Markdown table and PNG and ends with one parseable `final: MODE=LOSS ...` line.

Short (a few seconds): 2 modes x 3 steps of 2 windows, in a subprocess from another
working directory, as a user would start it.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "optimizer_precision.py"
MODES = ("fp32-master", "collage-plus")


def test_two_modes_write_the_table_and_the_plot(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"  # created by the script
    flags = ["--modes", *MODES, "--steps", "3", "--batch-size", "2", "--warm-steps", "1"]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *flags, "--out-dir", str(out_dir), "--quiet"],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # --quiet: no progress bar

    lines = result.stdout.splitlines()
    assert len(lines) == 1, lines  # --quiet: only the final line
    match = re.fullmatch(r"final: ((?:[\w-]+=-?\d+\.\d{5} ?)+)", lines[-1])
    assert match, lines[-1]
    values = dict(pair.split("=") for pair in match.group(1).split())
    assert tuple(values) == MODES
    for loss in map(float, values.values()):
        assert math.isfinite(loss) and 0 < loss < 1.2 * math.log(96)

    table = (out_dir / "optimizer_precision.md").read_text(encoding="utf-8")
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| mode | final loss |")
    assert [row.split("|")[1].strip() for row in rows[1:]] == list(MODES)
    # bytes/param from the allocated buffers (docs/collage.md): 14 and 10, plus the step count
    assert [round(float(row.split("|")[6])) for row in rows[1:]] == [14, 10]

    png = (out_dir / "optimizer_precision.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
