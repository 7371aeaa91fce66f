"""Module-level ops: parameters (``nn.param``), reading them (``nn.get_param``), scalar
constants (``nn.constant``), and what every module-level buffer shares (`BufferOp`,
`check_symbol`); the optimizer's buffers are in ``state.py``."""

from __future__ import annotations

from abc import ABC
from typing import ClassVar

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
from xdsl.ir import Attribute, Operation
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


class BufferOp(IRDLOperation, ABC):
    """A tensor the runtime keeps between calls (``nn.param``, ``nn.state``): a symbol
    directly in the ``builtin.module``, with a static shape and a float element type.

    ``nn.<op> @name : tensor<...> {...}``
    """

    KIND: ClassVar[str]
    """What the buffer is called in messages: ``parameter``, ``state buffer``."""

    sym_name = prop_def(SymbolNameConstraint())
    type = prop_def(TensorType)

    traits = traits_def(SymbolOpInterface(), HasParent(ModuleOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$sym_name `:` $type attr-dict"

    def verify_(self) -> None:
        where = f"@{self.sym_name.data}"
        if DYNAMIC_INDEX in self.type.get_shape():
            raise fail(self, f"{where}: a {self.KIND} needs a static shape, got {self.type}")
        check_float(self, f"{where}: the {self.KIND} type", self.type)


def check_symbol(
    op: Operation,
    ref: SymbolRefAttr,
    kind: type[BufferOp],
    value_type: Attribute,
    *,
    where: str = "",
    shape_only: bool = False,
) -> None:
    """``ref`` names a ``kind`` op (``nn.param``, ``nn.state``) of type ``value_type`` in
    the module around ``op`` (with ``shape_only``, of its shape: optimizer state may be
    stored in a narrower float type than its parameter).  ``where`` prefixes the messages
    (``@w1.m: ``)."""
    symbol = f"@{ref.string_value()}"
    try:
        target = SymbolTable.lookup_symbol(op, ref)
    except ValueError:
        raise fail(op, f"{where}{symbol} is used outside a module") from None
    if target is None:
        raise fail(op, f"{where}unknown {kind.KIND} {symbol}")
    if not isinstance(target, kind):
        raise fail(op, f"{where}{symbol} is a {target.name}, not an {kind.name}")
    if shape_only:
        if target.type.get_shape() != value_type.get_shape():  # type: ignore[attr-defined]
            raise fail(
                op, f"{where}shape of {value_type} differs from the shape of {symbol}: {target.type}"
            )
    elif target.type != value_type:
        raise fail(op, f"{where}type {value_type} differs from the type of {symbol}: {target.type}")


@irdl_op_definition
class ParamOp(BufferOp):
    """A trainable parameter of the model: a module-level symbol with a static float type.

    ``init`` says how the runtime initialises it: ``normal`` (``std`` > 0, optional
    ``mean``), ``zeros``, ``ones`` or ``constant`` (``value``).

    Printed as::

        nn.param @w : tensor<64x256xf32> {init = "normal", std = 2.000000e-02 : f64}
    """

    name = "nn.param"
    KIND: ClassVar[str] = "parameter"

    init = prop_def(StringAttr)
    std = opt_prop_def(FloatAttr[Float64Type])
    mean = opt_prop_def(FloatAttr[Float64Type])
    value = opt_prop_def(FloatAttr[Float64Type])

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
        super().verify_()
        where = f"@{self.sym_name.data}"
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
        check_symbol(self, self.param, ParamOp, self.result.type)


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
