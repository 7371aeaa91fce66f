"""Mutable module state for training (docs/train.md): optimizer state buffers
(``nn.state``), reading them (``nn.get_state``) and the writes of ``@optimizer_step``
(``nn.set_state``, ``nn.set_param``).

The writes have no results and a write effect, so dead-code elimination keeps them.
"""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import StringAttr, SymbolRefAttr, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import MemoryWriteEffect, Pure

from scalc.dialects.nn.base import fail, tensor_operand
from scalc.dialects.nn.module import BufferOp, ParamOp, check_symbol


@irdl_op_definition
class StateOp(BufferOp):
    """Optimizer state kept across steps: a module-level symbol with a static float
    type.  ``param`` names the parameter it belongs to, which has the same shape; it is
    absent for state of the whole optimizer (the step count).  ``init`` is absent
    (zeros) or ``"param"``: a copy of ``param``'s initial value in the state's type (the
    bf16 model copy of ``optimizer_precision = fp32-master``, docs/collage.md).

    Printed as::

        nn.state @w1.m : tensor<64x256xf32> {param = @w1}
        nn.state @w1.model : tensor<64x256xbf16> {param = @w1, init = "param"}
        nn.state @step : tensor<f32>
    """

    name = "nn.state"
    KIND: ClassVar[str] = "state buffer"

    param = opt_prop_def(SymbolRefAttr)
    init = opt_prop_def(StringAttr)

    INITS: ClassVar[tuple[str, ...]] = ("param",)
    """The values ``init`` may take; absent means zeros."""

    def __init__(
        self,
        sym_name: str,
        type: TensorType,
        *,
        param: str | None = None,
        init: str | None = None,
    ) -> None:
        properties: dict[str, Attribute] = {"sym_name": StringAttr(sym_name), "type": type}
        if param is not None:
            properties["param"] = SymbolRefAttr(param)
        if init is not None:
            properties["init"] = StringAttr(init)
        super().__init__(properties=properties)

    def verify_(self) -> None:
        super().verify_()
        where = f"@{self.sym_name.data}: "
        if self.init is not None:
            if self.init.data not in self.INITS:
                raise fail(self, f'{where}init must be "param" (or absent), got "{self.init.data}"')
            if self.param is None:
                raise fail(self, f'{where}init = "param" needs a param')
        if self.param is not None:
            check_symbol(self, self.param, ParamOp, self.type, where=where, shape_only=True)


@irdl_op_definition
class GetStateOp(IRDLOperation):
    """The current value of a state buffer; the symbol names an ``nn.state`` of the
    same type.

    Printed as::

        %0 = nn.get_state @w1.m : tensor<64x256xf32>
    """

    name = "nn.get_state"

    state = prop_def(SymbolRefAttr)
    result = result_def(TensorType)

    traits = traits_def(Pure())
    assembly_format = "$state attr-dict `:` type($result)"

    def __init__(self, state: str, result_type: TensorType) -> None:
        super().__init__(properties={"state": SymbolRefAttr(state)}, result_types=[result_type])

    def verify_(self) -> None:
        check_symbol(self, self.state, StateOp, self.result.type)


@irdl_op_definition
class SetStateOp(IRDLOperation):
    """Overwrites a state buffer with ``value``, of the buffer's type.

    Printed as::

        nn.set_state @w1.m, %0 : tensor<64x256xf32>
    """

    name = "nn.set_state"

    state = prop_def(SymbolRefAttr)
    value = tensor_operand()

    traits = traits_def(MemoryWriteEffect())
    assembly_format = "$state `,` $value attr-dict `:` type($value)"

    def __init__(self, state: str, value: SSAValue | Operation) -> None:
        super().__init__(operands=[value], properties={"state": SymbolRefAttr(state)})

    def verify_(self) -> None:
        check_symbol(self, self.state, StateOp, self.value.type)


@irdl_op_definition
class SetParamOp(IRDLOperation):
    """Overwrites a parameter with ``value``, of the parameter's type.

    Printed as::

        nn.set_param @w1, %0 : tensor<64x256xf32>
    """

    name = "nn.set_param"

    param = prop_def(SymbolRefAttr)
    value = tensor_operand()

    traits = traits_def(MemoryWriteEffect())
    assembly_format = "$param `,` $value attr-dict `:` type($value)"

    def __init__(self, param: str, value: SSAValue | Operation) -> None:
        super().__init__(operands=[value], properties={"param": SymbolRefAttr(param)})

    def verify_(self) -> None:
        check_symbol(self, self.param, ParamOp, self.value.type)
