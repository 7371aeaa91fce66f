"""Property tests: whatever text it is given, the frontend answers with a verdict, never a crash.

Two sources of input:

- **mutations** of the examples (characters and tokens inserted, deleted, replaced): mostly
  broken programs, which must fail with exit 1 and a rendered diagnostic;
- **generated programs** from a small grammar of declarations and statements over the names
  already declared: a mix of correct and wrong programs. A correct one must compile to `nn`
  IR that parses back, verifies and prints identically; a wrong one must fail cleanly.

Every crash these found is fixed in the frontend and pinned as a row of
``test_diagnostics.py``. Runs are derandomized so CI sees the same examples every time.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalc.cli import main
from scalc.dialects.context import parse_module, print_module

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_SOURCES = {name: (EXAMPLES / f"{name}.scl").read_text() for name in ("mlp", "gpt")}

HEADLINE = re.compile(r"^.+:\d+:\d+: error: .+")
# Derandomized: CI runs the same examples every time. Sized to keep this file near 20 s.
MUTATION_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
GENERATED_SETTINGS = settings(MUTATION_SETTINGS, max_examples=1000)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``scalc ARGV`` in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def assert_clean_failure(stderr: str, source: str) -> None:
    r"""Exit 1 must come with ``FILE:LINE:COL: error: ...``, the source line and a caret.

    Lines are split at ``\n`` only, as the parser counts them (a mutation may insert a
    form feed or ``\x1e``, which ``str.splitlines`` would also split at).
    """
    lines = stderr.split("\n")
    assert HEADLINE.match(lines[0]), stderr
    assert "Traceback" not in stderr
    line_no = int(lines[0].rsplit(": error: ", 1)[0].split(":")[-2])
    source_lines = source.split("\n")
    assert 1 <= line_no <= len(source_lines), stderr
    assert lines[1] == source_lines[line_no - 1].expandtabs(4), stderr
    assert re.fullmatch(r" *\^~*", lines[2]), stderr


def check_verdict(path: Path, source: str) -> int:
    """Write ``source``, run ``scalc check``; on success also round-trip ``--emit nn``."""
    path.write_text(source, encoding="utf-8")
    source = path.read_text(encoding="utf-8")  # what scalc reads: a lone \r became \n
    status, _, stderr = run_cli(["check", str(path)])
    assert status in (0, 1), stderr
    if status == 1:
        assert_clean_failure(stderr, source)
        return status
    status, text, stderr = run_cli(["compile", str(path), "--emit", "nn"])
    assert status == 0, stderr
    module = parse_module(text)
    module.verify()
    assert print_module(module) == text
    return status


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file rewritten by every example (function-scoped fixtures and hypothesis clash)."""
    return tmp_path_factory.mktemp("fuzz") / "prog.scl"


# ----------------------------------------------------------------------------- mutations
FRAGMENTS = [
    "(", ")", "[", "]", "{", "}", ",", ":", "=", "+", "-", "*", "/", "@", "->", "#", "\n",
    "let ", "fn ", "return ", "for ", " in ", "range(", "output ", "loss ", "param ",
    "input ", "const ", "dim ", "model ", "0", "1", "-1", "2.5", "1e9", "99999999999999999999",
    "B", "T", "D", "x", "h", "l", "f32", "i32", "bf16", "int", "true", "false", "sum(",
    "reshape(", "transpose(", "softmax(", "axis=", "keepdims=", "\t", "é", "$", "\x00",
]


@st.composite
def mutated_example(draw: st.DrawFn) -> str:
    source = EXAMPLE_SOURCES[draw(st.sampled_from(sorted(EXAMPLE_SOURCES)))]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["insert", "delete", "replace_char", "replace_token"]))
        at = draw(st.integers(0, len(source)))
        if kind == "insert":
            text = draw(st.sampled_from(FRAGMENTS) | st.text(min_size=1, max_size=3))
            source = source[:at] + text + source[at:]
        elif kind == "delete":
            source = source[:at] + source[at + draw(st.integers(1, 12)) :]
        elif kind == "replace_char":
            source = source[:at] + draw(st.characters(codec="utf-8")) + source[at + 1 :]
        else:
            tokens = re.findall(r"\w+|\S", source)
            old = draw(st.sampled_from(tokens))
            new = draw(st.sampled_from(tokens + FRAGMENTS))
            source = source.replace(old, new, draw(st.integers(1, 3)))
    return source


@MUTATION_SETTINGS
@given(source=mutated_example())
def test_mutated_examples_fail_cleanly_or_compile(scratch: Path, source: str) -> None:
    check_verdict(scratch, source)


# ----------------------------------------------------------------------------- generated
UNARY = ["relu", "gelu", "tanh", "sigmoid", "exp", "log", "sqrt"]
REDUCE = ["sum", "mean", "max"]
DTYPES = ["f32", "f32", "f32", "bf16", "i32"]


class Names:
    """What the program declared so far, so generated expressions mostly refer to real names."""

    def __init__(self) -> None:
        self.consts: list[str] = []
        self.dims: list[str] = []
        self.values: list[str] = []  # inputs, params, lets


def size(draw: st.DrawFn, names: Names) -> str:
    choices = ["1", "2", "3", "4", "8"] + names.consts + names.dims
    first = draw(st.sampled_from(choices))
    if draw(st.integers(0, 5)) == 0:
        return f"{first} {draw(st.sampled_from(['*', '/', '+']))} {draw(st.sampled_from(choices))}"
    return first


def shape(draw: st.DrawFn, names: Names, min_rank: int = 0) -> str:
    dims = [size(draw, names) for _ in range(draw(st.integers(min_rank, 3)))]
    return "[" + ", ".join(dims) + "]"


def tensor_type(draw: st.DrawFn, names: Names, dtypes: list[str] = DTYPES) -> str:
    rank_shape = shape(draw, names)
    dtype = draw(st.sampled_from(dtypes))
    return dtype if rank_shape == "[]" and draw(st.booleans()) else dtype + rank_shape


def expr(draw: st.DrawFn, names: Names, depth: int = 0) -> str:
    leaves = names.values or ["1.0"]
    if depth >= 3 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(leaves + ["2.0", "0.5", "3"] + names.consts[:1]))
    a = expr(draw, names, depth + 1)
    form = draw(st.integers(0, 11))
    if form <= 2:
        op = draw(st.sampled_from(["+", "-", "*", "/", "@"]))
        return f"({a} {op} {expr(draw, names, depth + 1)})"
    if form == 3:
        return f"{draw(st.sampled_from(UNARY))}({a})"
    if form == 4:
        axis = draw(st.sampled_from(["", ", axis=0", ", axis=-1", ", axis=[0, 1]", ", 1"]))
        keep = draw(st.sampled_from(["", ", keepdims=true"]))
        return f"{draw(st.sampled_from(REDUCE))}({a}{axis}{keep})"
    if form == 5:
        return f"softmax({a}{draw(st.sampled_from(['', ', axis=0', ', axis=-2']))})"
    if form == 6:
        return f"reshape({a}, {shape(draw, names)})"
    if form == 7:
        perm = draw(st.sampled_from(["", ", [1, 0]", ", [0, 2, 1]", ", [0]"]))
        return f"transpose({a}{perm})"
    if form == 8:
        index = draw(st.sampled_from(["0", "1", "-1", "0:1", ":, 0", "1:", ":2", "0:T", "B"]))
        return f"{a}[{index}]"
    if form == 9:
        return f"-{a}"
    if form == 10:
        b, c = expr(draw, names, depth + 1), expr(draw, names, depth + 1)
        layer = draw(st.sampled_from(["layernorm", "embedding", "cross_entropy", "causal_mask"]))
        args = {"layernorm": f"{a}, {b}, {c}", "causal_mask": a}.get(layer, f"{a}, {b}")
        return f"{layer}({args})"
    return f"broadcast({a}, {shape(draw, names)})"


@st.composite
def generated_program(draw: st.DrawFn) -> str:
    names = Names()
    lines: list[str] = []
    if draw(st.booleans()):
        lines.append("model generated")
    for i in range(draw(st.integers(0, 2))):
        value = draw(st.sampled_from(["2", "4", "8", "2 * 2", "8 / 2", "1.5"]))
        lines.append(f"const C{i} = {value}")
        names.consts.append(f"C{i}")
    if draw(st.booleans()):
        names.dims = draw(st.sampled_from([["B"], ["B", "T"]]))
        lines.append("dim " + ", ".join(names.dims))
    for i in range(draw(st.integers(1, 3))):
        lines.append(f"input x{i}: {tensor_type(draw, names)}")
        names.values.append(f"x{i}")
    for i in range(draw(st.integers(0, 2))):
        init = draw(st.sampled_from(["zeros", "ones", "normal(std=0.02)", "constant(value=0.5)"]))
        lines.append(f"param w{i}: {tensor_type(draw, names, ['f32', 'f32', 'bf16'])} = {init}")
        names.values.append(f"w{i}")
    if draw(st.booleans()):
        ty = f"f32{shape(draw, names, min_rank=1)}"
        unary = draw(st.sampled_from(UNARY))
        lines += [f"fn f0(a: {ty}) -> {ty} {{", f"    return {unary}(a)", "}"]
        names.values.append(f"f0({names.values[0]})")
    if draw(st.booleans()):
        # Generic over N, with a compile-time `int`; called by keyword or position.
        body = draw(st.sampled_from(["a * k", "a[0:1] + a[k:k + 1]", "sqrt(k) * a", "a[k]"]))
        lines += ["fn g0[N](a: f32[N, 2], k: int) -> f32[N, 2] {", f"    return {body}", "}"]
        arg = draw(st.sampled_from(names.values))
        names.values.append(draw(st.sampled_from([f"g0({arg}, 1)", f"g0(k=0, a={arg})"])))
    for i in range(draw(st.integers(1, 5))):
        lines.append(f"let v{i} = {expr(draw, names)}")
        names.values.append(f"v{i}")
    if draw(st.integers(0, 3)) == 0:
        target = draw(st.sampled_from(names.values))
        lines += ["for i in range(2) {", f"    v0 = {target}", "}"]
    for i in range(draw(st.integers(1, 2))):
        lines.append(f"output o{i} = {draw(st.sampled_from(names.values))}")
    if draw(st.booleans()):
        lines.append(f"loss = mean({draw(st.sampled_from(names.values))})")
    return "\n".join(lines) + "\n"


@GENERATED_SETTINGS
@given(source=generated_program())
def test_generated_programs_compile_and_round_trip_or_fail_cleanly(
    scratch: Path, source: str
) -> None:
    check_verdict(scratch, source)


def test_generator_produces_some_correct_programs(scratch: Path) -> None:
    """Guard against a generator that only makes broken programs (then (b) tests little)."""
    verdicts: list[int] = []

    @settings(max_examples=60, deadline=None, derandomize=True, database=None)
    @given(source=generated_program())
    def collect(source: str) -> None:
        verdicts.append(check_verdict(scratch, source))

    collect()
    assert verdicts.count(0) >= 5, f"only {verdicts.count(0)} of {len(verdicts)} compiled"
