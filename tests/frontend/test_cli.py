"""The ``scalc`` command line: help, exit statuses, files, standard input, ``-o``.

Exit status (``scalc/cli.py``): 0 success, 1 a mistake in the user's program or files,
2 bad usage. Most tests call ``scalc.cli.main`` in-process; the last ones run the installed
console script, which is what users type.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scalc import __version__
from scalc.cli import main
from scalc.dialects.context import parse_module, print_module
from scalc.driver import EMIT_CHOICES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.scl"))

SHAPE_ERROR = """\
input x: f32[2, 4]
param w: f32[3, 8] = zeros
output y = x @ w
"""
SHAPE_ERROR_TEXT = """\
:3:12: error: `@`: contracting dimensions differ: f32[2, 4] @ f32[3, 8] (4 vs 3)
output y = x @ w
           ^~~~~
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``scalc ARGV`` in-process: (exit status, stdout, stderr). argparse exits by raising."""
    try:
        status = main(argv)
    except SystemExit as exit:
        status = exit.code if isinstance(exit.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


def feed_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """Replace standard input by ``data``, with a byte buffer as a real stdin has."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def assert_one_line_error(stderr: str, *fragments: str) -> None:
    assert re.fullmatch(r"error: [^\n]+\n", stderr), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in stderr


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.scl"
    path.write_text(SHAPE_ERROR)
    return path


# ----------------------------------------------------------------------------- help, version
def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["--help"], capsys)
    assert status == 0
    assert "check" in out and "compile" in out and "--version" in out


def test_check_help_describes_file_and_options(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["check", "--help"], capsys)
    assert status == 0
    assert "FILE" in out and "--quiet" in out and "'-' reads standard input" in out


def test_compile_help_lists_stages_and_output(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["compile", "--help"], capsys)
    assert status == 0
    assert "--emit" in out and "--output" in out and "-o OUT" in out
    for stage in EMIT_CHOICES:
        assert stage in out


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["--version"], capsys)
    assert (status, out) == (0, f"scalc {__version__}\n")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["check"],
        ["check", "a.scl", "b.scl"],
        ["compile", "--emit", "bogus", "a.scl"],
        ["compile", "--no-such-option", "a.scl"],
    ],
    ids=["no-command", "unknown-command", "missing-file", "two-files", "bad-stage", "bad-option"],
)
def test_usage_errors_exit_2_with_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(argv, capsys)
    assert status == 2
    assert out == "" and "usage: scalc" in err and "Traceback" not in err


# ----------------------------------------------------------------------------- bad files
def test_missing_file_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.scl"
    status, out, err = run(["check", str(missing)], capsys)
    assert (status, out) == (1, "")
    assert_one_line_error(err, str(missing), "no such file")


def test_directory_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["compile", str(tmp_path)], capsys)
    assert (status, out) == (1, "")
    assert_one_line_error(err, str(tmp_path), "is a directory")


def test_non_utf8_file_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "latin1.scl"
    path.write_bytes("const D = 4\n# caf\xe9\n".encode("latin-1"))
    status, out, err = run(["check", str(path)], capsys)
    assert (status, out) == (1, "")
    assert_one_line_error(err, str(path), "not UTF-8 text", "line 2")


def test_byte_order_mark_and_crlf_are_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "windows.scl"
    path.write_bytes(b"\xef\xbb\xbfconst D = 4\r\ninput x: f32[D]\r\noutput y = relu(x)\r\n")
    status, out, err = run(["check", str(path)], capsys)
    assert (status, err) == (0, "")
    assert "ok" in out


def test_program_error_prints_location_source_line_and_caret(
    broken: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(["check", str(broken)], capsys)
    assert (status, out) == (1, "")
    assert err == str(broken) + SHAPE_ERROR_TEXT


# ----------------------------------------------------------------------------- check, compile
@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.name)
def test_check_accepts_the_examples(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["check", str(example)], capsys)
    assert (status, err) == (0, "")
    assert out.startswith(f"{example}: ok: model `{example.stem}`")


def test_check_quiet_prints_the_summary_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    example = EXAMPLES / "mlp.scl"
    status, out, err = run(["check", "--quiet", str(example)], capsys)
    assert (status, out) == (0, "")
    assert err.startswith(f"{example}: ok")


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.name)
def test_compile_emit_nn_prints_mlir_that_parses_back_identically(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(["compile", str(example), "--emit", "nn"], capsys)
    assert (status, err) == (0, "")
    module = parse_module(out)
    module.verify()
    assert print_module(module) == out


def test_compile_emit_ast_prints_the_syntax_tree(capsys: pytest.CaptureFixture[str]) -> None:
    example = EXAMPLES / "mlp.scl"
    status, out, _ = run(["compile", str(example), "--emit", "ast"], capsys)
    assert status == 0
    assert out.startswith(f"Program(file={str(example)!r})\n")


def test_output_option_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example, target = EXAMPLES / "mlp.scl", tmp_path / "mlp.mlir"
    status, printed, _ = run(["compile", str(example), "--emit", "nn"], capsys)
    assert status == 0
    status, out, err = run(["compile", str(example), "--emit", "nn", "-o", str(target)], capsys)
    assert (status, out, err) == (0, "", "")
    assert target.read_text() == printed


def test_failed_compile_leaves_an_existing_output_untouched(
    broken: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.mlir"
    target.write_text("previous, still wanted\n")
    status, out, err = run(["compile", str(broken), "--emit", "nn", "-o", str(target)], capsys)
    assert (status, out) == (1, "")
    assert "error:" in err
    assert target.read_text() == "previous, still wanted\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.scl", "out.mlir"]  # no temp left


def test_output_into_a_missing_directory_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no" / "such" / "out.mlir"
    status, _, err = run(["compile", str(EXAMPLES / "mlp.scl"), "-o", str(target)], capsys)
    assert status == 1
    assert_one_line_error(err, "does not exist")


def test_output_onto_a_directory_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(["compile", str(EXAMPLES / "mlp.scl"), "-o", str(tmp_path)], capsys)
    assert status == 1
    assert_one_line_error(err, "is a directory")


# ----------------------------------------------------------------------------- standard input
def test_dash_reads_the_program_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_stdin(monkeypatch, (EXAMPLES / "mlp.scl").read_bytes())
    status, out, err = run(["compile", "-", "--emit", "nn"], capsys)
    assert (status, err) == (0, "")
    assert "func.func @forward" in out


def test_stdin_errors_are_located_in_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_stdin(monkeypatch, SHAPE_ERROR.encode())
    status, out, err = run(["check", "-"], capsys)
    assert (status, out) == (1, "")
    assert err == "<stdin>" + SHAPE_ERROR_TEXT


def test_non_utf8_stdin_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_stdin(monkeypatch, b"const D = 4 # caf\xe9\n")
    status, out, err = run(["check", "-"], capsys)
    assert (status, out) == (1, "")
    assert_one_line_error(err, "<stdin>: not UTF-8 text")


# ----------------------------------------------------------------------------- the real command
def scalc_command() -> list[str]:
    """The installed console script (beside this Python, else on PATH), or ``python -m scalc``."""
    script = shutil.which("scalc", path=str(Path(sys.executable).parent)) or shutil.which("scalc")
    return [script] if script else [sys.executable, "-m", "scalc"]


def run_command(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_console_script_checks_an_example() -> None:
    done = run_command(*scalc_command(), "check", str(EXAMPLES / "gpt.scl"))
    assert done.returncode == 0, done.stderr
    assert "ok: model `gpt`" in done.stdout


def test_console_script_reports_a_shape_error_without_traceback(broken: Path) -> None:
    done = run_command(*scalc_command(), "compile", str(broken))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == str(broken) + SHAPE_ERROR_TEXT
    assert "Traceback" not in done.stderr


def test_python_dash_m_scalc_is_the_same_command() -> None:
    done = run_command(sys.executable, "-m", "scalc", "--version")
    assert (done.returncode, done.stdout) == (0, f"scalc {__version__}\n")
