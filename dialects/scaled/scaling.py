"""The scaling ops of the ``scaled`` dialect (docs/scaled.md, "Scaling ops"): entering
and leaving the scaled world (``from_tensor``, ``to_tensor``), measuring a tensor
(``amax``), choosing a new scale (``rescale``), converting the data (``cast``) and the
amax history of delayed scaling (``update_history``).

Scales are run-time fp32 scalars; references and amaxes are ``tensor<f32>``.
"""

from __future__ import annotations

import math
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
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    BaseAttr,
    IRDLOperation,
    ParsePropInAttrDict,
    VarConstraint,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure

from scalc.dialects.nn.base import check_float, fail, format_shape
from scalc.dialects.scaled.types import ScaledTensorType, is_f8

SCALAR = TensorType(f32, [])
"""``tensor<f32>``: amaxes, reference magnitudes and the history's outputs."""


def check_same_shape(op: Operation, source: Attribute, result: Attribute) -> None:
    """Conversions keep the shape exactly (a ``?`` stays a ``?``)."""
    assert isinstance(source, TensorType | ScaledTensorType)
    assert isinstance(result, TensorType | ScaledTensorType)
    if source.get_shape() != result.get_shape():
        raise fail(
            op,
            f"result shape {format_shape(result.get_shape())} differs from the operand "
            f"shape {format_shape(source.get_shape())}",
        )


@irdl_op_definition
class FromTensorOp(IRDLOperation):
    """A plain float tensor as a scaled tensor with scale 1, its data rounded to the
    result's element type (f32, bf16 or f16: f8 data comes from ``scaled.cast``, which
    saturates).

    Printed as::

        %1 = scaled.from_tensor %0 : tensor<?x64xf32> -> !scaled.tensor<?x64xbf16>
    """

    name = "scaled.from_tensor"

    input = operand_def(TensorType)
    result = result_def(ScaledTensorType)

    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue | Operation, result_type: ScaledTensorType) -> None:
        super().__init__(operands=[input], result_types=[result_type])

    def verify_(self) -> None:
        check_float(self, "operand", self.input.type)
        if is_f8(self.result.type.element_type):
            raise fail(
                self, f"result has f8 data ({self.result.type}); make f8 data with scaled.cast"
            )
        check_same_shape(self, self.input.type, self.result.type)


@irdl_op_definition
class ToTensorOp(IRDLOperation):
    """The value ``data * scale`` of a scaled tensor as a plain float tensor (f32, bf16
    or f16).

    Printed as::

        %1 = scaled.to_tensor %0 : !scaled.tensor<?x10xbf16> -> tensor<?x10xf32>
    """

    name = "scaled.to_tensor"

    input = operand_def(ScaledTensorType)
    result = result_def(TensorType)

    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue | Operation, result_type: TensorType) -> None:
        super().__init__(operands=[input], result_types=[result_type])

    def verify_(self) -> None:
        check_float(self, "the result", self.result.type)
        check_same_shape(self, self.input.type, self.result.type)


@irdl_op_definition
class AmaxOp(IRDLOperation):
    """``max(abs(value))`` of a scaled tensor (its data and scale) as ``tensor<f32>``.

    Printed as::

        %1 = scaled.amax %0 : !scaled.tensor<?x64xbf16>
    """

    name = "scaled.amax"

    input = operand_def(ScaledTensorType)
    result = result_def(SCALAR)

    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input)"

    def __init__(self, input: SSAValue | Operation) -> None:
        super().__init__(operands=[input], result_types=[SCALAR])


@irdl_op_definition
class RescaleOp(IRDLOperation):
    """The same value with a new power-of-two scale chosen from the reference magnitude
    ``ref``: ``s = 2^(ceil(log2(max(ref, 1e-30) / target)) + margin)``, data
    ``value / s`` in the same element type, so that ``|data| <= target`` when ``ref``
    bounds the amax.  ``target`` > 0 is the largest data magnitude wanted (448 before an
    E4M3 cast, 1 for a unit rescale); ``margin`` >= 0 adds powers of two of headroom.

    Printed as::

        %2 = scaled.rescale %0, %1 {target = 4.480000e+02 : f64, margin = 0 : i64} :
            !scaled.tensor<?x64xbf16>
    """

    name = "scaled.rescale"

    T: ClassVar = VarConstraint("T", BaseAttr(ScaledTensorType))

    input = operand_def(T)
    ref = operand_def(SCALAR)
    result = result_def(T)
    target = prop_def(FloatAttr[Float64Type])
    margin = prop_def(IntegerAttr[I64])

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input `,` $ref attr-dict `:` type($input)"

    def __init__(
        self,
        input: SSAValue | Operation,
        ref: SSAValue | Operation,
        target: float,
        margin: int = 0,
    ) -> None:
        input = SSAValue.get(input)
        super().__init__(
            operands=[input, ref],
            result_types=[input.type],
            properties={
                "target": FloatAttr(target, Float64Type()),
                "margin": IntegerAttr(margin, i64),
            },
        )

    def verify_(self) -> None:
        target = self.target.value.data
        if not (target > 0 and math.isfinite(target)):
            raise fail(self, f"target must be positive and finite, got {target}")
        if self.margin.value.data < 0:
            raise fail(self, f"margin must be >= 0, got {self.margin.value.data}")


@irdl_op_definition
class CastOp(IRDLOperation):
    """The same scale with the data rounded to nearest even into another element type
    and saturated to its largest finite value (448 for E4M3, 57344 for E5M2; NaN stays
    NaN).  The shape is unchanged.

    Printed as::

        %1 = scaled.cast %0 : !scaled.tensor<?x64xbf16> -> !scaled.tensor<?x64xf8E4M3FN>
    """

    name = "scaled.cast"

    input = operand_def(ScaledTensorType)
    result = result_def(ScaledTensorType)

    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue | Operation, result_type: ScaledTensorType) -> None:
        super().__init__(operands=[input], result_types=[result_type])

    def verify_(self) -> None:
        check_same_shape(self, self.input.type, self.result.type)


@irdl_op_definition
class UpdateHistoryOp(IRDLOperation):
    """Delayed scaling's amax history (most recent first): ``ref = max(history)`` if that
    is positive, else ``amax`` (the first step); ``new_history = [amax, history[0], ...,
    history[-2]]``.  The history is a static ``tensor<Hxf32>``, ``H`` >= 1.

    Printed as::

        %ref, %h2 = scaled.update_history %h, %amax : tensor<16xf32>
    """

    name = "scaled.update_history"

    H: ClassVar = VarConstraint("H", BaseAttr(TensorType))

    history = operand_def(H)
    amax = operand_def(SCALAR)
    ref = result_def(SCALAR)
    new_history = result_def(H)

    traits = traits_def(Pure())
    assembly_format = "$history `,` $amax attr-dict `:` type($history)"

    def __init__(self, history: SSAValue | Operation, amax: SSAValue | Operation) -> None:
        history = SSAValue.get(history)
        super().__init__(operands=[history, amax], result_types=[SCALAR, history.type])

    def verify_(self) -> None:
        history = self.history.type
        assert isinstance(history, TensorType)
        shape = history.get_shape()
        if history.get_element_type() != f32 or len(shape) != 1 or shape[0] in (0, DYNAMIC_INDEX):
            raise fail(self, f"history must be a static tensor<Hxf32> with H >= 1, got {history}")


SCALING_OPS: tuple[type[IRDLOperation], ...] = (
    FromTensorOp,
    ToTensorOp,
    AmaxOp,
    RescaleOp,
    CastOp,
    UpdateHistoryOp,
)
"""The ops of the dialect that are not mirrors of ``nn`` ops."""
