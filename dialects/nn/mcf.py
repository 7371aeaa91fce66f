"""Low-precision optimizer arithmetic (docs/collage.md, NUMERICS.md §6): multi-component
floats (an MCF is the unevaluated sum ``hi + lo`` of two bf16 numbers), the intended
updates ``Δ`` of SGD and AdamW computed in a chosen precision, and the statistics that
say how much of ``Δ`` the stored weights really received.

``nn.fast2sum`` and ``nn.grow`` take and give values of one type, bf16 or f32, printed
once (``: tensor<4xbf16>``).  ``nn.sgd_delta`` and ``nn.adamw_delta`` are written like
``nn.sgd`` / ``nn.adamw`` (`OptimizerOp`) plus ``precision``: ``"f32"`` or ``"bf16"``,
which must be the element type of their tensors.  These ops are not forward ops: they
appear only in ``@optimizer_step`` and have no gradient rule.
"""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import (
    BFloat16Type,
    BoolAttr,
    Float32Type,
    Float64Type,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    UnitAttr,
    f32,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    opt_operand_def,
    opt_prop_def,
    opt_result_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure

from scalc.dialects.nn.base import (
    SameType,
    check_float,
    check_result,
    check_result_type_is,
    check_same_type,
    fail,
    shapes_compatible,
    tensor_operand,
)
from scalc.dialects.nn.optim import (
    _PARAM_TYPE,
    AdamWOp,
    OptimizerOp,
    ParamType,
    Range,
    SgdOp,
    _hyperparameters,
)

PRECISIONS: dict[str, type[Attribute]] = {"f32": Float32Type, "bf16": BFloat16Type}
"""``precision`` of the delta ops -> the element type their tensors must have."""

_SAME_TYPE = "attr-dict `:` custom<SameType>(type(operands), type(results))"


def check_mcf_type(op: Operation, value_type: TensorType) -> None:
    """MCF arithmetic is defined for bf16 (Collage) and f32 components."""
    element = value_type.get_element_type()
    if not isinstance(element, (BFloat16Type, Float32Type)):
        raise fail(op, f"operands must have element type bf16 or f32, got {element}")


class MCFOp(IRDLOperation):
    """``%r0, %r1 = nn.<op> %x, ... : T``: operands and results all of type T."""

    traits = traits_def(Pure())
    custom_directives = (SameType,)

    def verify_(self) -> None:
        names = [name for name, _ in self.get_irdl_definition().operands]
        check_same_type(self, **{n: v.type for n, v in zip(names, self.operands, strict=True)})
        value_type = self.operands[0].type
        assert isinstance(value_type, TensorType)
        check_mcf_type(self, value_type)
        for result in self.results:
            check_result_type_is(self, result.type, value_type)


@irdl_op_definition
class Fast2SumOp(MCFOp):
    """The error-free sum of ``a`` and ``b``, rounding each step to the element type::

        s = round(a + b);  e = round(b - round(s - a))

    When ``|a| >= |b|`` (or ``a = 0``) and nothing overflows, ``s + e == a + b`` exactly
    and ``|e| <= ulp(s)/2``.  Printed as::

        %s, %e = nn.fast2sum %a, %b : tensor<4xbf16>
    """

    name = "nn.fast2sum"

    a = tensor_operand()
    b = tensor_operand()
    s = result_def(TensorType)
    e = result_def(TensorType)

    assembly_format = "$a `,` $b " + _SAME_TYPE

    def __init__(self, a: SSAValue | Operation, b: SSAValue | Operation) -> None:
        a = SSAValue.get(a)
        super().__init__(operands=[a, b], result_types=[a.type, a.type])


@irdl_op_definition
class GrowOp(MCFOp):
    """Adds ``b`` to the MCF ``hi + lo`` (Collage's ``Grow``)::

        (s, e) = Fast2Sum(hi, b);  lo' = round(lo + e);  (hi', lo') = Fast2Sum(s, lo')

    Exact when ``|hi| >= |b|``, ``|lo| <= ulp(hi)/2`` and ``hi + lo + b`` fits the MCF.
    Printed as::

        %hi2, %lo2 = nn.grow %hi, %lo, %b : tensor<4xbf16>
    """

    name = "nn.grow"

    hi = tensor_operand()
    lo = tensor_operand()
    b = tensor_operand()
    new_hi = result_def(TensorType)
    new_lo = result_def(TensorType)

    assembly_format = "$hi `,` $lo `,` $b " + _SAME_TYPE

    def __init__(
        self, hi: SSAValue | Operation, lo: SSAValue | Operation, b: SSAValue | Operation
    ) -> None:
        hi = SSAValue.get(hi)
        super().__init__(operands=[hi, lo, b], result_types=[hi.type, hi.type])


class DeltaOp(OptimizerOp):
    """An optimizer's intended update ``Δ`` (the new weight is ``w - Δ``) and its new
    state, computed in ``precision``; the tensors have that element type."""

    custom_directives = (ParamType,)

    def verify_(self) -> None:
        super().verify_()
        precision = self.properties["precision"]
        assert isinstance(precision, StringAttr)
        if precision.data not in PRECISIONS:
            raise fail(self, f'precision must be "f32" or "bf16", got "{precision.data}"')
        param = self.operands[0].type
        assert isinstance(param, TensorType)
        if not isinstance(param.get_element_type(), PRECISIONS[precision.data]):
            raise fail(
                self, f'precision "{precision.data}" needs {precision.data} tensors, got {param}'
            )


@irdl_op_definition
class SgdDeltaOp(DeltaOp):
    """The update of PyTorch ``SGD`` (`nn.sgd`) without applying it::

        g' = g + weight_decay * w;  buf' = momentum * buf + g'
        Δ = lr * (g' + momentum * buf' if nesterov else buf')

    With ``momentum = 0`` the buffer is returned unchanged and ``Δ = lr * g'``.
    Printed as::

        %d, %buf2 = nn.sgd_delta %w, %g, %buf, %lr {momentum = 9.000000e-01 : f64,
            weight_decay = 0.000000e+00 : f64, nesterov = false, precision = "bf16"}
            : tensor<4xbf16>
    """

    name = "nn.sgd_delta"
    SCALARS: ClassVar[tuple[str, ...]] = SgdOp.SCALARS
    HYPERPARAMETERS: ClassVar[dict[str, Range]] = SgdOp.HYPERPARAMETERS

    w = tensor_operand()
    g = tensor_operand()
    buf = tensor_operand()
    lr = tensor_operand()
    delta = result_def(TensorType)
    new_buf = result_def(TensorType)
    momentum = prop_def(FloatAttr[Float64Type])
    weight_decay = prop_def(FloatAttr[Float64Type])
    nesterov = prop_def(BoolAttr)
    precision = prop_def(StringAttr)

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
        precision: str = "f32",
    ) -> None:
        w = SSAValue.get(w)
        properties = _hyperparameters(momentum=momentum, weight_decay=weight_decay)
        properties["nesterov"] = IntegerAttr.from_bool(nesterov)
        properties["precision"] = StringAttr(precision)
        super().__init__(
            operands=[w, g, buf, lr], result_types=[w.type, w.type], properties=properties
        )

    def verify_(self) -> None:
        super().verify_()
        if self.nesterov.value.data and not self.momentum.value.data > 0:
            raise fail(self, "nesterov needs momentum > 0")


@irdl_op_definition
class AdamWDeltaOp(DeltaOp):
    """The update of PyTorch ``AdamW`` (`nn.adamw`) without applying it; ``t`` is the
    1-based step::

        m' = beta1 m + (1 - beta1) g;  v' = beta2 v + (1 - beta2) g^2
        Δ = lr wd w + lr (m' / (1 - beta1^t)) / (sqrt(v' / (1 - beta2^t)) + eps)

    With the unit attribute ``mcf_v`` the second moment is the MCF ``v + v_lo``: the
    operand ``%v_lo`` follows ``%v`` and the result ``%v_lo2`` follows ``%v2``; ``v`` is
    updated with `GrowOp` (docs/collage.md).  Printed as::

        %d, %m2, %v2 = nn.adamw_delta %w, %g, %m, %v, %lr, %t {beta1 = 9.000000e-01 : f64,
            beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64,
            weight_decay = 1.000000e-02 : f64, precision = "bf16"} : tensor<4xbf16>
        %d, %m2, %v2, %v_lo2 = nn.adamw_delta %w, %g, %m, %v, %v_lo, %lr, %t {...,
            precision = "bf16", mcf_v} : tensor<4xbf16>
    """

    name = "nn.adamw_delta"
    SCALARS: ClassVar[tuple[str, ...]] = AdamWOp.SCALARS
    HYPERPARAMETERS: ClassVar[dict[str, Range]] = AdamWOp.HYPERPARAMETERS

    w = tensor_operand()
    g = tensor_operand()
    m = tensor_operand()
    v = tensor_operand()
    v_lo = opt_operand_def(TensorType)
    lr = tensor_operand()
    t = tensor_operand()
    delta = result_def(TensorType)
    new_m = result_def(TensorType)
    new_v = result_def(TensorType)
    new_v_lo = opt_result_def(TensorType)
    beta1 = prop_def(FloatAttr[Float64Type])
    beta2 = prop_def(FloatAttr[Float64Type])
    eps = prop_def(FloatAttr[Float64Type])
    weight_decay = prop_def(FloatAttr[Float64Type])
    precision = prop_def(StringAttr)
    mcf_v = opt_prop_def(UnitAttr)

    # ``operands``: 6 or 7 values, the seventh being ``v_lo`` (a ``(`,` $v_lo^)?`` group
    # would take ``%lr`` for ``v_lo``).
    assembly_format = "operands " + _PARAM_TYPE

    def __init__(
        self,
        w: SSAValue | Operation,
        g: SSAValue | Operation,
        m: SSAValue | Operation,
        v: SSAValue | Operation,
        lr: SSAValue | Operation,
        t: SSAValue | Operation,
        *,
        v_lo: SSAValue | Operation | None = None,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        precision: str = "f32",
    ) -> None:
        w = SSAValue.get(w)
        properties = _hyperparameters(beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)
        properties["precision"] = StringAttr(precision)
        if v_lo is not None:
            properties["mcf_v"] = UnitAttr()
        super().__init__(
            operands=[w, g, m, v, [] if v_lo is None else [v_lo], lr, t],
            result_types=[w.type, w.type, w.type, [] if v_lo is None else [w.type]],
            properties=properties,
        )

    def verify_(self) -> None:
        super().verify_()
        has_v_lo, has_new_v_lo = self.v_lo is not None, self.new_v_lo is not None
        if (self.mcf_v is not None) != has_v_lo or has_v_lo != has_new_v_lo:
            raise fail(self, "mcf_v needs the operand v_lo and the result v_lo2, and only it")


STATS_TYPE = TensorType(f32, [4])
"""``[⟨new - old, -Δ⟩, ‖Δ‖², #(Δ ≠ 0 and new == old), #(Δ ≠ 0)]``."""


@irdl_op_definition
class UpdateStatsOp(IRDLOperation):
    """How much of the intended update ``delta`` the weights received, from ``old`` and
    ``new`` (same float type) and ``delta`` (same shape, any float type), computed
    exactly: ``[⟨new - old, -Δ⟩, ‖Δ‖², #(Δ ≠ 0 and new == old), #(Δ ≠ 0)]``, a
    ``tensor<4xf32>``.  Printed as::

        %s = nn.update_stats %old, %new, %d
            : (tensor<4xf32>, tensor<4xf32>, tensor<4xbf16>) -> tensor<4xf32>
    """

    name = "nn.update_stats"

    old = tensor_operand()
    new = tensor_operand()
    delta = tensor_operand()
    stats = result_def(TensorType)

    traits = traits_def(Pure())
    assembly_format = "$old `,` $new `,` $delta attr-dict `:` functional-type(operands, results)"

    def __init__(
        self, old: SSAValue | Operation, new: SSAValue | Operation, delta: SSAValue | Operation
    ) -> None:
        super().__init__(operands=[old, new, delta], result_types=[STATS_TYPE])

    def verify_(self) -> None:
        check_same_type(self, old=self.old.type, new=self.new.type)
        check_float(self, "old", self.old.type)
        check_float(self, "delta", self.delta.type)
        if not shapes_compatible(self.delta.type.get_shape(), self.old.type.get_shape()):
            raise fail(self, f"delta {self.delta.type} differs in shape from old {self.old.type}")
        check_result(self, self.stats.type, [4], f32)
