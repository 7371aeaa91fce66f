"""Gradient rules, one per `nn` op: ``@grad_rule(nn.XOp)`` (docs/train.md).

A rule receives the :class:`~scalc.passes.autodiff.GradContext`, the forward op and the
gradients flowing into its results (``dys``, None where a result has none) and returns
one gradient per operand (None where the operand needs none: check ``ctx.needs``).
Forward values are read through ``ctx.fwd(v)``; new ops are appended with ``ctx.emit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue

from scalc.dialects import nn
from scalc.dialects.nn.dims import Dim, product
from scalc.passes.shapes import Dims, axes_of, int_prop, keepdims_of, perm_of, reduced_dims

if TYPE_CHECKING:
    from scalc.passes.autodiff import GradContext

Grads = Sequence[SSAValue | None]
Rule = Callable[["GradContext", Operation, list[SSAValue | None]], Grads]
GRAD_RULES: dict[type[Operation], Rule] = {}


def grad_rule(*ops: type[Operation]) -> Callable[[Rule], Rule]:
    """Register the gradient rule of ``ops``; registering an op twice is a bug."""

    def register(rule: Rule) -> Rule:
        for op in ops:
            if op in GRAD_RULES:
                raise AssertionError(f"two gradient rules for {op.name}")
            GRAD_RULES[op] = rule
        return rule

    return register


# ----------------------------------------------------------------------------- helpers
def reshape(ctx: GradContext, value: SSAValue, dims: Dims) -> SSAValue:
    if ctx.dims_of(value) == dims:
        return value
    return ctx.emit(nn.ReshapeOp(value, dims, ctx.typed(value, dims)), dims)


def broadcast(ctx: GradContext, value: SSAValue, dims: Dims) -> SSAValue:
    if ctx.dims_of(value) == dims:
        return value
    return ctx.emit(nn.BroadcastOp(value, dims, ctx.typed(value, dims)), dims)


def transpose(ctx: GradContext, value: SSAValue, perm: Sequence[int]) -> SSAValue:
    dims = tuple(ctx.dims_of(value)[p] for p in perm)
    return ctx.emit(nn.TransposeOp(value, perm, ctx.typed(value, dims)), dims)


def swap_last_two(ctx: GradContext, value: SSAValue) -> SSAValue:
    rank = len(ctx.dims_of(value))
    return transpose(ctx, value, [*range(rank - 2), rank - 1, rank - 2])


def reduce_sum(ctx: GradContext, value: SSAValue, axes: Sequence[int], keepdims: bool) -> SSAValue:
    if not axes:
        return value
    dims = reduced_dims(ctx.dims_of(value), tuple(axes), keepdims)
    return ctx.emit(nn.SumOp(value, list(axes), ctx.typed(value, dims), keepdims=keepdims), dims)


def matmul(ctx: GradContext, a: SSAValue, b: SSAValue) -> SSAValue:
    da, db = ctx.dims_of(a), ctx.dims_of(b)
    dims = da[:-1] + db[-1:]
    return ctx.emit(nn.MatmulOp(a, b, ctx.typed(a, dims)), dims)


def unbroadcast(ctx: GradContext, dy: SSAValue, to: Dims) -> SSAValue:
    """Sum ``dy`` over the axes a NumPy broadcast from ``to`` added or stretched."""
    src = ctx.dims_of(dy)
    lead = len(src) - len(to)
    summed = reduce_sum(ctx, dy, list(range(lead)), keepdims=False)
    stretched = [i for i, (a, b) in enumerate(zip(to, src[lead:])) if a == Dim(1) and b != Dim(1)]
    return reshape(ctx, reduce_sum(ctx, summed, stretched, keepdims=True), to)


def keepdims_form(ctx: GradContext, op: Operation, dy: SSAValue) -> SSAValue:
    """``dy`` of a reduction, reshaped to the shape it has with ``keepdims``."""
    x_dims = ctx.forward_dims[op.operands[0]]
    return reshape(ctx, dy, reduced_dims(x_dims, axes_of(op), True))


def _dy(dys: list[SSAValue | None]) -> SSAValue:
    assert dys[0] is not None
    return dys[0]


# ----------------------------------------------------------------------------- elementwise
@grad_rule(nn.AddOp)
def _add(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    return [_dy(dys), _dy(dys)]


@grad_rule(nn.SubOp)
def _sub(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    dy = _dy(dys)
    neg = ctx.emit(nn.NegOp(dy), ctx.dims_of(dy)) if ctx.needs(op.operands[1]) else None
    return [dy, neg]


@grad_rule(nn.NegOp)
def _neg(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    return [ctx.emit(nn.NegOp(_dy(dys)), ctx.dims_of(_dy(dys)))]


@grad_rule(nn.MulOp)
def _mul(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    dy, (a, b) = _dy(dys), op.operands
    d = ctx.dims_of(dy)
    da = ctx.emit(nn.MulOp(dy, ctx.fwd(b)), d) if ctx.needs(a) else None
    db = ctx.emit(nn.MulOp(dy, ctx.fwd(a)), d) if ctx.needs(b) else None
    return [da, db]


@grad_rule(nn.DivOp)
def _div(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    """d(a/b) = dy/b, and -dy * (a/b) / b."""
    dy, (a, b) = _dy(dys), op.operands
    d = ctx.dims_of(dy)
    da = ctx.emit(nn.DivOp(dy, ctx.fwd(b)), d) if ctx.needs(a) else None
    db = None
    if ctx.needs(b):
        scaled = ctx.emit(nn.MulOp(dy, ctx.fwd(op.results[0])), d)
        db = ctx.emit(nn.NegOp(ctx.emit(nn.DivOp(scaled, ctx.fwd(b)), d)), d)
    return [da, db]


@grad_rule(nn.ExpOp)
def _exp(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    dy = _dy(dys)
    return [ctx.emit(nn.MulOp(dy, ctx.fwd(op.results[0])), ctx.dims_of(dy))]


@grad_rule(nn.LogOp)
def _log(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    dy = _dy(dys)
    return [ctx.emit(nn.DivOp(dy, ctx.fwd(op.operands[0])), ctx.dims_of(dy))]


def _pointwise_grad(grad_op: type[Operation], of_result: bool) -> Rule:
    """Rules of the form ``grad_op(x or y, dy)``."""

    def rule(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
        dy = _dy(dys)
        source = op.results[0] if of_result else op.operands[0]
        return [ctx.emit(grad_op(ctx.fwd(source), dy), ctx.dims_of(dy))]

    return rule


grad_rule(nn.ReluOp)(_pointwise_grad(nn.ReluGradOp, of_result=True))  # y > 0 iff x > 0
grad_rule(nn.GeluOp)(_pointwise_grad(nn.GeluGradOp, of_result=False))
grad_rule(nn.TanhOp)(_pointwise_grad(nn.TanhGradOp, of_result=True))
grad_rule(nn.SigmoidOp)(_pointwise_grad(nn.SigmoidGradOp, of_result=True))
grad_rule(nn.SqrtOp)(_pointwise_grad(nn.SqrtGradOp, of_result=True))


# ----------------------------------------------------------------------------- matmul
@grad_rule(nn.MatmulOp)
def _matmul(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    """dA = dY @ Bᵀ; dB = Aᵀ @ dY, summed over batch dims when B is a 2-D weight."""
    dy, (a, b) = _dy(dys), op.operands
    da = matmul(ctx, dy, swap_last_two(ctx, ctx.fwd(b))) if ctx.needs(a) else None
    db = None
    if ctx.needs(b):
        a_val = ctx.fwd(a)
        a_dims, b_dims = ctx.dims_of(a_val), ctx.forward_dims[b]
        if len(b_dims) == 2 and len(a_dims) > 2:
            rows = product(a_dims[:-1])
            a_val = reshape(ctx, a_val, (rows, a_dims[-1]))
            dy = reshape(ctx, dy, (rows, b_dims[-1]))
        db = matmul(ctx, swap_last_two(ctx, a_val), dy)
    return [da, db]


# ----------------------------------------------------------------------------- reductions
@grad_rule(nn.SumOp)
def _sum(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    dy = keepdims_form(ctx, op, _dy(dys))
    return [broadcast(ctx, dy, ctx.forward_dims[op.operands[0]])]


@grad_rule(nn.MeanOp)
def _mean(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    dy = keepdims_form(ctx, op, _dy(dys))
    x_dims = ctx.forward_dims[op.operands[0]]
    return [ctx.emit(nn.MeanGradOp(dy, axes_of(op), x_dims, ctx.typed(dy, x_dims)), x_dims)]


@grad_rule(nn.MaxOp)
def _max(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    dy = keepdims_form(ctx, op, _dy(dys))
    x = ctx.fwd(op.operands[0])
    return [ctx.emit(nn.MaxGradOp(x, dy, axes_of(op)), ctx.dims_of(x))]


# ----------------------------------------------------------------------------- shapes
@grad_rule(nn.ReshapeOp)
def _reshape(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    return [reshape(ctx, _dy(dys), ctx.forward_dims[op.operands[0]])]


@grad_rule(nn.BroadcastOp)
def _broadcast(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    return [unbroadcast(ctx, _dy(dys), ctx.forward_dims[op.operands[0]])]


@grad_rule(nn.TransposeOp)
def _transpose(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    perm = perm_of(op)
    inverse = sorted(range(len(perm)), key=lambda i: perm[i])
    return [transpose(ctx, _dy(dys), inverse)]


@grad_rule(nn.SliceOp)
def _slice(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    x_dims = ctx.forward_dims[op.operands[0]]
    dy = _dy(dys)
    new = nn.SliceGradOp(dy, int_prop(op, "axis"), int_prop(op, "start"), x_dims, ctx.typed(dy, x_dims))
    return [ctx.emit(new, x_dims)]


@grad_rule(nn.IndexOp)
def _index(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    x_dims = ctx.forward_dims[op.operands[0]]
    dy = _dy(dys)
    new = nn.IndexGradOp(dy, int_prop(op, "axis"), int_prop(op, "index"), x_dims, ctx.typed(dy, x_dims))
    return [ctx.emit(new, x_dims)]


# ----------------------------------------------------------------------------- layers
@grad_rule(nn.SoftmaxOp)
def _softmax(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    dy = _dy(dys)
    y = ctx.fwd(op.results[0])
    return [ctx.emit(nn.SoftmaxGradOp(y, dy, int_prop(op, "axis")), ctx.dims_of(dy))]


@grad_rule(nn.LayerNormOp)
def _layernorm(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    dy = _dy(dys)
    x, gamma, _ = op.operands
    eps = op.properties["eps"].value.data  # type: ignore[attr-defined]
    grad = nn.LayerNormGradOp(ctx.fwd(x), ctx.fwd(gamma), dy, eps)
    ctx.emit(grad, ctx.dims_of(dy))
    for result, dims in zip(grad.results[1:], (ctx.forward_dims[gamma],) * 2):
        ctx.dims[result] = dims
    return list(grad.results)


@grad_rule(nn.EmbeddingOp)
def _embedding(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    table, ids = op.operands
    if not ctx.needs(table):
        return [None, None]
    dy = _dy(dys)
    t = table.type
    assert isinstance(t, TensorType)
    return [ctx.emit(nn.EmbeddingGradOp(ctx.fwd(ids), dy, t), ctx.forward_dims[table]), None]


@grad_rule(nn.CausalMaskOp)
def _causal_mask(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    dy = _dy(dys)
    return [ctx.emit(nn.CausalMaskGradOp(dy), ctx.dims_of(dy))]


@grad_rule(nn.CrossEntropyOp)
def _cross_entropy(ctx: GradContext, op: Operation, dys: list[SSAValue | None]) -> Grads:
    logits, labels = op.operands
    grad = nn.CrossEntropyGradOp(ctx.fwd(logits), ctx.fwd(labels), _dy(dys))
    return [ctx.emit(grad, ctx.forward_dims[logits]), None]
