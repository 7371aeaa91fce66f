"""Running a check script under Triton's interpreter, for the interpreter tests.

``TRITON_INTERPRET=1`` must be set before ``triton`` is imported, so each check runs in its
own process (which also keeps the interpreter away from the cross-compile tests). A check
script prints one JSON object per line; this returns them in order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run_interpreted(
    script: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 600
) -> list[dict]:
    """The JSON lines ``script`` prints when run with ``TRITON_INTERPRET=1`` (and ``env``)."""
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "TRITON_INTERPRET": "1", **(env or {})},
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
