"""``!scaled.tensor<...>``: printed like ``tensor``, parsed back to the same type, with
only the scaled element types (f8E4M3FN, f8E5M2, bf16, f16, f32)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    TensorType,
    bf16,
    f8E4M3FN,
    f8E5M2,
    f16,
    f32,
    f64,
    i32,
)
from xdsl.ir import Attribute
from xdsl.parser import Parser
from xdsl.utils.exceptions import VerifyException

from scalc.dialects.context import make_context
from scalc.dialects.scaled import F8_MAX, ScaledTensorType, is_f8

ELEMENT_TYPES = [f8E4M3FN, f8E5M2, bf16, f16, f32]


def parse_type(text: str) -> Attribute:
    return Parser(make_context(), text).parse_type()


@pytest.mark.parametrize(
    ("scaled_type", "text"),
    [
        (ScaledTensorType(bf16, [DYNAMIC_INDEX, 64]), "!scaled.tensor<?x64xbf16>"),
        (ScaledTensorType(f32, []), "!scaled.tensor<f32>"),
        (ScaledTensorType(f8E4M3FN, [64, 256]), "!scaled.tensor<64x256xf8E4M3FN>"),
        (ScaledTensorType(f8E5M2, [DYNAMIC_INDEX, 4, 0]), "!scaled.tensor<?x4x0xf8E5M2>"),
    ],
    ids=lambda v: str(v) if isinstance(v, str) else "",
)
def test_type_prints_like_a_tensor_and_parses_back(
    scaled_type: ScaledTensorType, text: str
) -> None:
    assert str(scaled_type) == text
    assert parse_type(text) == scaled_type


@given(
    shape=st.lists(
        st.one_of(st.just(DYNAMIC_INDEX), st.integers(min_value=0, max_value=4096)), max_size=5
    ),
    element_type=st.sampled_from(ELEMENT_TYPES),
)
def test_any_shape_and_element_type_round_trips(shape: list[int], element_type: Attribute) -> None:
    scaled_type = ScaledTensorType(element_type, shape)
    reparsed = parse_type(str(scaled_type))
    assert reparsed == scaled_type
    assert str(reparsed) == str(scaled_type)
    assert str(scaled_type) == "!scaled." + str(TensorType(element_type, shape))


def test_helpers_give_shape_element_type_and_the_plain_tensor_type() -> None:
    scaled_type = ScaledTensorType(f8E4M3FN, [DYNAMIC_INDEX, 64])
    assert scaled_type.get_shape() == (DYNAMIC_INDEX, 64)
    assert scaled_type.get_num_dims() == 2
    assert scaled_type.element_type == scaled_type.get_element_type() == f8E4M3FN
    assert scaled_type.as_tensor_type() == TensorType(f8E4M3FN, [DYNAMIC_INDEX, 64])
    assert ScaledTensorType.of(TensorType(bf16, [3])) == ScaledTensorType(bf16, [3])
    assert scaled_type.with_element_type(bf16) == ScaledTensorType(bf16, [DYNAMIC_INDEX, 64])


@pytest.mark.parametrize("element_type", [i32, f64], ids=str)
def test_other_element_types_are_rejected(element_type: Attribute) -> None:
    with pytest.raises(VerifyException, match="scaled.tensor: element type must be f8E4M3FN"):
        ScaledTensorType(element_type, [4])
    with pytest.raises(VerifyException, match=f"got {element_type}"):
        parse_type(f"!scaled.tensor<4x{element_type}>")


def test_f8_formats_and_their_largest_finite_values() -> None:
    assert [is_f8(t) for t in ELEMENT_TYPES] == [True, True, False, False, False]
    assert F8_MAX == {f8E4M3FN: 448.0, f8E5M2: 57344.0}
