"""Reductions over a set of axes: ``nn.sum``, ``nn.mean``, ``nn.max``."""

from __future__ import annotations

from abc import ABC
from collections.abc import Sequence

from xdsl.dialects.builtin import I64, DenseArrayBase, TensorType, UnitAttr, i64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure

from scalc.dialects.nn.base import (
    check_axes,
    check_float,
    check_result,
    keepdims_shape,
    tensor_operand,
)


class ReduceOp(IRDLOperation, ABC):
    """``%1 = nn.<op> %0 axes [1] keepdims : tensor<?x10xf32> -> tensor<?x1xf32>``.

    ``axes`` are unique, sorted and in range.  The reduced axes are dropped, or kept
    with size 1 when ``keepdims`` is present.  The element type is unchanged.
    """

    input = tensor_operand()
    result = result_def(TensorType)
    axes = prop_def(DenseArrayBase.constr(I64))
    keepdims = opt_prop_def(UnitAttr)

    traits = traits_def(Pure())
    assembly_format = (
        "$input `axes` $axes (`keepdims` $keepdims^)? attr-dict `:` type($input) `->` type($result)"
    )

    def __init__(
        self,
        input: SSAValue | Operation,
        axes: Sequence[int],
        result_type: TensorType,
        *,
        keepdims: bool = False,
    ) -> None:
        properties: dict[str, Attribute] = {"axes": DenseArrayBase.from_list(i64, axes)}
        if keepdims:
            properties["keepdims"] = UnitAttr()
        super().__init__(operands=[input], result_types=[result_type], properties=properties)

    def verify_(self) -> None:
        check_float(self, "operand", self.input.type)
        shape = self.input.type.get_shape()
        axes = self.axes.get_values()
        check_axes(self, axes, len(shape))
        if self.keepdims is not None:
            expected = keepdims_shape(shape, axes)
        else:
            expected = [size for i, size in enumerate(shape) if i not in axes]
        check_result(self, self.result.type, expected, self.input.type.get_element_type())


@irdl_op_definition
class SumOp(ReduceOp):
    """Sum over ``axes``.   ``%1 = nn.sum %0 axes [1] : tensor<?x10xf32> -> tensor<?xf32>``"""

    name = "nn.sum"


@irdl_op_definition
class MeanOp(ReduceOp):
    """Mean over ``axes``.   ``%1 = nn.mean %0 axes [0, 1] : tensor<?x?xf32> -> tensor<f32>``"""

    name = "nn.mean"


@irdl_op_definition
class MaxOp(ReduceOp):
    """Maximum over ``axes``.
    ``%1 = nn.max %0 axes [1] keepdims : tensor<?x10xf32> -> tensor<?x1xf32>``"""

    name = "nn.max"
