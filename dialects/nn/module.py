"""Module-level ops: parameters (``nn.param``), reading them (``nn.get_param``) and
scalar constants (``nn.constant``)."""

from __future__ import annotations

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    Float64Type,
    FloatAttr,
    ModuleOp,
    StringAttr,
    SymbolNameConstraint,
    SymbolRefAttr,
    TensorType,
)
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import HasParent, Pure, SymbolOpInterface, SymbolTable

from scalc.dialects.nn.base import check_float, fail

PARAM_INITS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "normal": (frozenset({"std"}), frozenset({"mean"})),
    "zeros": (frozenset(), frozenset()),
    "ones": (frozenset(), frozenset()),
    "constant": (frozenset({"value"}), frozenset()),
}
"""For each ``init`` kind: the float properties it needs and those it also accepts."""


@irdl_op_definition
class ParamOp(IRDLOperation):
    """A trainable parameter of the model: a module-level symbol with a static float type.

    ``init`` says how the runtime initialises it: ``normal`` (``std`` > 0, optional
    ``mean``), ``zeros``, ``ones`` or ``constant`` (``value``).

    Printed as::

        nn.param @w : tensor<64x256xf32> {init = "normal", std = 2.000000e-02 : f64}
    """

    name = "nn.param"

    sym_name = prop_def(SymbolNameConstraint())
    type = prop_def(TensorType)
    init = prop_def(StringAttr)
    std = opt_prop_def(FloatAttr[Float64Type])
    mean = opt_prop_def(FloatAttr[Float64Type])
    value = opt_prop_def(FloatAttr[Float64Type])

    traits = traits_def(SymbolOpInterface(), HasParent(ModuleOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$sym_name `:` $type attr-dict"

    def __init__(
        self,
        sym_name: str,
        type: TensorType,
        init: str,
        *,
        std: float | None = None,
        mean: float | None = None,
        value: float | None = None,
    ) -> None:
        numbers = {"std": std, "mean": mean, "value": value}
        super().__init__(
            properties={
                "sym_name": StringAttr(sym_name),
                "type": type,
                "init": StringAttr(init),
                **{k: FloatAttr(v, Float64Type()) for k, v in numbers.items() if v is not None},
            }
        )

    def verify_(self) -> None:
        where = f"@{self.sym_name.data}"
        if DYNAMIC_INDEX in self.type.get_shape():
            raise fail(self, f"{where}: a parameter needs a static shape, got {self.type}")
        check_float(self, f"{where}: the parameter type", self.type)
        init = self.init.data
        if init not in PARAM_INITS:
            raise fail(self, f"{where}: unknown init {init!r}, expected one of {list(PARAM_INITS)}")
        required, optional = PARAM_INITS[init]
        given = {name for name in ("std", "mean", "value") if name in self.properties}
        if missing := sorted(required - given):
            raise fail(self, f"{where}: init {init!r} needs {', '.join(missing)}")
        if extra := sorted(given - required - optional):
            raise fail(self, f"{where}: init {init!r} takes no {', '.join(extra)}")
        if self.std is not None and not self.std.value.data > 0:
            raise fail(self, f"{where}: std must be positive, got {self.std.value.data}")


@irdl_op_definition
class GetParamOp(IRDLOperation):
    """The current value of a parameter; the symbol names an ``nn.param`` of the same type.

    Printed as::

        %0 = nn.get_param @w : tensor<64x256xf32>
    """

    name = "nn.get_param"

    param = prop_def(SymbolRefAttr)
    result = result_def(TensorType)

    traits = traits_def(Pure())
    assembly_format = "$param attr-dict `:` type($result)"

    def __init__(self, param: str, result_type: TensorType) -> None:
        super().__init__(properties={"param": SymbolRefAttr(param)}, result_types=[result_type])

    def verify_(self) -> None:
        symbol = f"@{self.param.string_value()}"
        try:
            target = SymbolTable.lookup_symbol(self, self.param)
        except ValueError:
            raise fail(self, f"{symbol} is read outside a module") from None
        if target is None:
            raise fail(self, f"unknown parameter {symbol}")
        if not isinstance(target, ParamOp):
            raise fail(self, f"{symbol} is a {target.name}, not an nn.param")
        if target.type != self.result.type:
            raise fail(
                self, f"type {self.result.type} differs from the type of {symbol}: {target.type}"
            )


@irdl_op_definition
class ConstantOp(IRDLOperation):
    """A float scalar (rank-0 tensor), stored as f64 whatever its element type.

    Printed as::

        %0 = nn.constant 5.000000e-01 : tensor<f32>
    """

    name = "nn.constant"

    value = prop_def(FloatAttr[Float64Type])
    result = result_def(TensorType)

    traits = traits_def(Pure())
    assembly_format = "$value attr-dict `:` type($result)"

    def __init__(self, value: float, result_type: TensorType) -> None:
        super().__init__(
            properties={"value": FloatAttr(value, Float64Type())}, result_types=[result_type]
        )

    def verify_(self) -> None:
        if self.result.type.get_shape():
            raise fail(self, f"a constant is a rank-0 scalar, got {self.result.type}")
        check_float(self, "the result", self.result.type)
