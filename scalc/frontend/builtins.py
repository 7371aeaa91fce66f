"""The builtin functions of .scl: one row each, with its argument list and its typing rule.

A rule receives a :class:`CallArgs` that binds the call's arguments by name and coerces
them on demand (``args.tensor("x")``, ``args.axis("axis", rank)``), so every argument
error points at the argument. Rules compute the result type and emit the `nn` op through
the evaluator's emitter; when checking, emitting just returns a typed value.

Adding a builtin = one ``@builtin`` function here + the `nn` op it emits + a golden test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from scalc.dialects.nn.dims import Dim, format_shape, product
from scalc.frontend import ast
from scalc.frontend.evaluate import Evaluator, Reported, bind_arguments, math_fold
from scalc.frontend.scope import Scope
from scalc.frontend.types import (
    BoolValue,
    ListValue,
    Number,
    Tensor,
    TensorType,
    Value,
    broadcast_dims,
)

_REQUIRED = object()


@dataclass(frozen=True)
class Builtin:
    name: str
    params: tuple[tuple[str, Any], ...]  # (name, default or _REQUIRED), in order
    rule: Callable[[CallArgs], Value]
    doc: str


BUILTINS: dict[str, Builtin] = {}


def builtin(name: str, *required: str, **optional: Any) -> Callable[[Callable[..., Value]], Callable[..., Value]]:
    """Register ``rule`` as the builtin ``name(required..., optional=default...)``."""

    def register(rule: Callable[[CallArgs], Value]) -> Callable[[CallArgs], Value]:
        if name in BUILTINS:
            raise AssertionError(f"builtin {name!r} registered twice")
        params = tuple((p, _REQUIRED) for p in required) + tuple(optional.items())
        BUILTINS[name] = Builtin(name, params, rule, (rule.__doc__ or "").strip())
        return rule

    return register


class CallArgs:
    """The arguments of one builtin call, bound by name, coerced with precise errors."""

    def __init__(self, ev: Evaluator, spec: Builtin, call: ast.Call, scope: Scope):
        self.ev, self.spec, self.call, self.scope = ev, spec, call, scope
        names = [p for p, _ in spec.params]
        self.exprs = bind_arguments(ev, spec.name, names, call.args, call.kwargs)
        self.values: dict[str, Value] = {}
        missing = [p for p, d in spec.params if d is _REQUIRED and p not in self.exprs]
        if missing:
            raise self.fail(f"missing argument `{missing[0]}`")

    def fail(self, message: str, at: str | None = None) -> Reported:
        span = self.exprs[at].span if at in self.exprs else self.call.span
        return self.ev.fail(span, f"{self.spec.name}: {message}")

    def given(self, name: str) -> bool:
        return name in self.exprs

    def value(self, name: str) -> Value:
        """The argument's value, evaluated once: rules may coerce it several ways, and a
        second evaluation would emit its ops twice (and nested calls would cost 2**depth)."""
        if name not in self.values:
            self.values[name] = self.ev.eval(self.exprs[name], self.scope)
        return self.values[name]

    def _unknown_int(self, name: str) -> Reported:
        return self.fail(
            f"`{name}` cannot be an `int` parameter: it is known only at each call", at=name
        )

    def tensor(self, name: str, float_only: bool = True) -> Tensor:
        value = self.value(name)
        if not isinstance(value, Tensor):
            raise self.fail(f"`{name}` must be a tensor, got {value.describe()}", at=name)
        if float_only and not value.type.is_float:
            raise self.fail(f"`{name}` must be a float tensor, got {value.type}", at=name)
        return value

    def static(self, name: str, want_int: bool) -> int | float:
        if name not in self.exprs:
            return dict(self.spec.params)[name]  # type: ignore[no-any-return]
        value = self.value(name)
        if not isinstance(value, Number) or (want_int and not value.is_int):
            kind = "integer" if want_int else "number"
            raise self.fail(f"`{name}` must be a compile-time {kind}, got {value.describe()}", at=name)
        if value.value is None:
            raise self._unknown_int(name)
        return value.value

    def flag(self, name: str) -> bool:
        if name not in self.exprs:
            return bool(dict(self.spec.params)[name])
        value = self.value(name)
        if not isinstance(value, BoolValue):
            raise self.fail(f"`{name}` must be true or false, got {value.describe()}", at=name)
        return value.value

    def dims(self, name: str) -> tuple[Dim, ...]:
        expr = self.exprs[name]
        if not isinstance(expr, ast.ListExpr):
            raise self.fail(f"`{name}` must be a shape such as [B, 64]", at=name)
        return tuple(self.ev.eval_dim(item, self.scope) for item in expr.items)

    def axis(self, name: str, rank: int, raw: int | None = None) -> int:
        axis = int(self.static(name, want_int=True)) if raw is None else raw
        if not -rank <= axis < rank:
            raise self.fail(f"axis {axis} is out of range for a tensor of rank {rank}", at=name)
        return axis % rank

    def axes(self, name: str, rank: int) -> tuple[int, ...]:
        """One axis, a list of axes, or (not given) every axis."""
        if name not in self.exprs:
            return tuple(range(rank))
        value = self.value(name)
        items = value.items if isinstance(value, ListValue) else (value,)
        raws = []
        for item in items:
            if isinstance(item, Number) and item.is_int and item.value is None:
                raise self._unknown_int(name)
            if not (isinstance(item, Number) and item.is_int):
                raise self.fail(
                    f"`{name}` must be an integer or a list of integers, got {item.describe()}",
                    at=name,
                )
            raws.append(self.axis(name, rank, int(item.value)))
        repeated = [a for i, a in enumerate(raws) if a in raws[:i]]
        if repeated:
            raise self.fail(f"`{name}` lists axis {repeated[0]} twice", at=name)
        return tuple(sorted(raws))

    def emit(self, op: str, operands: list[Tensor], result: TensorType, **props: Any) -> Tensor:
        return self.ev.emitter.emit(op, operands, result, **props)


def call_builtin(ev: Evaluator, spec: Builtin, call: ast.Call, scope: Scope) -> Value:
    return spec.rule(CallArgs(ev, spec, call, scope))


# ----------------------------------------------------------------------------- elementwise
def _unary(name: str, doc: str) -> None:
    def rule(args: CallArgs) -> Value:
        value = args.value("x")
        if isinstance(value, Number) and value.value is None:
            return Number(None, False)  # of an `int` parameter: folded at each inlined call
        if isinstance(value, Number):
            folded = math_fold(name, float(value.value))
            if folded is None:
                raise args.fail(f"{name}({value.value}) is not a finite real number", at="x")
            return Number(folded, False)
        x = args.tensor("x")
        return args.emit(f"nn.{name}", [x], x.type)

    rule.__doc__ = doc
    builtin(name, "x")(rule)


for _name, _doc in {
    "relu": "max(x, 0) elementwise.",
    "gelu": "x * Phi(x) elementwise (exact erf form).",
    "tanh": "Hyperbolic tangent elementwise.",
    "sigmoid": "1 / (1 + exp(-x)) elementwise.",
    "exp": "e**x elementwise.",
    "log": "Natural logarithm elementwise.",
    "sqrt": "Square root elementwise (also folds numbers: sqrt(64) = 8.0).",
}.items():
    _unary(_name, _doc)


def _binary(name: str, op: str) -> None:
    def rule(args: CallArgs) -> Value:
        # Exactly `a OP b`: numbers fold, and errors point at the offending argument.
        spelled = ast.Binary(op, args.exprs["a"], args.exprs["b"], args.call.span)
        return args.ev.eval(spelled, args.scope)

    rule.__doc__ = f"`a {op} b` with broadcasting."
    builtin(name, "a", "b")(rule)


for _name, _op in {"add": "+", "sub": "-", "mul": "*", "div": "/"}.items():
    _binary(_name, _op)


def matmul_rule(ev: Evaluator, node: ast.Binary | ast.Call, lhs: Value, rhs: Value) -> Tensor:
    """``lhs[..., M, K] @ rhs[..., K, N]``; batch dimensions broadcast."""
    for side in (lhs, rhs):
        if not isinstance(side, Tensor) or not side.type.is_float or side.type.rank < 2:
            got = side.type if isinstance(side, Tensor) else side.describe()
            raise ev.fail(node.span, f"`@` needs float tensors of rank 2 or more, got {got}")
    assert isinstance(lhs, Tensor) and isinstance(rhs, Tensor)
    a, b = lhs.type, rhs.type
    if a.dtype != b.dtype:
        raise ev.fail(node.span, f"`@` mixes dtypes {a.dtype} and {b.dtype}")
    if a.dims[-1] != b.dims[-2]:
        raise ev.fail(
            node.span,
            f"`@`: contracting dimensions differ: {a} @ {b} ({a.dims[-1]} vs {b.dims[-2]})",
        )
    batch = broadcast_dims(a.dims[:-2], b.dims[:-2])
    if batch is None:
        raise ev.fail(node.span, f"`@`: batch dimensions of {a} and {b} do not broadcast")
    result = a.with_dims(batch + (a.dims[-2], b.dims[-1]))
    lhs = ev.broadcast_to(lhs, batch + a.dims[-2:])
    if b.rank > 2 or a.rank == 2:
        rhs = ev.broadcast_to(rhs, batch + b.dims[-2:])
    return ev.emitter.emit("nn.matmul", [lhs, rhs], result)


@builtin("matmul", "a", "b")
def _matmul(args: CallArgs) -> Value:
    """Matrix product, the same as `a @ b`."""
    return matmul_rule(args.ev, args.call, args.value("a"), args.value("b"))


# ----------------------------------------------------------------------------- reductions
def _reduction(name: str, doc: str) -> None:
    def rule(args: CallArgs) -> Value:
        x = args.tensor("x")
        axes = args.axes("axis", x.type.rank)
        keep = args.flag("keepdims")
        if not axes:  # a scalar, or `axis=[]`: reducing over no axis leaves x as it is
            return x
        dims = [Dim(1) if i in axes else d for i, d in enumerate(x.type.dims) if keep or i not in axes]
        return args.emit(f"nn.{name}", [x], x.type.with_dims(dims), axes=axes, keepdims=keep)

    rule.__doc__ = doc
    builtin(name, "x", axis=None, keepdims=False)(rule)


for _name, _doc in {
    "sum": "Sum over `axis` (an int, a list, or every axis when omitted).",
    "mean": "Mean over `axis` (an int, a list, or every axis when omitted).",
    "max": "Maximum over `axis` (an int, a list, or every axis when omitted).",
}.items():
    _reduction(_name, _doc)


# ----------------------------------------------------------------------------- shapes
@builtin("reshape", "x", "shape")
def _reshape(args: CallArgs) -> Value:
    """View `x` with a new shape of the same number of elements: reshape(x, [B*T, D])."""
    x = args.tensor("x", float_only=False)
    dims = args.dims("shape")
    if product(x.type.dims) != product(dims):
        def count(d: Dim) -> str:
            return f"{d} element" + ("" if d == Dim(1) else "s")

        raise args.fail(
            f"cannot reshape {x.type} ({count(product(x.type.dims))}) into "
            f"{format_shape(dims)} ({count(product(dims))})",
            at="shape",
        )
    if dims == x.type.dims:
        return x  # already that shape
    return args.emit("nn.reshape", [x], x.type.with_dims(dims), shape=dims)


@builtin("transpose", "x", perm=None)
def _transpose(args: CallArgs) -> Value:
    """Permute axes; without `perm`, swap the last two."""
    x = args.tensor("x", float_only=False)
    rank = x.type.rank
    if not args.given("perm"):
        if rank < 2:
            raise args.fail(f"needs a tensor of rank 2 or more, got {x.type}", at="x")
        perm = tuple(range(rank - 2)) + (rank - 1, rank - 2)
    else:
        value = args.value("perm")
        items = value.items if isinstance(value, ListValue) else ()
        perm = tuple(int(i.value) for i in items if isinstance(i, Number) and i.is_int and i.value is not None)
        if sorted(perm) != list(range(rank)) or len(perm) != len(items):
            listed = isinstance(value, ListValue) and len(perm) == len(items)
            got = list(perm) if listed else value.describe()
            raise args.fail(
                f"`perm` must be a permutation of {list(range(rank))} for {x.type}, got {got}",
                at="perm",
            )
    if perm == tuple(range(rank)):
        return x  # the identity permutation moves nothing
    dims = tuple(x.type.dims[p] for p in perm)
    return args.emit("nn.transpose", [x], x.type.with_dims(dims), perm=perm)


@builtin("broadcast", "x", "shape")
def _broadcast(args: CallArgs) -> Value:
    """Broadcast `x` to `shape` by NumPy's rule (see docs/language.md)."""
    x = args.tensor("x", float_only=False)
    dims = args.dims("shape")
    if broadcast_dims(x.type.dims, dims) != dims:
        raise args.fail(f"cannot broadcast {x.type} to {format_shape(dims)}", at="shape")
    return args.ev.broadcast_to(x, dims)


def index_rule(ev: Evaluator, node: ast.Index, scope: Scope) -> Value:
    """``x[i, lo:hi, ...]``: integer indices drop an axis, slices keep it."""
    x = ev.eval_tensor(node.base, scope, "an indexed value")
    if len(node.items) > x.type.rank:
        count = f"{len(node.items)} {'index' if len(node.items) == 1 else 'indices'}"
        raise ev.fail(node.span, f"too many indices: {x.type} has rank {x.type.rank}, got {count}")
    axis = 0
    for item, size in zip(node.items, x.type.dims):
        if isinstance(item, ast.Slice):
            x = _slice(ev, x, item, axis, size, scope)
            axis += 1
        else:
            x = _index(ev, x, item, axis, size, scope)
    return x


def _index(ev: Evaluator, x: Tensor, item: ast.Expr, axis: int, size: Dim, scope: Scope) -> Tensor:
    dims = x.type.dims[:axis] + x.type.dims[axis + 1 :]
    value = ev.eval(item, scope)
    if isinstance(value, Number) and value.is_int and value.value is None:
        # A function's `int` parameter: checked against the size at each inlined call.
        return Tensor(x.type.with_dims(dims))
    i = int(ev.eval_static(item, scope, want_int=True))
    if size.is_static:
        if not -size.value <= i < size.value:
            raise ev.fail(item.span, f"index {i} is out of range for axis {axis} of size {size}")
        i %= size.value
    elif i < 0:
        raise ev.fail(item.span, f"negative index {i} on axis {axis} of symbolic size {size}")
    return ev.emitter.emit("nn.index", [x], x.type.with_dims(dims), axis=axis, index=i)


def _slice(ev: Evaluator, x: Tensor, item: ast.Slice, axis: int, size: Dim, scope: Scope) -> Tensor:
    lo = ev.eval_dim(item.lo, scope) if item.lo is not None else Dim(0)
    hi = ev.eval_dim(item.hi, scope) if item.hi is not None else size
    if lo == Dim(0) and hi == size:
        return x
    if not lo.is_static:
        raise ev.fail(item.span, f"a slice must start at a static offset, got {lo}")
    if hi.is_static:
        if size.is_static and hi.value > size.value:
            raise ev.fail(item.span, f"slice {lo}:{hi} is out of range for axis {axis} of size {size}")
        if lo.value >= hi.value:
            raise ev.fail(item.span, f"slice {lo}:{hi} is empty")
        length = Dim(hi.value - lo.value)
    elif lo.value != 0:
        raise ev.fail(
            item.span, f"a slice ending at the symbolic size {hi} must start at 0, not {lo}"
        )
    else:
        length = hi
    dims = x.type.dims[:axis] + (length,) + x.type.dims[axis + 1 :]
    return ev.emitter.emit("nn.slice", [x], x.type.with_dims(dims), axis=axis, start=lo.value, stop=hi)


# ----------------------------------------------------------------------------- layers
@builtin("softmax", "x", axis=-1)
def _softmax(args: CallArgs) -> Value:
    """exp(x - max) / sum(exp(x - max)) along `axis` (default: the last)."""
    x = args.tensor("x")
    return args.emit("nn.softmax", [x], x.type, axis=args.axis("axis", x.type.rank))


@builtin("layernorm", "x", "gamma", "beta", eps=1e-5)
def _layernorm(args: CallArgs) -> Value:
    """(x - mean) / sqrt(var + eps) * gamma + beta over the last axis."""
    x = args.tensor("x")
    if x.type.rank < 1:
        raise args.fail("needs a tensor of rank 1 or more", at="x")
    want = TensorType(x.type.dtype, x.type.dims[-1:])
    gamma, beta = args.tensor("gamma"), args.tensor("beta")
    for name, t in (("gamma", gamma), ("beta", beta)):
        if t.type != want:
            raise args.fail(f"`{name}` must be {want} to match {x.type}, got {t.type}", at=name)
    eps = float(args.static("eps", want_int=False))
    if eps <= 0:
        raise args.fail(f"`eps` must be positive, got {eps}", at="eps")
    return args.emit("nn.layernorm", [x, gamma, beta], x.type, eps=eps)


@builtin("embedding", "table", "ids")
def _embedding(args: CallArgs) -> Value:
    """Rows of `table[V, D]` gathered by integer `ids[...]`: the result is [..., D]."""
    table = args.tensor("table")
    if table.type.rank != 2:
        raise args.fail(f"`table` must have rank 2 ([vocab, dim]), got {table.type}", at="table")
    ids = args.tensor("ids", float_only=False)
    if ids.type.is_float:
        raise args.fail(f"`ids` must be an integer tensor, got {ids.type}", at="ids")
    return args.emit("nn.embedding", [table, ids], table.type.with_dims(ids.type.dims + table.type.dims[1:]))


@builtin("causal_mask", "x")
def _causal_mask(args: CallArgs) -> Value:
    """Set x[..., i, j] to -inf where j > i (attention scores before softmax)."""
    x = args.tensor("x")
    if x.type.rank < 2 or x.type.dims[-1] != x.type.dims[-2]:
        raise args.fail(f"needs scores of shape [..., T, T], got {x.type}", at="x")
    return args.emit("nn.causal_mask", [x], x.type)


@builtin("cross_entropy", "logits", "labels")
def _cross_entropy(args: CallArgs) -> Value:
    """Mean over positions of -log softmax(logits)[label]: logits [..., C], labels [...]."""
    logits = args.tensor("logits")
    if logits.type.rank < 1:
        raise args.fail("`logits` must have a class axis", at="logits")
    labels = args.tensor("labels", float_only=False)
    if labels.type.is_float:
        raise args.fail(f"`labels` must be an integer tensor, got {labels.type}", at="labels")
    if labels.type.dims != logits.type.dims[:-1]:
        raise args.fail(
            f"`labels` must have shape {format_shape(logits.type.dims[:-1])} to match "
            f"logits {logits.type}, got {labels.type}",
            at="labels",
        )
    # The loss is accumulated and returned in fp32 whatever the logits' dtype (docs/ir.md).
    return args.emit("nn.cross_entropy", [logits, labels], TensorType("f32", ()))
