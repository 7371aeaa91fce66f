"""Gradient ops of the backward graph (docs/train.md): where the gradient of an ``nn``
op is not a composition of other ``nn`` ops, it is one op here.

``dy`` is the gradient flowing into the forward op's result; each op returns the
gradient of one forward operand (``nn.layernorm_grad``: of x, gamma and beta), with the
type of that operand.  Every gradient is a float tensor.  The gradients of reductions and
shape ops, which spread ``dy`` back to the operand's shape, are in ``shape_grads.py``.
"""

from __future__ import annotations

from abc import ABC
from typing import ClassVar

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    I64,
    Float64Type,
    FloatAttr,
    IntegerAttr,
    TensorType,
    f32,
    i64,
)
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
    check_element_type_kept,
    check_float,
    check_index,
    check_result_type_is,
    check_same_type,
    fail,
    format_shape,
    shapes_compatible,
    tensor_operand,
)
from scalc.dialects.nn.layers import check_attention_scores, check_layernorm_operands
from scalc.dialects.nn.loss import check_logits_and_labels

_SAME_TYPE = "attr-dict `:` custom<SameType>(type(operands), type(results))"


class ElementwiseGradOp(IRDLOperation, ABC):
    """``%dx = nn.<op>_grad %v, %dy : T``: ``dy`` times the derivative of an elementwise
    op, written in terms of ``v``, which is the forward operand ``x`` or result ``y``
    (whichever gives the cheaper formula).  ``v``, ``dy`` and ``dx`` have one float type.
    """

    VALUE: ClassVar[str]
    """What ``value`` is: the forward operand ``x`` or the forward result ``y``."""

    value = tensor_operand()
    dy = tensor_operand()
    result = result_def(TensorType)

    traits = traits_def(Pure())
    custom_directives = (SameType,)
    assembly_format = "$value `,` $dy " + _SAME_TYPE

    def __init__(self, value: SSAValue | Operation, dy: SSAValue | Operation) -> None:
        dy = SSAValue.get(dy)
        super().__init__(operands=[value, dy], result_types=[dy.type])

    def verify_(self) -> None:
        check_same_type(self, **{self.VALUE: self.value.type, "dy": self.dy.type})
        check_float(self, "operand", self.dy.type)
        check_result_type_is(self, self.result.type, self.dy.type, "dy")


@irdl_op_definition
class ReluGradOp(ElementwiseGradOp):
    """``dy * (x > 0)``, from the forward operand ``x``.
    ``%dx = nn.relu_grad %x, %dy : tensor<?x256xf32>``"""

    name = "nn.relu_grad"
    VALUE: ClassVar[str] = "x"


@irdl_op_definition
class GeluGradOp(ElementwiseGradOp):
    """``dy * (Phi(x) + x * phi(x))`` (exact erf GELU), from the forward operand ``x``.
    ``%dx = nn.gelu_grad %x, %dy : tensor<?x256xf32>``"""

    name = "nn.gelu_grad"
    VALUE: ClassVar[str] = "x"


@irdl_op_definition
class TanhGradOp(ElementwiseGradOp):
    """``dy * (1 - y^2)``, from the forward result ``y``.
    ``%dx = nn.tanh_grad %y, %dy : tensor<?x256xf32>``"""

    name = "nn.tanh_grad"
    VALUE: ClassVar[str] = "y"


@irdl_op_definition
class SigmoidGradOp(ElementwiseGradOp):
    """``dy * y * (1 - y)``, from the forward result ``y``.
    ``%dx = nn.sigmoid_grad %y, %dy : tensor<?x256xf32>``"""

    name = "nn.sigmoid_grad"
    VALUE: ClassVar[str] = "y"


@irdl_op_definition
class SqrtGradOp(ElementwiseGradOp):
    """``dy / (2 y)``, from the forward result ``y``.
    ``%dx = nn.sqrt_grad %y, %dy : tensor<?x256xf32>``"""

    name = "nn.sqrt_grad"
    VALUE: ClassVar[str] = "y"


@irdl_op_definition
class SoftmaxGradOp(IRDLOperation):
    """``y * (dy - sum(dy * y, axis, keepdims))``, from the softmax result ``y``.

    Printed as::

        %dx = nn.softmax_grad %y, %dy axis 3 : tensor<?x4x?x?xf32>
    """

    name = "nn.softmax_grad"

    y = tensor_operand()
    dy = tensor_operand()
    result = result_def(TensorType)
    axis = prop_def(IntegerAttr[I64])

    traits = traits_def(Pure())
    custom_directives = (SameType,)
    assembly_format = "$y `,` $dy `axis` $axis " + _SAME_TYPE

    def __init__(self, y: SSAValue | Operation, dy: SSAValue | Operation, axis: int) -> None:
        dy = SSAValue.get(dy)
        super().__init__(
            operands=[y, dy], result_types=[dy.type], properties={"axis": IntegerAttr(axis, i64)}
        )

    def verify_(self) -> None:
        check_same_type(self, y=self.y.type, dy=self.dy.type)
        check_float(self, "operand", self.dy.type)
        check_axis(self, self.axis.value.data, len(self.dy.type.get_shape()))
        check_result_type_is(self, self.result.type, self.dy.type, "dy")


@irdl_op_definition
class LayerNormGradOp(IRDLOperation):
    """The gradients of ``nn.layernorm`` with respect to ``x``, ``gamma`` and ``beta``,
    recomputing the normalisation from ``x``, ``gamma`` and ``eps``.

    Printed as::

        %dx, %dg, %db = nn.layernorm_grad %x, %g, %dy {eps = 1.000000e-05 : f64} :
            (tensor<?x?x128xf32>, tensor<128xf32>, tensor<?x?x128xf32>)
            -> (tensor<?x?x128xf32>, tensor<128xf32>, tensor<128xf32>)
    """

    name = "nn.layernorm_grad"

    x = tensor_operand()
    gamma = tensor_operand()
    dy = tensor_operand()
    dx = result_def(TensorType)
    dgamma = result_def(TensorType)
    dbeta = result_def(TensorType)
    eps = prop_def(FloatAttr[Float64Type])

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$x `,` $gamma `,` $dy attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        x: SSAValue | Operation,
        gamma: SSAValue | Operation,
        dy: SSAValue | Operation,
        eps: float,
    ) -> None:
        x, gamma = SSAValue.get(x), SSAValue.get(gamma)
        super().__init__(
            operands=[x, gamma, dy],
            result_types=[x.type, gamma.type, gamma.type],
            properties={"eps": FloatAttr(eps, Float64Type())},
        )

    def verify_(self) -> None:
        check_layernorm_operands(self, self.x.type, {"gamma": self.gamma.type}, self.eps)
        check_same_type(self, x=self.x.type, dy=self.dy.type)
        expected = {"dx": self.x.type, "dgamma": self.gamma.type, "dbeta": self.gamma.type}
        for role, result in zip(expected, self.results, strict=True):
            if result.type != expected[role]:
                raise fail(self, f"{role} has type {result.type}, expected {expected[role]}")


@irdl_op_definition
class EmbeddingGradOp(IRDLOperation):
    """The gradient of the ``[V, D]`` table of ``nn.embedding``: zeros, with each row
    ``dy[..., :]`` added into row ``ids[...]``.  ``dy`` has shape ``ids.shape + [D]``.

    Printed as::

        %dt = nn.embedding_grad %ids, %dy : (tensor<?x?xi32>, tensor<?x?x128xf32>)
            -> tensor<65x128xf32>
    """

    name = "nn.embedding_grad"

    ids = tensor_operand()
    dy = tensor_operand()
    result = result_def(TensorType)

    traits = traits_def(Pure())
    assembly_format = "$ids `,` $dy attr-dict `:` functional-type(operands, results)"

    def __init__(
        self, ids: SSAValue | Operation, dy: SSAValue | Operation, result_type: TensorType
    ) -> None:
        super().__init__(operands=[ids, dy], result_types=[result_type])

    def verify_(self) -> None:
        check_index(self, "ids", self.ids.type)
        check_float(self, "dy", self.dy.type)
        table = self.result.type.get_shape()
        if len(table) != 2 or DYNAMIC_INDEX in table:
            raise fail(self, f"the result must be a static [V, D] table, got {self.result.type}")
        expected = (*self.ids.type.get_shape(), table[1])
        if not shapes_compatible(self.dy.type.get_shape(), expected):
            raise fail(
                self,
                f"dy shape {format_shape(self.dy.type.get_shape())} must be the ids shape "
                f"plus [D] = [{table[1]}]: {format_shape(expected)}",
            )
        check_element_type_kept(self, self.dy.type, self.result.type, "dy")


@irdl_op_definition
class CrossEntropyGradOp(IRDLOperation):
    """The gradient of ``nn.cross_entropy`` with respect to the logits:
    ``dloss * (softmax(logits) - onehot(labels)) / N``, ``N`` the number of positions.

    Printed as::

        %dl = nn.cross_entropy_grad %logits, %labels, %dloss :
            (tensor<?x65xf32>, tensor<?xi32>, tensor<f32>) -> tensor<?x65xf32>
    """

    name = "nn.cross_entropy_grad"

    logits = tensor_operand()
    labels = tensor_operand()
    dloss = tensor_operand()
    result = result_def(TensorType)

    traits = traits_def(Pure())
    assembly_format = (
        "$logits `,` $labels `,` $dloss attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        logits: SSAValue | Operation,
        labels: SSAValue | Operation,
        dloss: SSAValue | Operation,
    ) -> None:
        logits = SSAValue.get(logits)
        super().__init__(operands=[logits, labels, dloss], result_types=[logits.type])

    def verify_(self) -> None:
        check_logits_and_labels(self, self.logits.type, self.labels.type)
        if self.dloss.type != TensorType(f32, []):
            raise fail(self, f"dloss must be tensor<f32> like the loss, got {self.dloss.type}")
        check_result_type_is(self, self.result.type, self.logits.type, "logits")


@irdl_op_definition
class CausalMaskGradOp(IRDLOperation):
    """``dy`` with entries ``[..., i, j]``, ``j > i``, set to 0: the masked scores do
    not depend on the input.

    Printed as::

        %dx = nn.causal_mask_grad %dy : tensor<?x4x?x?xf32>
    """

    name = "nn.causal_mask_grad"

    dy = tensor_operand()
    result = result_def(TensorType)

    traits = traits_def(Pure())
    custom_directives = (SameType,)
    assembly_format = "$dy " + _SAME_TYPE

    def __init__(self, dy: SSAValue | Operation) -> None:
        dy = SSAValue.get(dy)
        super().__init__(operands=[dy], result_types=[dy.type])

    def verify_(self) -> None:
        check_attention_scores(self, self.dy.type)
        check_result_type_is(self, self.result.type, self.dy.type, "dy")
