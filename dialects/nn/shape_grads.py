"""Gradients of reductions and shape ops (docs/train.md): ``dy`` spread back to the
shape of the forward operand.

``nn.max_grad`` and ``nn.mean_grad`` take ``dy`` in the ``keepdims`` shape of the
reduction (the autodiff pass reshapes it).  ``nn.mean_grad``, ``nn.slice_grad`` and
``nn.index_grad`` name the operand's shape in a ``#nn.dims`` attribute, since it may be
symbolic, like the shape ops that produce sizes.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Sequence

from xdsl.dialects.builtin import DYNAMIC_INDEX, I64, DenseArrayBase, IntegerAttr, TensorType, i64
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import IRDLOperation, irdl_op_definition, prop_def, result_def, traits_def
from xdsl.traits import Pure

from scalc.dialects.nn.attrs import DimsAttr
from scalc.dialects.nn.base import (
    check_axes,
    check_axis,
    check_dims_match_type,
    check_element_type_kept,
    check_float,
    check_result_type_is,
    fail,
    format_shape,
    format_size,
    keepdims_shape,
    shapes_compatible,
    tensor_operand,
)
from scalc.dialects.nn.dims import Dim


def check_keepdims_dy(
    op: Operation, dy: TensorType, source: TensorType, axes: Sequence[int], role: str
) -> None:
    """``dy`` of a reduction over ``axes`` has the ``keepdims`` shape of ``source`` (the
    forward operand, called ``role``) and its element type."""
    check_float(op, "dy", dy)
    shape = source.get_shape()
    check_axes(op, axes, len(shape))
    expected = keepdims_shape(shape, axes)
    if not shapes_compatible(dy.get_shape(), expected):
        raise fail(
            op,
            f"dy shape {format_shape(dy.get_shape())} must be the keepdims shape of {role} "
            f"over axes {list(axes)}: {format_shape(expected)}",
        )
    if dy.get_element_type() != source.get_element_type():
        raise fail(
            op,
            f"dy element type {dy.get_element_type()} differs from the {role} element type "
            f"{source.get_element_type()}",
        )


@irdl_op_definition
class MaxGradOp(IRDLOperation):
    """The gradient of ``nn.max`` over ``axes``: ``dy`` (in the ``keepdims`` shape)
    broadcast back and split equally among the maxima of each reduced group of ``x``.

    Printed as::

        %dx = nn.max_grad %x, %dy axes [1] : (tensor<?x10xf32>, tensor<?x1xf32>)
            -> tensor<?x10xf32>
    """

    name = "nn.max_grad"

    x = tensor_operand()
    dy = tensor_operand()
    result = result_def(TensorType)
    axes = prop_def(DenseArrayBase.constr(I64))

    traits = traits_def(Pure())
    assembly_format = "$x `,` $dy `axes` $axes attr-dict `:` functional-type(operands, results)"

    def __init__(
        self, x: SSAValue | Operation, dy: SSAValue | Operation, axes: Sequence[int]
    ) -> None:
        x = SSAValue.get(x)
        super().__init__(
            operands=[x, dy],
            result_types=[x.type],
            properties={"axes": DenseArrayBase.from_list(i64, axes)},
        )

    def verify_(self) -> None:
        check_keepdims_dy(self, self.dy.type, self.x.type, self.axes.get_values(), "x")
        check_result_type_is(self, self.result.type, self.x.type, "x")


class _ToDimsGradOp(IRDLOperation, ABC):
    """The gradient of an op that dropped or reduced part of its operand: ``dy`` spread
    back to the operand's shape, named by ``dims`` (which agrees with the result type)."""

    dy = tensor_operand()
    result = result_def(TensorType)
    dims = prop_def(DimsAttr)

    traits = traits_def(Pure())

    def verify_(self) -> None:
        check_float(self, "dy", self.dy.type)
        check_dims_match_type(self, self.dims, self.result.type)
        check_element_type_kept(self, self.dy.type, self.result.type, "dy")


_TO_DIMS = "`to` qualified($dims) attr-dict `:` type($dy) `->` type($result)"


@irdl_op_definition
class MeanGradOp(_ToDimsGradOp):
    """The gradient of ``nn.mean`` over ``axes``: ``dy`` (in the ``keepdims`` shape)
    broadcast to ``dims`` and divided by the number of reduced elements, evaluated at
    run time when it is symbolic.

    Printed as::

        %dx = nn.mean_grad %dy axes [0] to #nn.dims<B, 10> : tensor<1x10xf32>
            -> tensor<?x10xf32>
    """

    name = "nn.mean_grad"

    axes = prop_def(DenseArrayBase.constr(I64))

    assembly_format = "$dy `axes` $axes " + _TO_DIMS

    def __init__(
        self,
        dy: SSAValue | Operation,
        axes: Sequence[int],
        dims: DimsAttr | Sequence[Dim | int | str],
        result_type: TensorType,
    ) -> None:
        properties = {"axes": DenseArrayBase.from_list(i64, axes), "dims": DimsAttr.of(dims)}
        super().__init__(operands=[dy], result_types=[result_type], properties=properties)

    def verify_(self) -> None:
        super().verify_()
        check_keepdims_dy(
            self, self.dy.type, self.result.type, self.axes.get_values(), "the result"
        )


@irdl_op_definition
class SliceGradOp(_ToDimsGradOp):
    """The gradient of ``nn.slice``: zeros of shape ``dims`` with ``dy`` written at
    ``start`` along ``axis`` (``dy`` covers ``start : start + dy.shape[axis]``).

    Printed as::

        %dw = nn.slice_grad %dy axis 0 [0] to #nn.dims<256, 128> : tensor<?x128xf32>
            -> tensor<256x128xf32>
    """

    name = "nn.slice_grad"

    axis = prop_def(IntegerAttr[I64])
    start = prop_def(IntegerAttr[I64])

    assembly_format = "$dy `axis` $axis ` ` `[` $start `]` " + _TO_DIMS

    def __init__(
        self,
        dy: SSAValue | Operation,
        axis: int,
        start: int,
        dims: DimsAttr | Sequence[Dim | int | str],
        result_type: TensorType,
    ) -> None:
        properties = {
            "axis": IntegerAttr(axis, i64),
            "start": IntegerAttr(start, i64),
            "dims": DimsAttr.of(dims),
        }
        super().__init__(operands=[dy], result_types=[result_type], properties=properties)

    def verify_(self) -> None:
        super().verify_()
        shape, sliced = self.result.type.get_shape(), self.dy.type.get_shape()
        axis, start = self.axis.value.data, self.start.value.data
        check_axis(self, axis, len(shape))
        expected = (*shape[:axis], DYNAMIC_INDEX, *shape[axis + 1 :])
        if not shapes_compatible(sliced, expected):
            raise fail(
                self,
                f"dy shape {format_shape(sliced)} must be the result shape "
                f"{format_shape(shape)} except along axis {axis}",
            )
        size, length = shape[axis], sliced[axis]
        if start < 0 or (size != DYNAMIC_INDEX and start > size):
            raise fail(
                self, f"start {start} is out of range for axis {axis} of size {format_size(size)}"
            )
        if DYNAMIC_INDEX not in (size, length) and start + length > size:
            raise fail(
                self,
                f"dy covers [{start}:{start + length}] along axis {axis}, beyond its size {size}",
            )


@irdl_op_definition
class IndexGradOp(_ToDimsGradOp):
    """The gradient of ``nn.index``: zeros of shape ``dims`` with ``dy`` written at
    ``index`` along ``axis``; ``dy`` has the result shape without that axis.

    Printed as::

        %dw = nn.index_grad %dy axis 0 [1] to #nn.dims<4, 128> : tensor<128xf32>
            -> tensor<4x128xf32>
    """

    name = "nn.index_grad"

    axis = prop_def(IntegerAttr[I64])
    index = prop_def(IntegerAttr[I64])

    assembly_format = "$dy `axis` $axis ` ` `[` $index `]` " + _TO_DIMS

    def __init__(
        self,
        dy: SSAValue | Operation,
        axis: int,
        index: int,
        dims: DimsAttr | Sequence[Dim | int | str],
        result_type: TensorType,
    ) -> None:
        properties = {
            "axis": IntegerAttr(axis, i64),
            "index": IntegerAttr(index, i64),
            "dims": DimsAttr.of(dims),
        }
        super().__init__(operands=[dy], result_types=[result_type], properties=properties)

    def verify_(self) -> None:
        super().verify_()
        shape = self.result.type.get_shape()
        axis, index = self.axis.value.data, self.index.value.data
        check_axis(self, axis, len(shape))
        size = shape[axis]
        if index < 0 or (size != DYNAMIC_INDEX and index >= size):
            raise fail(
                self, f"index {index} is out of range for axis {axis} of size {format_size(size)}"
            )
        expected = (*shape[:axis], *shape[axis + 1 :])
        if not shapes_compatible(self.dy.type.get_shape(), expected):
            raise fail(
                self,
                f"dy shape {format_shape(self.dy.type.get_shape())} must be the result shape "
                f"{format_shape(shape)} without axis {axis}: {format_shape(expected)}",
            )
