"""The README's two commands are the ones CI runs, so a newcomer's first try works."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", quick, flags=re.S)


def test_readme_has_exactly_two_setup_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2, commands
    assert all("\n" not in c and c.startswith("python3 -m venv .venv") for c in commands)


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert readme_commands()[1] in ci


def test_ci_runs_the_readme_main_job() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    main_job = readme_commands()[0].rsplit("&& ", 1)[1]
    assert main_job in ci
