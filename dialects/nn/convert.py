"""Element-type conversion: ``nn.cast`` (docs/ir.md), which keeps optimizer state in a
narrower type than the fp32 master weights (docs/scaled.md, ``optimizer_state``)."""

from __future__ import annotations

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import IRDLOperation, irdl_op_definition, result_def, traits_def
from xdsl.traits import Pure

from scalc.dialects.nn.base import check_float, fail, format_shape, tensor_operand


@irdl_op_definition
class CastOp(IRDLOperation):
    """The same values in another float type (f32, bf16, f16), rounded to nearest even;
    the shape is unchanged.

    Printed as::

        %1 = nn.cast %0 : tensor<64x256xf32> -> tensor<64x256xbf16>
    """

    name = "nn.cast"

    input = tensor_operand()
    result = result_def(TensorType)

    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue | Operation, result_type: TensorType) -> None:
        super().__init__(operands=[input], result_types=[result_type])

    def verify_(self) -> None:
        check_float(self, "operand", self.input.type)
        check_float(self, "the result", self.result.type)
        source, target = self.input.type.get_shape(), self.result.type.get_shape()
        # A conversion learns nothing about sizes: `?` stays `?` (no shape refinement).
        if source != target:
            raise fail(
                self,
                f"result shape {format_shape(target)} differs from the operand shape "
                f"{format_shape(source)}",
            )
