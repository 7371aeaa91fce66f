"""The IR builder: a checked program becomes an `nn` module (docs/ir.md).

The same evaluator that checks the program runs again with :class:`IREmitter`, which turns
every tensor operation into an `nn` op. Each entry point is evaluated into its own
``func.func``: ``@forward`` returns the declared outputs, ``@loss`` the loss. Dead code
elimination then drops what an entry point does not need (the loss from ``@forward``),
and inputs an entry point does not read are removed from its signature.
"""

from __future__ import annotations

from typing import Any, Callable

from xdsl.dialects import func
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    ArrayAttr,
    BFloat16Type,
    DictionaryAttr,
    Float16Type,
    ModuleOp,
    StringAttr,
    TensorType as XTensorType,
    f32,
    i32,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.transforms.dead_code_elimination import region_dce

from scalc.diagnostics import DiagnosticSink
from scalc.dialects import nn
from scalc.dialects.nn.attrs import DimsAttr
from scalc.frontend import ast
from scalc.frontend.program import ProgramInfo, evaluate_program
from scalc.frontend.types import Tensor, TensorType

_ELEMENT_TYPES: dict[str, Callable[[], Attribute]] = {
    "f32": lambda: f32,
    "bf16": BFloat16Type,
    "f16": Float16Type,
    "i32": lambda: i32,
    "i64": lambda: i64,
}


def ir_type(t: TensorType) -> XTensorType:
    """The MLIR tensor type of ``t``: symbolic sizes become ``?``."""
    shape = [d.value if d.is_static else DYNAMIC_INDEX for d in t.dims]
    return XTensorType(_ELEMENT_TYPES[t.dtype](), shape)


Props = dict[str, Any]
_Builder = Callable[[list[SSAValue], XTensorType, Props], Operation]

# How each op the frontend emits is constructed. Families (unary, binary, reductions)
# are found from the op classes, so a new elementwise op needs no row here.
_SPECIAL: dict[str, _Builder] = {
    "nn.constant": lambda o, t, p: nn.ConstantOp(p["value"], t),
    "nn.matmul": lambda o, t, p: nn.MatmulOp(o[0], o[1], t),
    "nn.reshape": lambda o, t, p: nn.ReshapeOp(o[0], p["shape"], t),
    "nn.broadcast": lambda o, t, p: nn.BroadcastOp(o[0], p["shape"], t),
    "nn.transpose": lambda o, t, p: nn.TransposeOp(o[0], p["perm"], t),
    "nn.slice": lambda o, t, p: nn.SliceOp(o[0], p["axis"], p["start"], p["stop"], t),
    "nn.index": lambda o, t, p: nn.IndexOp(o[0], p["axis"], p["index"], t),
    "nn.softmax": lambda o, t, p: nn.SoftmaxOp(o[0], p["axis"]),
    "nn.layernorm": lambda o, t, p: nn.LayerNormOp(o[0], o[1], o[2], p["eps"]),
    "nn.embedding": lambda o, t, p: nn.EmbeddingOp(o[0], o[1], t),
    "nn.causal_mask": lambda o, t, p: nn.CausalMaskOp(o[0]),
    "nn.cross_entropy": lambda o, t, p: nn.CrossEntropyOp(o[0], o[1]),
}


def _builder_for(name: str) -> _Builder:
    if name in _SPECIAL:
        return _SPECIAL[name]
    cls = {op.name: op for op in nn.NN.operations}[name]
    if issubclass(cls, nn.UnaryOp):
        return lambda o, t, p: cls(o[0])
    if issubclass(cls, nn.BinaryOp):
        return lambda o, t, p: cls(o[0], o[1])
    if issubclass(cls, nn.ReduceOp):
        return lambda o, t, p: cls(o[0], p["axes"], t, keepdims=p["keepdims"])
    raise AssertionError(f"the IR builder has no constructor for {name}")


class IREmitter:
    """Appends `nn` ops to one entry point's block."""

    building = True

    def __init__(self, block: Block, inputs: dict[str, SSAValue]):
        self.block = block
        self.inputs = inputs

    def emit(self, op: str, operands: list[Tensor], result: TensorType, **props: Any) -> Tensor:
        new = _builder_for(op)([t.handle for t in operands], ir_type(result), props)
        self.block.add_op(new)
        return Tensor(result, new.results[0])

    def name(self, value: Tensor, hint: str) -> None:
        # Inputs and parameters keep their declared names (`let w = w1` must not print
        # `%w = nn.get_param @w1`); computed values take the name they were last bound to.
        owner = value.handle.owner if isinstance(value.handle, SSAValue) else None
        if owner is not None and not isinstance(owner, (Block, nn.GetParamOp)):
            value.handle.name_hint = hint

    def input(self, name: str, type: TensorType) -> Tensor:
        return Tensor(type, self.inputs[name])

    def param(self, name: str, type: TensorType) -> Tensor:
        op = nn.GetParamOp(name, ir_type(type))
        op.results[0].name_hint = name
        self.block.add_op(op)
        return Tensor(type, op.results[0])


def build(program: ast.Program, source: str, info: ProgramInfo) -> ModuleOp:
    """Lower a checked ``program`` (``info`` from ``check``) to an `nn` module."""
    body: list[Operation] = [
        nn.ParamOp(name, ir_type(t), init.kind, std=init.std, mean=init.mean, value=init.value)
        for name, t, init in info.params
    ]
    if info.outputs:
        body.append(_entry_point(program, source, info, "forward"))
    if info.loss is not None:
        body.append(_entry_point(program, source, info, "loss"))
    module = ModuleOp(body)
    module.attributes["scalc.model"] = StringAttr(info.model)
    module.attributes["scalc.symbols"] = ArrayAttr([StringAttr(s) for s in info.symbols])
    return module


def _entry_point(program: ast.Program, source: str, info: ProgramInfo, entry: str) -> func.FuncOp:
    block = Block(arg_types=[ir_type(t) for _, t in info.inputs])
    inputs = dict(zip((name for name, _ in info.inputs), block.args))
    for (name, _), arg in zip(info.inputs, block.args):
        arg.name_hint = name
    sink = DiagnosticSink(source)
    built = evaluate_program(program, sink, IREmitter(block, inputs))
    sink.raise_if_any()
    named = built.outputs if entry == "forward" else [("loss", built.loss)]
    results = [t for _, t in named if t is not None]
    block.add_op(func.ReturnOp(*[t.handle for t in results]))
    region = Region(block)
    region_dce(region)
    kept = [(name, t, arg) for (name, t), arg in zip(info.inputs, block.args) if arg.uses]
    for arg in [a for a in block.args if not a.uses]:
        block.erase_arg(arg)
    arg_attrs = [
        DictionaryAttr({"nn.input": StringAttr(name), "nn.dims": DimsAttr(t.dims)})
        for name, t, _ in kept
    ]
    res_attrs = [
        DictionaryAttr({"nn.output": StringAttr(name), "nn.dims": DimsAttr(t.type.dims)})
        for name, t in named
        if t is not None
    ]
    return func.FuncOp(
        entry,
        ([ir_type(t) for _, t, _ in kept], [ir_type(t.type) for t in results]),
        region,
        arg_attrs=ArrayAttr(arg_attrs),
        res_attrs=ArrayAttr(res_attrs),
    )
