"""``!scaled.tensor<?x64xbf16>``: the type of a scaled tensor (docs/scaled.md, "Type").

A scaled tensor is low-precision ``data`` times a run-time fp32 scalar ``scale``; the type
records the data's shape (``?`` for symbolic sizes, as in ``tensor``) and element type.
The scale is not part of the type: it travels with the data at run time.

>>> ScaledTensorType(BFloat16Type(), [DYNAMIC_INDEX, 64]).get_shape()
(-1, 64)
>>> print(ScaledTensorType(f8E4M3FN, [64, 256]).as_tensor_type())
tensor<64x256xf8E4M3FN>
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    ArrayAttr,
    BFloat16Type,
    Float8E4M3FNType,
    Float8E5M2Type,
    Float16Type,
    Float32Type,
    IntAttr,
    ShapedType,
    TensorType,
    f8E4M3FN,
    f8E5M2,
)
from xdsl.ir import Attribute, ParametrizedAttribute, TypeAttribute
from xdsl.irdl import irdl_attr_definition
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

F8_TYPES = (Float8E4M3FNType, Float8E5M2Type)
"""The fp8 formats: E4M3 (no infinities, max 448) for values, E5M2 (max 57344) for
gradients, which need the range more than the precision."""

WIDE_TYPES = (Float32Type, BFloat16Type, Float16Type)
"""The element types of ``nn`` values, also legal as scaled data."""

F8_MAX: dict[Attribute, float] = {f8E4M3FN: 448.0, f8E5M2: 57344.0}
"""The largest finite value of each fp8 format: where ``scaled.cast`` saturates, and the
``target`` of the ``scaled.rescale`` before a cast into it."""


def is_f8(element_type: Attribute) -> bool:
    """Whether ``element_type`` is an fp8 format (``f8E4M3FN`` or ``f8E5M2``)."""
    return isinstance(element_type, F8_TYPES)


@irdl_attr_definition
class ScaledTensorType(ParametrizedAttribute, TypeAttribute, ShapedType):
    """The data of a scaled tensor: a shape and an element type (``f8E4M3FN``,
    ``f8E5M2``, ``bf16``, ``f16`` or ``f32``).  Printed ``!scaled.tensor<?x64xbf16>``;
    a scalar is ``!scaled.tensor<f32>``."""

    name = "scaled.tensor"

    shape: ArrayAttr[IntAttr]
    element_type: Attribute

    def __init__(self, element_type: Attribute, shape: Iterable[int | IntAttr]) -> None:
        """Like ``TensorType(element_type, shape)``; ``DYNAMIC_INDEX`` stands for ``?``."""
        sizes = ArrayAttr(IntAttr(s) if isinstance(s, int) else s for s in shape)
        super().__init__(sizes, element_type)

    @staticmethod
    def of(tensor_type: TensorType[Attribute]) -> ScaledTensorType:
        """The scaled type with the shape and element type of ``tensor_type``."""
        return ScaledTensorType(tensor_type.get_element_type(), tensor_type.get_shape())

    def get_num_dims(self) -> int:
        return len(self.shape.data)

    def get_shape(self) -> tuple[int, ...]:
        return tuple(size.data for size in self.shape.data)

    def get_element_type(self) -> Attribute:
        """The data's element type (as ``TensorType.get_element_type``)."""
        return self.element_type

    def as_tensor_type(self) -> TensorType[Attribute]:
        """The ``tensor`` type with the same shape and element type (the data's type)."""
        return TensorType(self.element_type, self.get_shape())

    def with_element_type(self, element_type: Attribute) -> ScaledTensorType:
        """This shape with another element type: the result type of a ``scaled.cast``."""
        return ScaledTensorType(element_type, self.get_shape())

    def verify(self) -> None:
        if not isinstance(self.element_type, (*F8_TYPES, *WIDE_TYPES)):
            raise VerifyException(
                f"scaled.tensor: element type must be f8E4M3FN, f8E5M2, bf16, f16 or f32, "
                f"got {self.element_type}"
            )
        for size in self.shape.data:
            if size.data < 0 and size.data != DYNAMIC_INDEX:
                raise VerifyException(f"scaled.tensor: negative size {size.data}")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            shape, element_type = parser.parse_ranked_shape()
        return ArrayAttr(IntAttr(size) for size in shape), element_type

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_dimension_list(self.get_shape())
            if self.shape.data:
                printer.print_string("x")
            printer.print_attribute(self.element_type)
