"""Generated kernels are canonical (issue 13): named by what they compute, with no group
number or SSA id in their text, so identical kernels are one text, which Triton compiles
and caches once. At the GPT-124M configuration (D=768, 12 heads, 12 layers) the fp8
program needs at most 60 distinct kernels (1,471 before the kernels were canonical)."""

from __future__ import annotations

import ast
import re

import pytest

import scalc
from bench.scl_consts import with_consts
from tests.lowering.groups import ROOT

GPT_124M = {"D": 768, "HEADS": 12, "LAYERS": 12, "MAX_T": 1024}


def jit_kernels(program: scalc.Program) -> list[tuple[str, str]]:
    """(name, text) of every ``@triton.jit`` function of the program's generated modules."""
    out = []
    for text in program.kernel_texts().values():
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef) and any(
                ast.unparse(d) == "triton.jit" for d in node.decorator_list
            ):
                out.append((node.name, ast.get_source_segment(text, node) or ""))
    return out


@pytest.fixture(scope="module")
def gpt_124m_fp8() -> list[tuple[str, str]]:
    source = with_consts((ROOT / "examples" / "gpt.scl").read_text(), **GPT_124M)
    return jit_kernels(scalc.compile(source, recipe="fp8", optimizer="adamw"))


def test_kernel_texts_hold_no_group_number_or_ssa_id(gpt_124m_fp8: list) -> None:
    # An SSA id is `%` and a name (`%h`, `%12`); the modulo operator has a space after it.
    bad = [n for n, text in gpt_124m_fp8 if re.search(r"%\w|\bk\d+_", text)]
    assert not bad, bad[:5]


def test_gpt_124m_fp8_needs_at_most_60_distinct_kernels(gpt_124m_fp8: list) -> None:
    distinct = {text for _, text in gpt_124m_fp8}
    print(f"{len(gpt_124m_fp8)} kernels in the generated modules, {len(distinct)} distinct")
    assert len(distinct) <= 60
    # The same text is the same name (the name carries a hash of the text), and back.
    assert len({name for name, _ in gpt_124m_fp8}) == len(distinct)


def test_layers_past_the_second_add_no_kernel() -> None:
    """A layer between two others is the same kernels again (the first and last layers
    may differ: what feeds them and what they feed is not another layer)."""
    def distinct(layers: int) -> int:
        source = with_consts((ROOT / "examples" / "gpt.scl").read_text(), D=32, HEADS=2,
                             LAYERS=layers, MAX_T=16)  # fmt: skip
        return len({t for _, t in jit_kernels(scalc.compile(source, recipe="fp8"))})

    assert distinct(2) == distinct(4)
