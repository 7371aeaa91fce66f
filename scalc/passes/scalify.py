"""Scalify: the train module + a recipe -> the scaled module (docs/scaled.md).

Expects the verified train module (autodiff and optimizer done). Leaves ``@forward``,
``@train_forward`` and ``@train_backward`` computing on ``!scaled.tensor`` values: every
`nn` value op becomes its `scaled` mirror (its scale rule keeps data near unit scale),
matmul operands are brought to the recipe's formats with a per-tensor scale (E4M3 in the
forward graph, E5M2 for gradients), and dynamic unit rescales follow the residual
additions. ``@optimizer_step`` stays `nn`, with the optimizer state in the recipe's type.
For the reference recipe (fp32) the module is left as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from xdsl.dialects import func
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    DictionaryAttr,
    IntegerType,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    f32,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

from scalc.dialects import nn, scaled
from scalc.passes.autodiff import SEED_ATTR
from scalc.passes.recipes import Recipe
from scalc.passes.shapes import element_type_named

SCALED_ENTRIES = ("forward", "train_forward", "train_backward")
# Ops that read stored weights: `nn.get_param`, or the model copy `nn.get_state` and the
# `nn.cast` to fp32 of a weight stored in bf16 (docs/collage.md).
_STORAGE_READS = (nn.GetParamOp, nn.GetStateOp, nn.CastOp)


def scalify(module: ModuleOp, recipe: Recipe) -> None:
    """Rewrite ``module`` (a train module) in place for ``recipe``."""
    module.attributes["scalc.recipe"] = _recipe_attr(recipe)
    if recipe.is_reference:
        return
    entries = {op.sym_name.data: op for op in module.body.block.ops if isinstance(op, func.FuncOp)}
    saved_types: list[Attribute] = []
    histories: list[nn.StateOp] = []
    for name in SCALED_ENTRIES:
        if name not in entries:
            continue
        old = entries[name]
        converter = _FunctionScalifier(recipe, name, saved_types, delayed=name != "forward")
        new = converter.run(old)
        module.body.block.insert_op_before(new, old)
        old.detach()
        old.erase()
        histories += converter.histories
        if name == "train_forward":
            saved_types = [t for t in new.function_type.outputs.data[1:]]
    _declare_histories(module, histories)
    if recipe.optimizer_state != "f32":
        _narrow_optimizer_state(module, element_type_named(recipe.optimizer_state))


_F8 = ("f8E4M3FN", "f8E5M2")


def _contraction(matmul: Operation) -> float:
    """The static contraction size K of a matmul; infinity for a symbolic one (token
    counts: large)."""
    k = matmul.operands[0].type.get_shape()[-1]  # type: ignore[attr-defined]
    return math.inf if k == DYNAMIC_INDEX else k


@dataclass
class _FunctionScalifier:
    """Builds the scaled twin of one entry point."""

    recipe: Recipe
    entry: str
    saved_types: list[Attribute]
    delayed: bool
    values: dict[SSAValue, SSAValue] = field(default_factory=dict)
    casts: dict[tuple[SSAValue, str], SSAValue] = field(default_factory=dict)
    gradients: set[SSAValue] = field(default_factory=set)
    histories: list[nn.StateOp] = field(default_factory=list)
    block: Block = field(default_factory=Block)

    def run(self, old: func.FuncOp) -> func.FuncOp:
        old_block = old.body.block
        arg_attrs = list(old.arg_attrs.data) if old.arg_attrs is not None else []
        for i, arg in enumerate(old_block.args):
            self._argument(arg, arg_attrs[i] if i < len(arg_attrs) else DictionaryAttr({}), i)
        for op in old_block.ops:
            if isinstance(op, func.ReturnOp):
                results = [self._result(v, i) for i, v in enumerate(op.operands)]
                self.block.add_op(func.ReturnOp(*results))
            else:
                self._op(op)
        return func.FuncOp(
            old.sym_name.data,
            ([a.type for a in self.block.args], [r.type for r in results]),
            Region(self.block),
            arg_attrs=old.arg_attrs,
            res_attrs=old.res_attrs,
        )

    # ----------------------------------------------------------------------- boundaries
    def _argument(self, arg: SSAValue, attrs: DictionaryAttr, index: int) -> None:
        saved = attrs.data.get("nn.saved")
        if isinstance(saved, IntegerAttr) and self.saved_types:
            new = self.block.insert_arg(self.saved_types[saved.value.data], len(self.block.args))
            new.name_hint = arg.name_hint
            self.values[arg] = new
            return
        new = self.block.insert_arg(arg.type, len(self.block.args))
        new.name_hint = arg.name_hint
        self.values[arg] = self._enter(new) if _is_float_tensor(arg.type) else new

    def _enter(self, value: SSAValue) -> SSAValue:
        """A plain float tensor (an input, a weight) becomes a scaled one with scale 1."""
        t = value.type
        assert isinstance(t, TensorType)
        op = scaled.FromTensorOp(value, _scaled(self.recipe.compute, t.get_shape()))
        return self._add(op, value.name_hint)

    def _result(self, value: SSAValue, index: int) -> SSAValue:
        new = self.values[value]
        if self.entry == "train_forward" and index > 0:
            return new  # saved values cross to @train_backward scaled
        if isinstance(new.type, scaled.ScaledTensorType):
            old = value.type
            assert isinstance(old, TensorType)
            return self._add(scaled.ToTensorOp(new, old), None)
        return new

    # ----------------------------------------------------------------------- ops
    def _op(self, op: Operation) -> None:
        if isinstance(op, _STORAGE_READS):
            # Reading a weight (and widening a bf16-stored one to fp32) stays plain; the
            # value enters the scaled world where the graph first uses it.
            clone = op.clone(value_mapper={o: self.values[o] for o in op.operands})
            self.block.add_op(clone)
            self.values[op.results[0]] = clone.results[0]
            if not any(isinstance(u.operation, _STORAGE_READS) for u in op.results[0].uses):
                self.values[op.results[0]] = self._enter(clone.results[0])
            return
        if self.entry == "train_backward" and (SEED_ATTR in op.attributes or self._is_gradient(op)):
            self.gradients.update(op.results)
        operands = [self._operand(op, i, v) for i, v in enumerate(op.operands)]
        result_types = [self._result_type(r.type) for r in op.results]
        new = scaled.mirror_of(op, operands, result_types)
        self.block.add_op(new)
        for old_result, new_result in zip(op.results, new.results):
            new_result.name_hint = old_result.name_hint
            self.values[old_result] = new_result
        if isinstance(op, nn.AddOp) and self.recipe.rescale == "residual" and _fans_out(op):
            self.values[op.results[0]] = self._rescale(new.results[0], target=1.0)

    def _result_type(self, t: Attribute) -> Attribute:
        """Float results in the recipe's compute format; scalars (the loss, its seed) in
        fp32, whose precision a single number costs nothing to keep."""
        if not _is_float_tensor(t):
            return t
        assert isinstance(t, TensorType)
        shape = t.get_shape()
        return _scaled(self.recipe.compute if shape else "f32", shape)

    def _is_gradient(self, op: Operation) -> bool:
        return any(o in self.gradients for o in op.operands)

    def _operand(self, op: Operation, index: int, value: SSAValue) -> SSAValue:
        new = self.values[value]
        if not isinstance(op, nn.MatmulOp):
            return new
        is_grad = value in self.gradients
        fmt = self.recipe.matmul_grad if is_grad else self.recipe.matmul_forward
        if fmt in _F8 and _contraction(op) < self.recipe.fp8_min_k:
            fmt = self.recipe.compute  # the recipe's small-K rule: FP8 does not pay here
        if fmt == self.recipe.compute:
            return new
        key = (new, fmt)
        if key not in self.casts:
            target = _scaled(fmt, new.type.get_shape())  # type: ignore[attr-defined]
            f8_max = scaled.F8_MAX.get(target.element_type)
            if f8_max is not None:
                # Per-tensor scaling (NUMERICS.md §5): the amax lands on the format's max
                # (less `margin` powers of two), so the narrow range is used in full.
                new = self._rescale(new, target=f8_max / 2.0**self.recipe.margin, fmt=fmt)
            self.casts[key] = self._add(scaled.CastOp(new, target), None)
        return self.casts[key]

    def _rescale(self, value: SSAValue, target: float, fmt: str | None = None) -> SSAValue:
        """``scaled.rescale`` of ``value`` to ``target`` by its amax (now, or delayed)."""
        amax = self._add(scaled.AmaxOp(value), None)
        if fmt is not None and self.delayed and self.recipe.scaling == "delayed":
            amax = self._delayed_reference(amax)
        op = scaled.RescaleOp(value, amax, target=target, margin=0)
        return self._add(op, value.name_hint)

    def _delayed_reference(self, amax: SSAValue) -> SSAValue:
        name = f"amax.{self.entry}.{len(self.histories)}"
        history_type = TensorType(f32, [self.recipe.history])
        self.histories.append(nn.StateOp(name, history_type))
        history = self._add(nn.GetStateOp(name, history_type), None)
        update = scaled.UpdateHistoryOp(history, amax)
        self.block.add_op(update)
        self.block.add_op(nn.SetStateOp(name, update.results[1]))
        return update.results[0]

    def _add(self, op: Operation, hint: str | None) -> SSAValue:
        self.block.add_op(op)
        if hint is not None:
            op.results[0].name_hint = hint
        return op.results[0]


# --------------------------------------------------------------------------- helpers
def _scaled(element: str, shape: tuple[int, ...] | list[int]) -> scaled.ScaledTensorType:
    return scaled.ScaledTensorType(element_type_named(element), list(shape))


def _is_float_tensor(t: Attribute) -> bool:
    return isinstance(t, TensorType) and not isinstance(t.element_type, IntegerType)


def _fans_out(op: Operation) -> bool:
    """The result feeds two or more ops (returning it does not count): a residual stream
    value forward, a gradient accumulated from two paths backward."""
    users = {use.operation for use in op.results[0].uses}
    return len([u for u in users if not isinstance(u, func.ReturnOp)]) > 1


def _declare_histories(module: ModuleOp, histories: list[nn.StateOp]) -> None:
    body = module.body.block
    anchor = [op for op in body.ops if isinstance(op, (nn.ParamOp, nn.StateOp))][-1]
    for state in reversed(histories):
        body.insert_op_after(state, anchor)


def _narrow_optimizer_state(module: ModuleOp, element: Attribute) -> None:
    """Store optimizer slots in ``element``; the update computes in fp32 (``nn.cast``)."""
    narrowed: set[str] = set()
    for op in list(module.body.block.ops):
        if isinstance(op, nn.StateOp) and op.param is not None:
            t = op.type
            op.type = TensorType(element, t.get_shape())  # type: ignore[misc]
            narrowed.add(op.sym_name.data)
    step = next(o for o in module.body.block.ops if isinstance(o, func.FuncOp) and o.sym_name.data == "optimizer_step")
    block = step.body.block
    for op in list(block.ops):
        if isinstance(op, nn.GetStateOp) and op.state.root_reference.data in narrowed:
            wide = op.result.type
            assert isinstance(wide, TensorType)
            read = nn.GetStateOp(op.state.root_reference.data, TensorType(element, wide.get_shape()))
            cast = nn.CastOp(read, wide)
            block.insert_ops_before([read, cast], op)
            op.result.replace_all_uses_with(cast.results[0])
            op.detach()
            op.erase()
        elif isinstance(op, nn.SetStateOp) and op.state.root_reference.data in narrowed:
            wide = op.value.type
            assert isinstance(wide, TensorType)
            cast = nn.CastOp(op.value, TensorType(element, wide.get_shape()))
            block.insert_op_before(cast, op)
            op.operands[0] = cast.results[0]


def _recipe_attr(recipe: Recipe) -> DictionaryAttr:
    entries: dict[str, Attribute] = {}
    for key, value in recipe.to_dict().items():
        entries[key] = StringAttr(value) if isinstance(value, str) else IntegerAttr(value, i64)
    return DictionaryAttr(entries)


__all__ = ["scalify"]
