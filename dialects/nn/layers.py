"""Composite layers kept as single ops, so that their gradients and scale rules stay
exact: softmax, layer normalisation, embedding lookup and the causal attention mask."""

from __future__ import annotations

from xdsl.dialects.builtin import I64, Float64Type, FloatAttr, IntegerAttr, TensorType, i64
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure

from scalc.dialects.nn.base import (
    SameType,
    check_axis,
    check_float,
    check_index,
    check_result,
    check_result_type_is,
    fail,
    format_shape,
    format_size,
    shapes_compatible,
    sizes_compatible,
    tensor_operand,
)


@irdl_op_definition
class SoftmaxOp(IRDLOperation):
    """``exp(x - max(x)) / sum(exp(x - max(x)))`` along ``axis``.

    Printed as::

        %1 = nn.softmax %0 axis 3 : tensor<?x4x?x?xf32>
    """

    name = "nn.softmax"

    input = tensor_operand()
    result = result_def(TensorType)
    axis = prop_def(IntegerAttr[I64])

    traits = traits_def(Pure())
    custom_directives = (SameType,)
    assembly_format = (
        "$input `axis` $axis attr-dict `:` custom<SameType>(type(operands), type(results))"
    )

    def __init__(self, input: SSAValue | Operation, axis: int) -> None:
        value = SSAValue.get(input)
        super().__init__(
            operands=[value],
            result_types=[value.type],
            properties={"axis": IntegerAttr(axis, i64)},
        )

    def verify_(self) -> None:
        check_float(self, "operand", self.input.type)
        check_axis(self, self.axis.value.data, len(self.input.type.get_shape()))
        check_result_type_is(self, self.result.type, self.input.type)


@irdl_op_definition
class LayerNormOp(IRDLOperation):
    """Normalises over the last axis, then scales by ``gamma`` and shifts by ``beta``
    (both of shape ``[D]`` for a last axis of size ``D``):
    ``(x - mean) / sqrt(var + eps) * gamma + beta``.

    Printed as::

        %3 = nn.layernorm %0, %1, %2 {eps = 1.000000e-05 : f64} : (tensor<?x?x128xf32>,
             tensor<128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    """

    name = "nn.layernorm"

    input = tensor_operand()
    gamma = tensor_operand()
    beta = tensor_operand()
    result = result_def(TensorType)
    eps = prop_def(FloatAttr[Float64Type])

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input `,` $gamma `,` $beta attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        input: SSAValue | Operation,
        gamma: SSAValue | Operation,
        beta: SSAValue | Operation,
        eps: float,
    ) -> None:
        value = SSAValue.get(input)
        super().__init__(
            operands=[value, gamma, beta],
            result_types=[value.type],
            properties={"eps": FloatAttr(eps, Float64Type())},
        )

    def verify_(self) -> None:
        check_layernorm_operands(
            self, self.input.type, {"gamma": self.gamma.type, "beta": self.beta.type}, self.eps
        )
        check_result_type_is(self, self.result.type, self.input.type, "input")


def check_layernorm_operands(
    op: Operation, input: TensorType, params: dict[str, TensorType], eps: FloatAttr[Float64Type]
) -> None:
    """What ``nn.layernorm`` and its gradient require: a float input of rank >= 1, the
    ``params`` (``gamma``, ``beta``) of shape ``[D]`` for a last axis of size ``D`` with the
    input's element type, and ``eps`` > 0."""
    check_float(op, "input", input)
    shape = input.get_shape()
    if not shape:
        raise fail(op, f"needs rank >= 1, got {input}")
    element = input.get_element_type()
    for role, param in params.items():
        if param.get_element_type() != element or not shapes_compatible(
            param.get_shape(), shape[-1:]
        ):
            raise fail(
                op,
                f"{role} must be a {format_shape(shape[-1:])} tensor of {element} "
                f"(the last axis of the input), got {param}",
            )
    if not eps.value.data > 0:
        raise fail(op, f"eps must be positive, got {eps.value.data}")


@irdl_op_definition
class EmbeddingOp(IRDLOperation):
    """Gathers rows of ``table[V, D]``: ``out[..., :] = table[ids[...], :]``.

    Printed as::

        %2 = nn.embedding %0, %1 : (tensor<65x128xf32>, tensor<?x?xi32>) -> tensor<?x?x128xf32>
    """

    name = "nn.embedding"

    table = tensor_operand()
    ids = tensor_operand()
    result = result_def(TensorType)

    traits = traits_def(Pure())
    assembly_format = "$table `,` $ids attr-dict `:` functional-type(operands, results)"

    def __init__(
        self, table: SSAValue | Operation, ids: SSAValue | Operation, result_type: TensorType
    ) -> None:
        super().__init__(operands=[table, ids], result_types=[result_type])

    def verify_(self) -> None:
        check_float(self, "table", self.table.type)
        check_index(self, "ids", self.ids.type)
        table_shape = self.table.type.get_shape()
        if len(table_shape) != 2:
            raise fail(self, f"table must have rank 2 [V, D], got {self.table.type}")
        expected = (*self.ids.type.get_shape(), table_shape[1])
        check_result(self, self.result.type, expected, self.table.type.get_element_type())


@irdl_op_definition
class CausalMaskOp(IRDLOperation):
    """Sets entries ``[..., i, j]`` with ``j > i`` to ``-inf``; the last two axes are
    the (square) query and key axes of attention scores.

    Printed as::

        %1 = nn.causal_mask %0 : tensor<?x4x?x?xf32>
    """

    name = "nn.causal_mask"

    input = tensor_operand()
    result = result_def(TensorType)

    traits = traits_def(Pure())
    custom_directives = (SameType,)
    assembly_format = "$input attr-dict `:` custom<SameType>(type(operands), type(results))"

    def __init__(self, input: SSAValue | Operation) -> None:
        value = SSAValue.get(input)
        super().__init__(operands=[value], result_types=[value.type])

    def verify_(self) -> None:
        check_attention_scores(self, self.input.type)
        check_result_type_is(self, self.result.type, self.input.type)


def check_attention_scores(op: Operation, scores: TensorType) -> None:
    """The operand of ``nn.causal_mask`` and its gradient: float ``[..., T, T]``."""
    check_float(op, "operand", scores)
    shape = scores.get_shape()
    if len(shape) < 2:
        raise fail(op, f"needs rank >= 2, got {scores}")
    if not sizes_compatible(shape[-2], shape[-1]):
        raise fail(
            op,
            f"the last two axes must be square, got {format_size(shape[-2])} "
            f"x {format_size(shape[-1])}",
        )
