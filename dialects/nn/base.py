"""What the `nn` op modules share: element-type classes, shape comparison, the checks
their verifiers repeat, and the ``: T`` format of ops whose values all have one type.

Shapes are compared the way the spec says: a ``?`` size is compatible with any size.
Every check raises `VerifyException` with the op name first, so a message reads
``nn.softmax: axis 3 is out of range for rank 2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    BFloat16Type,
    Float16Type,
    Float32Type,
    TensorType,
    i32,
    i64,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import operand_def
from xdsl.irdl.declarative_assembly_format import (
    CustomDirective,
    ParsingState,
    PrintingState,
    TypeDirective,
    irdl_custom_directive,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from scalc.dialects.nn.attrs import DimsAttr

FLOAT_TYPES = (Float32Type, BFloat16Type, Float16Type)
"""Element types of values (activations, weights, gradients)."""

INDEX_TYPES = (i32, i64)
"""Element types of ids and labels."""

Shape = Sequence[int]


def is_float(element_type: Attribute) -> bool:
    return isinstance(element_type, FLOAT_TYPES)


def is_index(element_type: Attribute) -> bool:
    return element_type in INDEX_TYPES


def format_size(size: int) -> str:
    return "?" if size == DYNAMIC_INDEX else str(size)


def format_shape(shape: Shape) -> str:
    """``[?, 64]``: how tensor shapes appear in verifier messages."""
    return "[" + ", ".join(format_size(s) for s in shape) + "]"


def sizes_compatible(a: int, b: int) -> bool:
    return a == b or DYNAMIC_INDEX in (a, b)


def shapes_compatible(a: Shape, b: Shape) -> bool:
    return len(a) == len(b) and all(sizes_compatible(x, y) for x, y in zip(a, b, strict=True))


def tensor_operand() -> SSAValue[TensorType]:
    """``operand_def(TensorType)``, typed so that ``op.x.type`` is known to be a tensor."""
    return cast(SSAValue[TensorType], operand_def(TensorType))


def fail(op: Operation, message: str) -> VerifyException:
    """The exception for a broken invariant of ``op``, to be raised by the caller."""
    return VerifyException(f"{op.name}: {message}")


def check_float(op: Operation, role: str, value_type: TensorType) -> None:
    """``role`` (``operand``, ``lhs``, ...) must hold floats: f32, bf16 or f16."""
    element = value_type.get_element_type()
    if not is_float(element):
        raise fail(op, f"{role} must have a float element type (f32, bf16, f16), got {element}")


def check_index(op: Operation, role: str, value_type: TensorType) -> None:
    """``role`` (``ids``, ``labels``) must hold signless integers: i32 or i64."""
    element = value_type.get_element_type()
    if not is_index(element):
        raise fail(op, f"{role} must have an integer element type (i32, i64), got {element}")


def check_axis(op: Operation, axis: int, rank: int) -> None:
    """Axes are non-negative (the builder normalises ``axis = -1``) and below the rank."""
    if axis < 0:
        raise fail(op, f"axis {axis} is negative; axes are written as 0..rank-1")
    if axis >= rank:
        raise fail(op, f"axis {axis} is out of range for rank {rank}")


def check_axes(op: Operation, axes: Sequence[int], rank: int) -> None:
    """Reduction axes: at least one, each valid (`check_axis`), unique and sorted."""
    if not axes:
        raise fail(op, "needs at least one axis")
    for axis in axes:
        check_axis(op, axis, rank)
    if len(set(axes)) != len(axes):
        raise fail(op, f"axes {list(axes)} contain a duplicate")
    if sorted(axes) != list(axes):
        raise fail(op, f"axes {list(axes)} are not sorted")


def keepdims_shape(shape: Shape, axes: Sequence[int]) -> tuple[int, ...]:
    """``shape`` reduced over ``axes`` with ``keepdims``: those axes become size 1."""
    return tuple(1 if axis in axes else size for axis, size in enumerate(shape))


def check_same_type(op: Operation, **operands: Attribute) -> None:
    """The named operands all have the type of the first one.

    ``check_same_type(op, lhs=..., rhs=...)`` fails with
    ``operand types differ: lhs is tensor<3x4xf32>, rhs is tensor<3x5xf32>``.
    """
    (first, expected), *rest = operands.items()
    for role, value_type in rest:
        if value_type != expected:
            raise fail(op, f"operand types differ: {first} is {expected}, {role} is {value_type}")


def check_result(op: Operation, result: TensorType, shape: Shape, element_type: Attribute) -> None:
    """``result`` must have ``element_type`` and a shape compatible with ``shape``."""
    if result.get_element_type() != element_type or not shapes_compatible(
        result.get_shape(), shape
    ):
        raise fail(
            op,
            f"result type {result} does not match the expected shape {format_shape(shape)} "
            f"and element type {element_type}",
        )


def check_result_type_is(
    op: Operation, result: Attribute, expected: Attribute, source: str = "operand"
) -> None:
    """``result`` has exactly the type of ``source``."""
    if result != expected:
        raise fail(op, f"result type {result} differs from the {source} type {expected}")


def check_element_type_kept(
    op: Operation, source: TensorType, result: TensorType, role: str = "the input"
) -> None:
    """Ops that only move elements keep the element type of their ``source`` (``role``)."""
    source_element = source.get_element_type()
    result_element = result.get_element_type()
    if source_element != result_element:
        raise fail(
            op, f"result element type {result_element} differs from {role}'s {source_element}"
        )


def check_dims_match_type(op: Operation, dims: DimsAttr, result: TensorType) -> None:
    """A dims attribute names the result's sizes: static where the type is, else ``?``."""
    shape = result.get_shape()
    expected = dims.static_shape()
    if len(expected) != len(shape):
        raise fail(op, f"{dims} names {len(expected)} sizes but the result has rank {len(shape)}")
    for axis, (named, size) in enumerate(zip(expected, shape, strict=True)):
        if named != size:
            raise fail(
                op,
                f"{dims} gives {dims.dims[axis]} for axis {axis} "
                f"but the result type has {format_size(size)}",
            )


@irdl_custom_directive
class SameType(CustomDirective):
    """``: T`` for ops whose operands and results all have type T, written once.

    Used as ``custom<SameType>(type(operands), type(results))``; the verifiers check that
    the types really agree, so invalid IR should be dumped in the generic form.
    """

    operands: TypeDirective
    results: TypeDirective

    def parse(self, parser: Parser, state: ParsingState) -> None:
        shared = parser.parse_type()
        self.operands.set(state, [shared] * len(state.operand_types))
        self.results.set(state, [shared] * len(state.result_types))

    def print(self, printer: Printer, state: PrintingState, op: Operation) -> None:
        state.print_whitespace(printer)
        printer.print_attribute(op.results[0].type)
