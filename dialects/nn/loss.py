"""Training losses."""

from __future__ import annotations

from xdsl.dialects.builtin import TensorType, f32
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import IRDLOperation, irdl_op_definition, result_def, traits_def
from xdsl.traits import Pure

from scalc.dialects.nn.base import (
    check_float,
    check_index,
    check_result,
    fail,
    format_shape,
    shapes_compatible,
    tensor_operand,
)


@irdl_op_definition
class CrossEntropyOp(IRDLOperation):
    """Softmax cross-entropy with integer labels, averaged over every position:
    ``mean(logsumexp(logits[..., :]) - logits[..., label])``.  The class axis is the
    last one; ``labels`` has the logits' shape without it.  The loss is an f32 scalar
    whatever the logits' element type, since it is accumulated in fp32.

    Printed as::

        %2 = nn.cross_entropy %0, %1 : (tensor<?x?x65xf32>, tensor<?x?xi32>) -> tensor<f32>
    """

    name = "nn.cross_entropy"

    logits = tensor_operand()
    labels = tensor_operand()
    result = result_def(TensorType)

    traits = traits_def(Pure())
    assembly_format = "$logits `,` $labels attr-dict `:` functional-type(operands, results)"

    def __init__(self, logits: SSAValue | Operation, labels: SSAValue | Operation) -> None:
        super().__init__(operands=[logits, labels], result_types=[TensorType(f32, [])])

    def verify_(self) -> None:
        check_logits_and_labels(self, self.logits.type, self.labels.type)
        check_result(self, self.result.type, (), f32)


def check_logits_and_labels(op: Operation, logits: TensorType, labels: TensorType) -> None:
    """Float ``logits[..., C]`` (classes on the last axis) and integer ``labels[...]``."""
    check_float(op, "logits", logits)
    check_index(op, "labels", labels)
    logits_shape, labels_shape = logits.get_shape(), labels.get_shape()
    if not logits_shape:
        raise fail(op, f"logits need a class axis, got {logits}")
    if not shapes_compatible(labels_shape, logits_shape[:-1]):
        raise fail(
            op,
            f"labels shape {format_shape(labels_shape)} must be the logits shape "
            f"{format_shape(logits_shape)} without the class axis: "
            f"{format_shape(logits_shape[:-1])}",
        )
