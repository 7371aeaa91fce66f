"""Ops that move elements without computing: reshape, broadcast, transpose, slice, index.

They accept any element type (ids and labels are reshaped too) and keep it.  Those that
can create a symbolic size name it in a ``#nn.dims`` attribute that agrees with the
result type: a static entry where the type has that size, a symbolic one where it has
``?``.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Sequence
from math import prod

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    I64,
    DenseArrayBase,
    IntegerAttr,
    TensorType,
    i64,
)
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure

from scalc.dialects.nn.attrs import DimsAttr
from scalc.dialects.nn.base import (
    check_axis,
    check_dims_match_type,
    check_element_type_kept,
    check_result,
    fail,
    format_shape,
    format_size,
    sizes_compatible,
    tensor_operand,
)
from scalc.dialects.nn.dims import Dim

_TYPES = "attr-dict `:` type($input) `->` type($result)"


class _ShapeOp(IRDLOperation, ABC):
    """Operand ``input``, result ``result``, both tensors; pure."""

    input = tensor_operand()
    result = result_def(TensorType)

    traits = traits_def(Pure())


class _ToDimsOp(_ShapeOp, ABC):
    """Produces the shape named by ``dims``:
    ``%1 = nn.<op> %0 to #nn.dims<...> : tensor<...> -> tensor<...>``."""

    dims = prop_def(DimsAttr)

    assembly_format = "$input `to` qualified($dims) " + _TYPES

    def __init__(
        self,
        input: SSAValue | Operation,
        dims: DimsAttr | Sequence[Dim | int | str],
        result_type: TensorType,
    ) -> None:
        super().__init__(
            operands=[input], result_types=[result_type], properties={"dims": DimsAttr.of(dims)}
        )


@irdl_op_definition
class ReshapeOp(_ToDimsOp):
    """The same elements in row-major order under a new shape, named by ``dims``.
    Static element counts must agree.

    Printed as::

        %1 = nn.reshape %0 to #nn.dims<B*T, 128> : tensor<?x?x128xf32> -> tensor<?x128xf32>
    """

    name = "nn.reshape"

    def verify_(self) -> None:
        check_dims_match_type(self, self.dims, self.result.type)
        check_element_type_kept(self, self.input.type, self.result.type)
        source, target = self.input.type, self.result.type
        static = [DYNAMIC_INDEX not in t.get_shape() for t in (source, target)]
        if all(static) and prod(source.get_shape()) != prod(target.get_shape()):
            raise fail(
                self,
                f"element counts differ: input {format_shape(source.get_shape())} has "
                f"{prod(source.get_shape())}, result {format_shape(target.get_shape())} "
                f"has {prod(target.get_shape())}",
            )


@irdl_op_definition
class BroadcastOp(_ToDimsOp):
    """NumPy broadcasting to the shape ``dims``: shapes are right-aligned and each input
    size equals the result's or is 1.

    Printed as::

        %1 = nn.broadcast %0 to #nn.dims<B, 256> : tensor<256xf32> -> tensor<?x256xf32>
    """

    name = "nn.broadcast"

    def verify_(self) -> None:
        check_dims_match_type(self, self.dims, self.result.type)
        check_element_type_kept(self, self.input.type, self.result.type)
        source = self.input.type.get_shape()
        target = self.result.type.get_shape()
        lead = len(target) - len(source)
        if lead < 0:
            raise fail(self, f"cannot broadcast rank {len(source)} to rank {len(target)}")
        for axis, size in enumerate(source):
            if size != 1 and not sizes_compatible(size, target[lead + axis]):
                raise fail(
                    self,
                    f"cannot broadcast {format_shape(source)} to {format_shape(target)}: "
                    f"input axis {axis} has {format_size(size)}, neither 1 nor "
                    f"{format_size(target[lead + axis])}",
                )


@irdl_op_definition
class TransposeOp(_ShapeOp):
    """Permutes axes: result axis ``i`` is input axis ``perm[i]``.

    Printed as::

        %1 = nn.transpose %0 [0, 2, 1, 3] : tensor<?x?x4x32xf32> -> tensor<?x4x?x32xf32>
    """

    name = "nn.transpose"

    perm = prop_def(DenseArrayBase.constr(I64))

    assembly_format = "$input $perm " + _TYPES

    def __init__(
        self, input: SSAValue | Operation, perm: Sequence[int], result_type: TensorType
    ) -> None:
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties={"perm": DenseArrayBase.from_list(i64, perm)},
        )

    def verify_(self) -> None:
        shape = self.input.type.get_shape()
        perm = self.perm.get_values()
        if sorted(perm) != list(range(len(shape))):
            raise fail(self, f"{list(perm)} is not a permutation of the {len(shape)} input axes")
        check_result(
            self, self.result.type, [shape[p] for p in perm], self.input.type.get_element_type()
        )


@irdl_op_definition
class SliceOp(_ShapeOp):
    """``x[start:stop]`` along ``axis``.  ``stop`` is one dimension, possibly symbolic
    (``T`` of a positional table); static bounds are in range.

    Printed as::

        %1 = nn.slice %0 axis 0 [0 : #nn.dims<T>] : tensor<256x128xf32> -> tensor<?x128xf32>
    """

    name = "nn.slice"

    axis = prop_def(IntegerAttr[I64])
    start = prop_def(IntegerAttr[I64])
    stop = prop_def(DimsAttr)

    assembly_format = "$input `axis` $axis ` ` `[` $start `:` qualified($stop) `]` " + _TYPES

    def __init__(
        self,
        input: SSAValue | Operation,
        axis: int,
        start: int,
        stop: Dim | int | str,
        result_type: TensorType,
    ) -> None:
        properties = {
            "axis": IntegerAttr(axis, i64),
            "start": IntegerAttr(start, i64),
            "stop": DimsAttr([stop]),
        }
        super().__init__(operands=[input], result_types=[result_type], properties=properties)

    def verify_(self) -> None:
        shape = self.input.type.get_shape()
        axis, start = self.axis.value.data, self.start.value.data
        check_axis(self, axis, len(shape))
        if len(self.stop.dims) != 1:
            raise fail(self, f"stop {self.stop} must have exactly one entry")
        (stop,) = self.stop.dims
        if start < 0 or (stop.is_static and start > stop.value):
            raise fail(self, f"[{start}:{stop}] is not a valid range")
        if stop.is_static and shape[axis] != DYNAMIC_INDEX and stop.value > shape[axis]:
            raise fail(
                self, f"[{start}:{stop}] is out of range for axis {axis} of size {shape[axis]}"
            )
        sliced = stop.value - start if stop.is_static else DYNAMIC_INDEX
        expected = (*shape[:axis], sliced, *shape[axis + 1 :])
        check_result(self, self.result.type, expected, self.input.type.get_element_type())
        if self.result.type.get_shape()[axis] != sliced:
            raise fail(
                self,
                f"[{start}:{stop}] gives {format_size(sliced)} elements along axis {axis}, "
                f"the result type {self.result.type} disagrees",
            )


@irdl_op_definition
class IndexOp(_ShapeOp):
    """``x[index]`` along ``axis``, which is dropped; ``index`` is in range.

    Printed as::

        %1 = nn.index %0 axis 0 [3] : tensor<4x128x128xf32> -> tensor<128x128xf32>
    """

    name = "nn.index"

    axis = prop_def(IntegerAttr[I64])
    index = prop_def(IntegerAttr[I64])

    assembly_format = "$input `axis` $axis ` ` `[` $index `]` " + _TYPES

    def __init__(
        self, input: SSAValue | Operation, axis: int, index: int, result_type: TensorType
    ) -> None:
        properties = {"axis": IntegerAttr(axis, i64), "index": IntegerAttr(index, i64)}
        super().__init__(operands=[input], result_types=[result_type], properties=properties)

    def verify_(self) -> None:
        shape = self.input.type.get_shape()
        axis, index = self.axis.value.data, self.index.value.data
        check_axis(self, axis, len(shape))
        size = shape[axis]
        if index < 0 or (size != DYNAMIC_INDEX and index >= size):
            raise fail(
                self, f"index {index} is out of range for axis {axis} of size {format_size(size)}"
            )
        check_result(
            self,
            self.result.type,
            (*shape[:axis], *shape[axis + 1 :]),
            self.input.type.get_element_type(),
        )
