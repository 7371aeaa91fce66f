"""Optimizer updates (docs/train.md): one op per parameter and step, with PyTorch's
semantics, so that ``@optimizer_step`` is a list of these between reads and writes of
the parameters and their state.

Every tensor operand and result has the parameter's type, which is printed once
(``: tensor<64x256xf32>``); the learning rate ``lr`` and the step ``t`` are
``tensor<f32>`` scalars.  Hyper-parameters are f64 properties, checked against the
ranges PyTorch accepts.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, cast

from xdsl.dialects.builtin import (
    BoolAttr,
    Float64Type,
    FloatAttr,
    IntegerAttr,
    TensorType,
    f32,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.irdl.declarative_assembly_format import (
    CustomDirective,
    ParsingState,
    PrintingState,
    TypeDirective,
    irdl_custom_directive,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import Pure

from scalc.dialects.nn.base import (
    check_float,
    check_result_type_is,
    check_same_type,
    fail,
    tensor_operand,
)

SCALAR = TensorType(f32, [])
"""The type of ``lr`` and ``t``."""


@dataclass(frozen=True)
class Range:
    """The values a hyper-parameter may take, as written in messages (``[0, 1)``)."""

    text: str
    contains: Callable[[float], bool]


# Written so that NaN is outside every range.
NON_NEGATIVE = Range("[0, inf)", lambda v: v >= 0)
POSITIVE = Range("(0, inf)", lambda v: v > 0)
BETA = Range("[0, 1)", lambda v: 0 <= v < 1)


class OptimizerOp(IRDLOperation, ABC):
    """``%w2, ... = nn.<op> %w, %g, <state>..., %lr [, %t] {<hyper-parameters>} : W``.

    Subclasses declare the tensor operands (the parameter ``w``, its gradient ``g``, then
    its state), the ``SCALARS`` operands after them, one result per tensor operand but
    ``g`` (the new parameter and state), and the ``HYPERPARAMETERS`` with their ranges.
    """

    SCALARS: ClassVar[tuple[str, ...]]
    """The ``tensor<f32>`` operands: ``lr``, ``t``."""
    HYPERPARAMETERS: ClassVar[dict[str, Range]]
    """The f64 properties and the values each may take."""

    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)

    def verify_(self) -> None:
        names = [name for name, _ in self.get_irdl_definition().operands]
        # An absent optional operand (``v_lo`` of `nn.adamw_delta`) reads as None.
        present = {name: getattr(self, name) for name in names}
        operands = {name: value for name, value in present.items() if value is not None}
        tensors = {n: v.type for n, v in operands.items() if n not in self.SCALARS}
        check_same_type(self, **tensors)
        param = cast(TensorType[Attribute], operands["w"].type)
        check_float(self, "the parameter", param)
        for name in self.SCALARS:
            if operands[name].type != SCALAR:
                raise fail(self, f"{name} must be {SCALAR}, got {operands[name].type}")
        for result in self.results:
            check_result_type_is(self, result.type, param, "parameter")
        for name, allowed in self.HYPERPARAMETERS.items():
            value = cast(FloatAttr, self.properties[name]).value.data
            if not allowed.contains(value):
                raise fail(self, f"{name} must be in {allowed.text}, got {value}")


def _hyperparameters(**values: float) -> dict[str, Attribute]:
    return {name: FloatAttr(value, Float64Type()) for name, value in values.items()}


@irdl_custom_directive
class ParamType(CustomDirective):
    """``: W`` for an `OptimizerOp`: W is the type of every tensor operand and result;
    the ``SCALARS`` operands are ``tensor<f32>``.  The verifier checks that the types
    really are so; IR that breaks this is written in the generic form.
    """

    operands: TypeDirective
    results: TypeDirective

    def parse(self, parser: Parser, state: ParsingState) -> None:
        param = parser.parse_type()
        op_type = cast(type[OptimizerOp], state.op_type)
        names = [name for name, _ in op_type.get_irdl_definition().operands]
        # The operands are parsed already; an optional one may be absent (no values).
        parsed = [(name, len(values or ())) for name, values in zip(names, state.operands)]
        types = [SCALAR if n in op_type.SCALARS else param for n, k in parsed for _ in range(k)]
        self.operands.set(state, types)
        # One result per tensor operand but the gradient ``g``.
        tensors = sum(k for n, k in parsed if n not in op_type.SCALARS)
        self.results.set(state, [param] * (tensors - 1))

    def print(self, printer: Printer, state: PrintingState, op: Operation) -> None:
        state.print_whitespace(printer)
        printer.print_attribute(op.operands[0].type)


_PARAM_TYPE = "attr-dict `:` custom<ParamType>(type(operands), type(results))"


@irdl_op_definition
class SgdOp(OptimizerOp):
    """PyTorch ``SGD`` with momentum (no dampening), with ``d`` the step direction::

        g += weight_decay * w;  buf = momentum * buf + g
        d = g + momentum * buf if nesterov else buf;  w -= lr * d

    Nesterov momentum needs ``momentum`` > 0.  With ``momentum = 0`` the buffer is
    unused and ``d = g``.  Printed as::

        %w2, %buf2 = nn.sgd %w, %g, %buf, %lr {momentum = 9.000000e-01 : f64,
            weight_decay = 0.000000e+00 : f64, nesterov = false} : tensor<64x256xf32>
    """

    name = "nn.sgd"
    SCALARS: ClassVar[tuple[str, ...]] = ("lr",)
    HYPERPARAMETERS: ClassVar[dict[str, Range]] = {
        "momentum": NON_NEGATIVE,
        "weight_decay": NON_NEGATIVE,
    }

    w = tensor_operand()
    g = tensor_operand()
    buf = tensor_operand()
    lr = tensor_operand()
    new_w = result_def(TensorType)
    new_buf = result_def(TensorType)
    momentum = prop_def(FloatAttr[Float64Type])
    weight_decay = prop_def(FloatAttr[Float64Type])
    nesterov = prop_def(BoolAttr)

    custom_directives = (ParamType,)
    assembly_format = "$w `,` $g `,` $buf `,` $lr " + _PARAM_TYPE

    def __init__(
        self,
        w: SSAValue | Operation,
        g: SSAValue | Operation,
        buf: SSAValue | Operation,
        lr: SSAValue | Operation,
        *,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        w = SSAValue.get(w)
        properties = _hyperparameters(momentum=momentum, weight_decay=weight_decay)
        properties["nesterov"] = IntegerAttr.from_bool(nesterov)
        super().__init__(
            operands=[w, g, buf, lr], result_types=[w.type, w.type], properties=properties
        )

    def verify_(self) -> None:
        super().verify_()
        if self.nesterov.value.data and not self.momentum.value.data > 0:
            raise fail(self, "nesterov needs momentum > 0")


@irdl_op_definition
class AdamWOp(OptimizerOp):
    """PyTorch ``AdamW`` (decoupled weight decay); ``t`` is the 1-based step::

        w *= 1 - lr * weight_decay
        m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
        w -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)

    Printed as::

        %w2, %m2, %v2 = nn.adamw %w, %g, %m, %v, %lr, %t {beta1 = 9.000000e-01 : f64,
            beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64,
            weight_decay = 1.000000e-02 : f64} : tensor<64x256xf32>
    """

    name = "nn.adamw"
    SCALARS: ClassVar[tuple[str, ...]] = ("lr", "t")
    HYPERPARAMETERS: ClassVar[dict[str, Range]] = {
        "beta1": BETA,
        "beta2": BETA,
        "eps": POSITIVE,
        "weight_decay": NON_NEGATIVE,
    }

    w = tensor_operand()
    g = tensor_operand()
    m = tensor_operand()
    v = tensor_operand()
    lr = tensor_operand()
    t = tensor_operand()
    new_w = result_def(TensorType)
    new_m = result_def(TensorType)
    new_v = result_def(TensorType)
    beta1 = prop_def(FloatAttr[Float64Type])
    beta2 = prop_def(FloatAttr[Float64Type])
    eps = prop_def(FloatAttr[Float64Type])
    weight_decay = prop_def(FloatAttr[Float64Type])

    custom_directives = (ParamType,)
    assembly_format = "$w `,` $g `,` $m `,` $v `,` $lr `,` $t " + _PARAM_TYPE

    def __init__(
        self,
        w: SSAValue | Operation,
        g: SSAValue | Operation,
        m: SSAValue | Operation,
        v: SSAValue | Operation,
        lr: SSAValue | Operation,
        t: SSAValue | Operation,
        *,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        w = SSAValue.get(w)
        properties = _hyperparameters(beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)
        super().__init__(
            operands=[w, g, m, v, lr, t], result_types=[w.type] * 3, properties=properties
        )
