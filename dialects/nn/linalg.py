"""Matrix multiplication."""

from __future__ import annotations

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import IRDLOperation, irdl_op_definition, result_def, traits_def
from xdsl.traits import Pure

from scalc.dialects.nn.base import (
    check_float,
    check_result,
    fail,
    format_shape,
    format_size,
    shapes_compatible,
    sizes_compatible,
    tensor_operand,
)


@irdl_op_definition
class MatmulOp(IRDLOperation):
    """``out[..., m, n] = sum_k lhs[..., m, k] * rhs[..., k, n]``, accumulated in fp32.

    ``rhs`` is either a matrix ``[K, N]`` shared by every batch entry of ``lhs`` (a
    dense layer) or has the same batch dims as ``lhs`` (attention).  All three tensors
    have one element type.

    Printed as::

        %2 = nn.matmul %0, %1 : (tensor<?x64xf32>, tensor<64x256xf32>) -> tensor<?x256xf32>
    """

    name = "nn.matmul"

    lhs = tensor_operand()
    rhs = tensor_operand()
    result = result_def(TensorType)

    traits = traits_def(Pure())
    assembly_format = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"

    def __init__(
        self, lhs: SSAValue | Operation, rhs: SSAValue | Operation, result_type: TensorType
    ) -> None:
        super().__init__(operands=[lhs, rhs], result_types=[result_type])

    def verify_(self) -> None:
        lhs, rhs = self.lhs.type, self.rhs.type
        check_float(self, "lhs", lhs)
        if lhs.get_element_type() != rhs.get_element_type():
            raise fail(
                self,
                f"element types differ: lhs has {lhs.get_element_type()}, "
                f"rhs has {rhs.get_element_type()}",
            )
        lhs_shape, rhs_shape = lhs.get_shape(), rhs.get_shape()
        if len(lhs_shape) < 2:
            raise fail(self, f"lhs must have rank >= 2, got {lhs}")
        if len(rhs_shape) not in (2, len(lhs_shape)):
            raise fail(self, f"rhs must have rank 2 or the lhs rank {len(lhs_shape)}, got {rhs}")
        (*lhs_batch, m, k_lhs), (*rhs_batch, k_rhs, n) = lhs_shape, rhs_shape
        if not sizes_compatible(k_lhs, k_rhs):
            raise fail(
                self,
                f"contracting dims differ: lhs has K={format_size(k_lhs)}, "
                f"rhs has K={format_size(k_rhs)}",
            )
        if rhs_batch and not shapes_compatible(lhs_batch, rhs_batch):
            raise fail(
                self,
                f"batch dims differ: lhs has {format_shape(lhs_batch)}, "
                f"rhs has {format_shape(rhs_batch)}",
            )
        check_result(self, self.result.type, (*lhs_batch, m, n), lhs.get_element_type())
