"""User functions: generic checking at the definition, signature checks and inlining at calls.

``fn dense[N, I, O](h: f32[N, I], w: f32[I, O]) -> f32[N, O] { ... }`` is generic over the
dimension parameters in brackets. A call binds them by matching argument shapes against
parameter shapes (``N = B*T``), then the result type is the declared (or inferred) one
with the bindings substituted. When building IR the body is inlined at each call, so the
IR has no calls and later passes see one straight-line graph per entry point.
"""

from __future__ import annotations

from scalc.dialects.nn.dims import Dim
from scalc.frontend import ast
from scalc.frontend.evaluate import Evaluator, Function, Reported, bind_arguments
from scalc.frontend.scope import Scope
from scalc.frontend.types import POISON, DimValue, Number, Tensor, TensorType, Value


def define_function(ev: Evaluator, node: ast.FnDef, scope: Scope) -> None:
    """Bind ``node`` in ``scope``; when checking, check its body with symbolic dimensions."""
    fn = Function(node)
    ev.define(scope, node.name, fn, "fn", node.name_span)
    body_scope = _signature_scope(ev, node, scope, {})
    fn.params = []
    failed = False
    for p in node.params:
        try:
            ptype = None if p.type is None else ev.eval_type(p.type, body_scope)
            fn.params.append((p.name, ptype))
        except Reported:
            failed = True
    if failed:
        scope.names[node.name].value = POISON
        return
    if ev.emitter.building:
        return
    for name, type in fn.params:
        value = Number(None, True) if type is None else Tensor(type)
        body_scope.define(name, value, "arg", node.span)
    try:
        result = _run_body(ev, node, body_scope)
        if isinstance(result, Tensor) and node.result is not None:
            declared = ev.eval_type(node.result, body_scope)
            if declared != result.type:
                ret = node.body[-1]
                raise ev.fail(ret.span, f"`{node.name}` is declared to return {declared}, but returns {result.type}")
        fn.result = result.type if isinstance(result, Tensor) else None
    finally:
        # A body with errors poisons the function: its calls are not reported again (and
        # not mistaken for recursion, which is what an unfinished result means).
        if fn.result is None:
            scope.names[node.name].value = POISON


def call_function(ev: Evaluator, fn: Function, call: ast.Call, scope: Scope) -> Value:
    """Check a call against ``fn``'s signature; when building, inline the body."""
    node = fn.node
    if fn.params is None or (fn.result is None and not ev.emitter.building):
        raise ev.fail(
            call.func_span,
            f"recursive call to `{node.name}`: functions are inlined, so they cannot recurse",
        )
    args = _bind_arguments(ev, fn, call, scope)
    dim_vars = {name for name, _ in node.dim_params}
    binding: dict[str, Dim] = {}
    for (pname, ptype), (arg, expr) in zip(fn.params, args):
        if ptype is None or not isinstance(arg, Tensor):
            continue  # compile-time ints were checked when binding
        if not _unify(ptype, arg.type, binding, dim_vars):
            bound = ", ".join(f"{k} = {v}" for k, v in binding.items() if k in str(ptype))
            note = f" (with {bound})" if bound else ""
            raise ev.fail(
                expr.span,
                f"`{node.name}`: argument `{pname}` must be {ptype}{note}, got {arg.type}",
            )
    unbound = [n for n in dim_vars if n not in binding]
    if unbound:
        raise ev.fail(call.span, f"`{node.name}`: cannot infer dimension `{unbound[0]}` from the arguments")
    if not ev.emitter.building:
        assert fn.result is not None
        return Tensor(fn.result.substitute(binding))
    body_scope = _signature_scope(ev, node, scope.root(), binding)
    for (pname, _), (arg, _) in zip(fn.params, args):
        body_scope.define(pname, arg, "arg", node.span)
    ev.call_sites.append((node.name, call.span))
    try:
        return _run_body(ev, node, body_scope)
    finally:
        ev.call_sites.pop()


def _signature_scope(ev: Evaluator, node: ast.FnDef, root: Scope, binding: dict[str, Dim]) -> Scope:
    body = root.child(is_function=True)
    for name, span in node.dim_params:
        dim = binding.get(name, Dim(1, (name,)))
        ev.define(body, name, DimValue(dim), "dimparam", span)
    return body


def _run_body(ev: Evaluator, node: ast.FnDef, scope: Scope) -> Value:
    early = [s for s in node.body[:-1] if isinstance(s, ast.Return)]
    for stmt in early:
        ev.sink.error(stmt.span, "`return` must be the last statement of a function")
    if not node.body or not isinstance(node.body[-1], ast.Return):
        if early:
            raise Reported()
        raise ev.fail(node.name_span, f"function `{node.name}` must end with `return`")
    failed = bool(early)
    for stmt in node.body[:-1]:
        if isinstance(stmt, ast.Return):
            continue
        try:
            ev.run_stmt(stmt, scope)
        except Reported:
            failed = True
    ret = node.body[-1]
    assert isinstance(ret, ast.Return)
    value = ev.eval_tensor(ret.value, scope, f"the result of `{node.name}`")
    if failed:
        raise Reported()
    return value


def _bind_arguments(
    ev: Evaluator, fn: Function, call: ast.Call, scope: Scope
) -> list[tuple[Tensor | Number, ast.Expr]]:
    node = fn.node
    names = [p.name for p in node.params]
    exprs = bind_arguments(ev, f"`{node.name}`", names, call.args, call.kwargs)
    missing = [n for n in names if n not in exprs]
    if missing:
        raise ev.fail(call.span, f"`{node.name}`: missing argument `{missing[0]}`")
    assert fn.params is not None
    bound: list[tuple[Tensor | Number, ast.Expr]] = []
    for name, ptype in fn.params:
        expr = exprs[name]
        if ptype is None:
            value = ev.eval(expr, scope)
            if not (isinstance(value, Number) and value.is_int):
                got = value.value if isinstance(value, Number) else value.describe()
                raise ev.fail(
                    expr.span,
                    f"`{node.name}`: argument `{name}` must be a compile-time integer, got {got}",
                )
            bound.append((value, expr))
        else:
            bound.append((ev.eval_tensor(expr, scope, f"`{node.name}`: argument `{name}`"), expr))
    return bound


def _unify(param: TensorType, arg: TensorType, binding: dict[str, Dim], dim_vars: set[str]) -> bool:
    """Match ``arg`` against ``param``, binding dimension variables; False on a mismatch."""
    if param.dtype != arg.dtype or param.rank != arg.rank:
        return False
    for p, a in zip(param.dims, arg.dims):
        p = p.substitute(binding)
        free = [s for s in p.symbols if s in dim_vars]
        if not free:
            if p != a:
                return False
            continue
        if len(free) > 1:
            return False
        rest = Dim(p.coeff, tuple(s for s in p.symbols if s != free[0]))
        value = a.divide(rest)
        if value is None or value.coeff == 0:
            return False
        binding[free[0]] = value
    return True
