"""Reverse-mode autodiff: the `nn` module's ``@loss`` becomes ``@train_forward`` and
``@train_backward`` (docs/train.md).

Expects a verified `nn` module with a ``@loss`` entry point. Leaves it with two more entry
points: ``@train_forward`` (the loss, then the *saved* forward values the backward graph
reads) and ``@train_backward`` (the saved values in, one gradient per parameter out).
Gradients are computed only along paths from a parameter to the loss. Values that are
cheap to recompute from parameters and constants (a weight, ``w[l]``, a broadcast
constant) are recomputed in the backward graph instead of being saved.

Each op's gradient rule is in ``autodiff_rules.py``, keyed by op class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    UnitAttr,
    f32,
    i64,
)
from xdsl.ir import Block, Operation, Region, SSAValue

from scalc.diagnostics import ScalcError
from scalc.dialects import nn
from scalc.passes.autodiff_rules import GRAD_RULES
from scalc.passes.shapes import Dims, infer_dims, tensor_type

SEED_ATTR = "nn.seed"

# Ops recomputed in the backward graph rather than saved, when their operands are too.
_RECOMPUTE = (nn.GetParamOp, nn.ConstantOp, nn.BroadcastOp, nn.IndexOp, nn.ReshapeOp, nn.TransposeOp)


@dataclass
class GradContext:
    """The backward graph under construction; rules build ops through it."""

    block: Block
    forward_dims: dict[SSAValue, Dims]
    requires_grad: set[SSAValue]
    to_backward: dict[SSAValue, SSAValue] = field(default_factory=dict)
    saved: list[SSAValue] = field(default_factory=list)
    dims: dict[SSAValue, Dims] = field(default_factory=dict)

    def needs(self, value: SSAValue) -> bool:
        return value in self.requires_grad

    def fwd(self, value: SSAValue) -> SSAValue:
        """``value`` of the forward graph, as seen by the backward graph."""
        if value in self.to_backward:
            return self.to_backward[value]
        owner = value.owner
        if isinstance(owner, _RECOMPUTE) and all(self._recomputable(o) for o in owner.operands):
            clone = owner.clone(value_mapper={o: self.fwd(o) for o in owner.operands})
            self.block.add_op(clone)
            copy = clone.results[0]
        else:
            copy = self.block.insert_arg(value.type, len(self.block.args))
            self.saved.append(value)
        copy.name_hint = value.name_hint
        self.to_backward[value] = copy
        self.dims[copy] = self.forward_dims[value]
        return copy

    def _recomputable(self, value: SSAValue) -> bool:
        owner = value.owner
        return isinstance(owner, _RECOMPUTE) and all(self._recomputable(o) for o in owner.operands)

    def emit(self, op: Operation, dims: Dims | None = None) -> SSAValue:
        """Append ``op``; record the dims of its first result (given, or static)."""
        self.block.add_op(op)
        result = op.results[0]
        if dims is not None:
            self.dims[result] = dims
        return result

    def dims_of(self, value: SSAValue) -> Dims:
        """Symbolic dims of a forward or backward value."""
        if value in self.dims:
            return self.dims[value]
        return self.forward_dims[value]

    def typed(self, like: SSAValue, dims: Dims) -> TensorType:
        return tensor_type(like.type.element_type, dims)  # type: ignore[attr-defined]


def differentiate(module: ModuleOp) -> tuple[list[str], list[TensorType]]:
    """Add ``@train_forward`` and ``@train_backward`` to ``module`` (in place).

    Returns the names and types of the parameters that receive a gradient, in
    declaration order (the order of ``@train_backward``'s results).
    """
    loss_fn = _entry(module, "loss")
    forward = loss_fn.clone()
    forward.sym_name = StringAttr("train_forward")
    fdims = infer_dims(forward)
    block = forward.body.block
    ops = list(block.ops)
    ret = ops[-1]
    assert isinstance(ret, func.ReturnOp)
    loss = ret.operands[0]

    requires = _requires_grad(ops)
    if loss not in requires:
        raise ScalcError("the loss does not depend on any parameter, so there is nothing to train")
    ctx = GradContext(Block(), fdims, requires)
    grads: dict[SSAValue, SSAValue] = {}
    # The seed d loss / d loss = 1, marked so later passes can tell gradients (the values
    # that depend on it) from forward values recomputed in the backward graph.
    seed = nn.ConstantOp(1.0, TensorType(f32, []))
    seed.attributes[SEED_ATTR] = UnitAttr()
    seed.results[0].name_hint = "dloss"
    grads[loss] = ctx.emit(seed, ())
    param_grads: dict[str, SSAValue] = {}
    for op in reversed(ops[:-1]):
        dys = [grads.get(r) for r in op.results]
        if all(dy is None for dy in dys):
            continue
        if isinstance(op, nn.GetParamOp):
            name = op.param.root_reference.data
            dy = dys[0]
            assert dy is not None
            param_grads[name] = _accumulate(ctx, param_grads.get(name), dy)
            continue
        rule = GRAD_RULES.get(type(op))
        if rule is None:
            raise AssertionError(f"autodiff: no gradient rule for {op.name}")
        for operand, grad in zip(op.operands, rule(ctx, op, dys)):
            if grad is not None and ctx.needs(operand):
                grads[operand] = _accumulate(ctx, grads.get(operand), grad)

    order = [p.sym_name.data for p in module.body.block.ops if isinstance(p, nn.ParamOp)]
    trained = [name for name in order if name in param_grads]
    results = [param_grads[name] for name in trained]
    ctx.block.add_op(func.ReturnOp(*results))
    backward = func.FuncOp(
        "train_backward",
        ([a.type for a in ctx.block.args], [r.type for r in results]),
        Region(ctx.block),
        arg_attrs=ArrayAttr([_saved_attr(i) for i in range(len(ctx.saved))]),
        res_attrs=ArrayAttr([DictionaryAttr({"nn.grad": StringAttr(n)}) for n in trained]),
    )
    _return_saved(forward, ret, ctx.saved)
    module.body.block.add_op(forward)
    module.body.block.add_op(backward)
    return trained, [r.type for r in results]  # type: ignore[misc]


def _requires_grad(ops: list[Operation]) -> set[SSAValue]:
    requires: set[SSAValue] = set()
    for op in ops:
        if isinstance(op, nn.GetParamOp) or any(o in requires for o in op.operands):
            requires.update(r for r in op.results if isinstance(r.type, TensorType))
    return requires


def _accumulate(ctx: GradContext, total: SSAValue | None, grad: SSAValue) -> SSAValue:
    if total is None:
        return grad
    return ctx.emit(nn.AddOp(total, grad), ctx.dims_of(grad))


def _saved_attr(index: int) -> DictionaryAttr:
    return DictionaryAttr({"nn.saved": IntegerAttr(index, i64)})


def _return_saved(forward: func.FuncOp, ret: func.ReturnOp, saved: list[SSAValue]) -> None:
    values = [ret.operands[0], *saved]
    ret.detach()
    ret.erase()
    forward.body.block.add_op(func.ReturnOp(*values))
    forward.function_type = func.FunctionType.from_lists(
        forward.function_type.inputs.data, [v.type for v in values]
    )
    attrs = [forward.res_attrs.data[0]] if forward.res_attrs is not None else [DictionaryAttr({})]
    forward.res_attrs = ArrayAttr(attrs + [_saved_attr(i) for i in range(len(saved))])


def _entry(module: ModuleOp, name: str) -> func.FuncOp:
    for op in module.body.block.ops:
        if isinstance(op, func.FuncOp) and op.sym_name.data == name:
            return op
    raise ScalcError(f"the program declares no `{name}`; training needs `loss = ...`")
