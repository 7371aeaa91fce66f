"""Elementwise ops: one float tensor type for every operand and the result.

The IR builder makes implicit broadcasting explicit with ``nn.broadcast``, so these ops
never broadcast and their gradients stay elementwise.
"""

from __future__ import annotations

from abc import ABC

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import IRDLOperation, irdl_op_definition, result_def, traits_def
from xdsl.traits import Pure

from scalc.dialects.nn.base import (
    SameType,
    check_float,
    check_result_type_is,
    check_same_type,
    tensor_operand,
)


class UnaryOp(IRDLOperation, ABC):
    """``%1 = nn.<op> %0 : T``: a float function applied to each element."""

    input = tensor_operand()
    result = result_def(TensorType)

    traits = traits_def(Pure())
    custom_directives = (SameType,)
    assembly_format = "$input attr-dict `:` custom<SameType>(type(operands), type(results))"

    def __init__(self, input: SSAValue | Operation) -> None:
        value = SSAValue.get(input)
        super().__init__(operands=[value], result_types=[value.type])

    def verify_(self) -> None:
        check_float(self, "operand", self.input.type)
        check_result_type_is(self, self.result.type, self.input.type)


class BinaryOp(IRDLOperation, ABC):
    """``%2 = nn.<op> %0, %1 : T``: a float function of two equally shaped tensors."""

    lhs = tensor_operand()
    rhs = tensor_operand()
    result = result_def(TensorType)

    traits = traits_def(Pure())
    custom_directives = (SameType,)
    assembly_format = "$lhs `,` $rhs attr-dict `:` custom<SameType>(type(operands), type(results))"

    def __init__(self, lhs: SSAValue | Operation, rhs: SSAValue | Operation) -> None:
        lhs, rhs = SSAValue.get(lhs), SSAValue.get(rhs)
        super().__init__(operands=[lhs, rhs], result_types=[lhs.type])

    def verify_(self) -> None:
        check_same_type(self, lhs=self.lhs.type, rhs=self.rhs.type)
        check_float(self, "operand", self.lhs.type)
        check_result_type_is(self, self.result.type, self.lhs.type)


@irdl_op_definition
class NegOp(UnaryOp):
    """``-x``.   ``%1 = nn.neg %0 : tensor<?x256xf32>``"""

    name = "nn.neg"


@irdl_op_definition
class ReluOp(UnaryOp):
    """``max(x, 0)``.   ``%1 = nn.relu %0 : tensor<?x256xf32>``"""

    name = "nn.relu"


@irdl_op_definition
class GeluOp(UnaryOp):
    """``x * Phi(x)``, the exact erf form.   ``%1 = nn.gelu %0 : tensor<?x256xf32>``"""

    name = "nn.gelu"


@irdl_op_definition
class TanhOp(UnaryOp):
    """``tanh(x)``.   ``%1 = nn.tanh %0 : tensor<?x256xf32>``"""

    name = "nn.tanh"


@irdl_op_definition
class SigmoidOp(UnaryOp):
    """``1 / (1 + exp(-x))``.   ``%1 = nn.sigmoid %0 : tensor<?x256xf32>``"""

    name = "nn.sigmoid"


@irdl_op_definition
class ExpOp(UnaryOp):
    """``exp(x)``.   ``%1 = nn.exp %0 : tensor<?x256xf32>``"""

    name = "nn.exp"


@irdl_op_definition
class LogOp(UnaryOp):
    """Natural logarithm.   ``%1 = nn.log %0 : tensor<?x256xf32>``"""

    name = "nn.log"


@irdl_op_definition
class SqrtOp(UnaryOp):
    """Square root.   ``%1 = nn.sqrt %0 : tensor<?x256xf32>``"""

    name = "nn.sqrt"


@irdl_op_definition
class AddOp(BinaryOp):
    """``lhs + rhs``.   ``%2 = nn.add %0, %1 : tensor<?x256xf32>``"""

    name = "nn.add"


@irdl_op_definition
class SubOp(BinaryOp):
    """``lhs - rhs``.   ``%2 = nn.sub %0, %1 : tensor<?x256xf32>``"""

    name = "nn.sub"


@irdl_op_definition
class MulOp(BinaryOp):
    """``lhs * rhs``.   ``%2 = nn.mul %0, %1 : tensor<?x256xf32>``"""

    name = "nn.mul"


@irdl_op_definition
class DivOp(BinaryOp):
    """``lhs / rhs``.   ``%2 = nn.div %0, %1 : tensor<?x256xf32>``"""

    name = "nn.div"
