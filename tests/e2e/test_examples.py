"""The training scripts in examples/ (the user's first end-to-end run): each trains, prints
one well-formed final line, learns something, repeats itself for a seed, and turns bad
flags into clear messages instead of tracebacks.

The runs are short (seconds each), from another working directory, in subprocesses, as a
user would start them.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scalc.api import RECIPES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
FLOAT = r"(-?(?:\d+\.\d*|nan|inf))"

# script -> (short-run flags, the final line's names, the loss an untrained model has)
SCRIPTS = {
    "train_mlp.py": (["--steps", "30"], ("loss", "test_acc"), math.log(10)),
    "train_gpt.py": (
        ["--steps", "10", "--batch-size", "8", "--eval-windows", "16", "--eval-every", "5"],
        ("loss", "val_loss", "unigram_entropy"),
        math.log(96),
    ),
}


def run_script(script: str, *flags: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *flags],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def final_values(stdout: str, names: tuple[str, ...]) -> dict[str, float]:
    """The values of the last stdout line, which must be exactly ``final: NAME=FLOAT ...``."""
    last = stdout.rstrip("\n").split("\n")[-1]
    pattern = "final: " + " ".join(f"{name}={FLOAT}" for name in names)
    match = re.fullmatch(pattern, last)
    assert match, f"last line {last!r} is not {pattern!r}"
    return dict(zip(names, map(float, match.groups())))


@pytest.fixture(scope="module", params=sorted(SCRIPTS))
def short_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A short run of each script (seed 3) from an unrelated directory, done once."""
    script = request.param
    flags = SCRIPTS[script][0]
    cwd = tmp_path_factory.mktemp("cwd")
    result = run_script(script, *flags, "--seed", "3", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return script, cwd, result


def test_prints_one_final_line_of_finite_numbers(short_run) -> None:
    script, _, result = short_run
    _, names, _ = SCRIPTS[script]
    values = final_values(result.stdout, names)
    assert all(math.isfinite(v) for v in values.values()), values
    assert [line for line in result.stdout.splitlines() if line.startswith("final:")] == [
        result.stdout.splitlines()[-1]
    ]
    assert "Traceback" not in result.stderr


def test_training_lowers_the_loss_below_chance(short_run) -> None:
    script, _, result = short_run
    _, names, chance = SCRIPTS[script]
    values = final_values(result.stdout, names)
    assert values["loss"] < chance - 0.3, values
    if script == "train_mlp.py":
        assert values["test_acc"] > 0.5, values
    else:
        assert values["val_loss"] < chance, values
        assert 2.0 < values["unigram_entropy"] < chance, values


def test_same_seed_same_final_line_and_quiet_prints_only_it(short_run) -> None:
    script, cwd, first = short_run
    flags, _, _ = SCRIPTS[script]
    again = run_script(script, *flags, "--seed", "3", "--quiet", cwd=cwd)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout.splitlines()[-1] + "\n"
    assert again.stderr == ""


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_bad_flags_exit_2_with_a_message(script: str, tmp_path: Path) -> None:
    for flags, says in (
        (["--steps", "0"], "--steps"),
        (["--batch-size", "many"], "--batch-size"),
        (["--lr", "-1"], "--lr"),
        (["--no-such-flag"], "--no-such-flag"),
    ):
        result = run_script(script, *flags, cwd=tmp_path)
        assert result.returncode == 2, (flags, result.stderr)
        assert says in result.stderr and "Traceback" not in result.stderr, result.stderr


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_unknown_recipe_lists_the_known_ones(script: str, tmp_path: Path) -> None:
    unknown = "bf16" if "bf16" not in RECIPES else "no-such-recipe"
    result = run_script(script, "--recipe", unknown, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert unknown in result.stderr and all(r in result.stderr for r in RECIPES), result.stderr
    assert "fp32" in result.stderr and "Traceback" not in result.stderr


def test_scalc_errors_are_one_message_and_exit_1(tmp_path: Path) -> None:
    # The model's position table covers 64 characters; the session refuses a longer window.
    result = run_script("train_gpt.py", "--steps", "1", "--seq-len", "65", "--quiet", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: ") and "64" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
