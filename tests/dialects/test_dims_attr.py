"""``#nn.dims<...>``: exact printed form, parsing, and round-trips of random shapes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from xdsl.dialects.builtin import DYNAMIC_INDEX
from xdsl.parser import Parser
from xdsl.utils.exceptions import ParseError

from scalc.dialects.context import make_context
from scalc.dialects.nn import DimsAttr
from scalc.dialects.nn.dims import Dim


def parse_attribute(text: str) -> DimsAttr:
    attr = Parser(make_context(), text).parse_attribute()
    assert isinstance(attr, DimsAttr)
    return attr


def test_dims_attr_prints_symbolic_and_static_entries() -> None:
    assert str(DimsAttr(["B*T", 128])) == "#nn.dims<B*T, 128>"
    assert str(DimsAttr([])) == "#nn.dims<>"


def test_dims_attr_accepts_dims_ints_and_names_and_canonicalises() -> None:
    attr = DimsAttr([Dim(4, ("B",)), 64, "T*B"])
    assert attr.dims == (Dim(4, ("B",)), Dim(64), Dim(1, ("B", "T")))
    assert str(attr) == "#nn.dims<4*B, 64, B*T>"
    assert attr == DimsAttr(["4*B", "64", "B*T"])


def test_dims_attr_static_shape_uses_dynamic_sizes_for_symbols() -> None:
    assert DimsAttr(["B", 3, "2*T"]).static_shape() == (DYNAMIC_INDEX, 3, DYNAMIC_INDEX)


def test_parsing_canonicalises_factor_order() -> None:
    assert parse_attribute("#nn.dims<T*B*2, 3*4>") == DimsAttr(["2*B*T", 12])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("#nn.dims<-1>", "a dimension cannot be negative"),
        ("#nn.dims<B.x>", "bad factor 'B.x'"),
        ("#nn.dims<B*>", "expected a dimension"),
        ("#nn.dims<B, >", "expected a dimension"),
    ],
)
def test_malformed_dims_are_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_attribute(text)


symbols = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,5}", fullmatch=True)
dims = st.builds(Dim, st.integers(0, 2**40), st.lists(symbols, max_size=3).map(tuple))


@given(st.lists(dims, max_size=6))
def test_random_monomials_round_trip_through_print_and_parse(shape: list[Dim]) -> None:
    attr = DimsAttr(shape)
    reparsed = parse_attribute(str(attr))
    assert reparsed == attr
    assert reparsed.dims == tuple(shape)
