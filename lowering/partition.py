"""Partition the scaled module into kernel groups: the plan the Triton emitter follows.

``partition(module)`` reads the entry points of the scaled module (`ENTRIES`: the scaled
ops of ``@forward``, ``@train_forward``, ``@train_backward`` and the ``nn`` ops of
``@optimizer_step``) and assigns every op of each (the ``func.return`` aside) to exactly
one `KernelGroup`.  The kinds, their rules and the order they are applied in are in
docs/lowering.md; in short, one rule function per kind, applied in `RULES` order, each
taking only ops that no earlier rule took::

    optimizer  every update op of @optimizer_step, one group
    gemm       a scaled.matmul + its single-use elementwise epilogue + the amax of the result
    rowwise    softmax, layernorm, cross_entropy, embedding and their grads;
               causal_mask with the softmax it feeds
    cast       (amax) + rescale + (cast) of one tensor, with a transpose before it (K-major)
    elementwise  maximal single-use trees of elementwise ops and broadcasts
    reduce     sum/mean/max/amax and update_history that nothing above absorbed
    host       parameter/state reads and writes, from/to_tensor, constants, views

Every group is convex (no path leaves it and comes back), so the groups of an entry can
be ordered topologically; `KernelPlan` holds them in that order, ties broken by program
order, with consecutive host ops merged into one host group.

>>> plan = partition(scaled_module)                                 # doctest: +SKIP
>>> [g.name for g in plan.groups["forward"]][:4]                    # doctest: +SKIP
['k0_host', 'k1_cast_e4m3', 'k2_cast_e4m3', 'k3_gemm_e4m3_bias_relu_amax']
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from io import StringIO

from xdsl.dialects.builtin import ModuleOp, SymbolRefAttr
from xdsl.dialects.func import FuncOp
from xdsl.ir import Operation, SSAValue
from xdsl.printer import Printer

from scalc.dialects import nn, scaled
from scalc.dialects.scaled.types import ScaledTensorType

ENTRIES = ("forward", "train_forward", "train_backward", "optimizer_step")
"""The entry points a session runs, in the order the plan lists them."""

KINDS = ("gemm", "elementwise", "rowwise", "cast", "reduce", "optimizer", "host")
"""The kernel kinds, in the order the summary counts them."""



def with_nn(classes: tuple[type[Operation], ...]) -> tuple[type[Operation], ...]:
    """``classes`` and the ``nn`` ops they mirror: the fp32 recipe's scaled stage is the
    train module itself (docs/scaled.md), partitioned by the same rules."""
    return classes + tuple(op for op, mirror in scaled.MIRROR.items() if mirror in classes)


ELEMENTWISE: tuple[type[Operation], ...] = with_nn((
    scaled.NegOp, scaled.ReluOp, scaled.GeluOp, scaled.TanhOp, scaled.SigmoidOp,
    scaled.ExpOp, scaled.LogOp, scaled.SqrtOp, scaled.AddOp, scaled.SubOp, scaled.MulOp,
    scaled.DivOp, scaled.ReluGradOp, scaled.GeluGradOp, scaled.TanhGradOp,
    scaled.SigmoidGradOp, scaled.SqrtGradOp, scaled.MeanGradOp, scaled.MaxGradOp,
    scaled.SliceGradOp, scaled.IndexGradOp,
)) + (nn.CastOp,)  # fmt: skip
"""Ops computed independently per output element (the ``*_grad`` of reductions and views
broadcast or pad ``dy``): a gemm epilogue or an elementwise kernel."""

RESHAPING_GRADS: tuple[type[Operation], ...] = with_nn((
    scaled.MeanGradOp, scaled.MaxGradOp, scaled.SliceGradOp, scaled.IndexGradOp,
))  # fmt: skip
"""Elementwise ops whose result is indexed differently from their ``dy`` (they broadcast or
pad it): an elementwise kernel computes them in the result's index space, but a gemm
epilogue, which runs in the matmul's output tile, cannot."""

EPILOGUE: tuple[type[Operation], ...] = tuple(op for op in ELEMENTWISE if op not in RESHAPING_GRADS)
"""Elementwise ops a gemm epilogue can apply to its accumulator tile."""

ROWWISE: tuple[type[Operation], ...] = with_nn((
    scaled.SoftmaxOp, scaled.SoftmaxGradOp, scaled.LayerNormOp, scaled.LayerNormGradOp,
    scaled.CrossEntropyOp, scaled.CrossEntropyGradOp, scaled.CausalMaskOp,
    scaled.CausalMaskGradOp, scaled.EmbeddingOp, scaled.EmbeddingGradOp,
))  # fmt: skip
"""Ops whose output row needs a whole input row (a row max, mean or a gathered row)."""

REDUCE: tuple[type[Operation], ...] = with_nn((
    scaled.SumOp, scaled.MeanOp, scaled.MaxOp, scaled.AmaxOp, scaled.UpdateHistoryOp,
))  # fmt: skip
"""Reductions that get a kernel of their own when no gemm or cast absorbed them."""

HOST: tuple[type[Operation], ...] = with_nn((
    nn.GetParamOp, nn.GetStateOp, nn.SetParamOp, nn.SetStateOp, nn.ConstantOp,
    scaled.ConstantOp, scaled.FromTensorOp, scaled.ToTensorOp, scaled.ReshapeOp,
    scaled.TransposeOp, scaled.SliceOp, scaled.IndexOp,
))  # fmt: skip
"""Ops that launch nothing: buffer reads and writes, conversions at the boundary, scalar
constants, and views (reshape, transpose, slice, index) that no kernel absorbed."""

_EPILOGUE_WORD: dict[type[Operation], str] = {
    scaled.MulOp: "scale", scaled.DivOp: "scale", nn.MulOp: "scale", nn.DivOp: "scale",
}  # fmt: skip
"""Name of an epilogue op in a gemm's name when it is not the op's own short name."""


@dataclass
class KernelGroup:
    """Ops of one entry point that run as one kernel (or, kind ``host``, on the host)."""

    name: str
    kind: str
    entry: str
    ops: list[Operation]


@dataclass
class KernelPlan:
    """The kernel groups of each entry point, in an order that respects data flow."""

    groups: dict[str, list[KernelGroup]] = field(default_factory=dict)
    names: dict[SSAValue, str] = field(default_factory=dict)
    """The printed SSA name of every value, as ``--emit scaled`` prints it."""

    def counts(self, entry: str | None = None) -> dict[str, int]:
        """Groups per kind (in `KINDS` order) of ``entry``, or of the whole plan."""
        entries = [entry] if entry is not None else list(self.groups)
        kinds = [g.kind for e in entries for g in self.groups[e]]
        return {kind: kinds.count(kind) for kind in KINDS}

    def show(self) -> str:
        """The plan as text (``scalc compile --emit kernels``): per entry point one line
        per group, ``NAME  KIND  %4 = scaled.matmul, %6 = scaled.add, ...``, then the
        number of groups of each kind."""
        out = StringIO()
        for entry, groups in self.groups.items():
            out.write(f"@{entry}: {len(groups)} groups\n")
            width = max(len(g.name) for g in groups)
            for group in groups:
                ops = ", ".join(describe_op(op, self.names) for op in group.ops)
                out.write(f"  {group.name:<{width}}  {group.kind:<11}  {ops}\n")
            out.write(f"  summary: {_summary(self.counts(entry))}\n")
        out.write(f"total: {_summary(self.counts())}\n")
        return out.getvalue()


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in counts.items())


def describe_op(op: Operation, names: dict[SSAValue, str]) -> str:
    """``%4 = scaled.matmul``; ``nn.set_state @w1.m`` for an op without results."""
    if not op.results:
        symbols = [str(p) for p in op.properties.values() if isinstance(p, SymbolRefAttr)]
        return " ".join([op.name, *symbols])
    return f"{', '.join(names[r] for r in op.results)} = {op.name}"


def partition(module: ModuleOp) -> KernelPlan:
    """The kernel plan of a scaled module (the ``scaled`` stage's output)."""
    plan = KernelPlan()
    functions = {f.sym_name.data: f for f in module.ops if isinstance(f, FuncOp)}
    for entry in ENTRIES:
        if entry in functions:
            function = functions[entry]
            plan.names.update(ssa_names(function))
            plan.groups[entry] = partition_function(function, entry)
    return plan


def ssa_names(function: FuncOp) -> dict[SSAValue, str]:
    """The names the printer gives the values of ``function`` (``%4``, ``%x_1``)."""
    printer = Printer(stream=StringIO())
    printer.print_op(function)
    return {v: f"%{n}" for v, n in printer._ssa_values.items()}  # pyright: ignore[reportPrivateUsage]


# --- the rules: each takes unassigned ops and returns the groups it forms ----------------

Ops = list[Operation]
Groups = list[tuple[str, str, Ops]]  # (kind, name without the kN_ prefix, ops)


class _Claims:
    """Which ops the rules have taken so far, with the op order of the function."""

    def __init__(self, ops: Sequence[Operation]) -> None:
        self.ops = list(ops)
        self.index = {op: i for i, op in enumerate(ops)}
        self.taken: set[Operation] = set()

    def free(self, op: Operation | None, *kinds: type[Operation]) -> bool:
        return op is not None and op in self.index and op not in self.taken and (
            not kinds or isinstance(op, kinds)
        )

    def unassigned(self, *kinds: type[Operation]) -> Ops:
        return [op for op in self.ops if self.free(op, *kinds)]

    def take(self, ops: Iterable[Operation]) -> Ops:
        ordered = sorted(set(ops), key=self.index.__getitem__)
        assert not self.taken.intersection(ordered), "an op was claimed twice"
        self.taken.update(ordered)
        return ordered


def only_user(value: SSAValue) -> Operation | None:
    """The op that is the single user of ``value`` (possibly using it twice), else None."""
    users = {use.operation for use in value.uses}
    return users.pop() if len(users) == 1 else None


def producer(value: SSAValue) -> Operation | None:
    return value.owner if isinstance(value.owner, Operation) else None


def rule_optimizer(claims: _Claims, entry: str) -> Groups:
    """@optimizer_step: every op that is not a host op is one optimizer kernel, so the
    update of all parameters is one launch (a multi-tensor apply)."""
    if entry != "optimizer_step":
        return []
    updates = [op for op in claims.unassigned() if not isinstance(op, HOST)]
    if not updates:
        return []
    kinds = [op.name.split(".")[-1] for op in updates if isinstance(op, nn.OptimizerOp)]
    return [("optimizer", "_".join(["optimizer", *dict.fromkeys(kinds)]), claims.take(updates))]


def rule_gemm(claims: _Claims, entry: str) -> Groups:
    """scaled.matmul, then while its result has one user that is elementwise (and not a
    reshaping grad, `RESHAPING_GRADS`), that user
    (with a single-use broadcast operand: a bias or scale), then the amax of the last
    result if one reads it: the epilogue runs on the accumulator before the store."""
    groups: Groups = []
    for matmul in claims.unassigned(scaled.MatmulOp, nn.MatmulOp):
        members, words = [matmul], [_gemm_dtypes(matmul)]
        last = matmul
        while claims.free(user := only_user(last.results[0]), *EPILOGUE):
            assert user is not None
            side = [producer(v) for v in user.operands if v is not last.results[0]]
            bias = [op for op in side if claims.free(op, scaled.BroadcastOp, nn.BroadcastOp)
                    and only_user(op.results[0]) is user]  # fmt: skip
            members += [*bias, user]
            words.append(_epilogue_word(user, bool(bias)))
            last = user
        amax = [u.operation for u in last.results[0].uses
                if claims.free(u.operation, scaled.AmaxOp)]  # fmt: skip
        if amax:
            members.append(amax[0])
            words.append("amax")
        groups.append(("gemm", "_".join(["gemm", *words]), claims.take(members)))
    return groups


def _gemm_dtypes(matmul: Operation) -> str:
    words = [_dtype_word(v.type) for v in matmul.operands]
    return words[0] if words[0] == words[1] else "_".join(words)


def _dtype_word(type_: object) -> str:
    if not isinstance(type_, ScaledTensorType):
        return "f32"
    text = str(type_.element_type)
    return {"f8E4M3FN": "e4m3", "f8E5M2": "e5m2"}.get(text, text)


def _epilogue_word(op: Operation, broadcast_operand: bool) -> str:
    if isinstance(op, (scaled.AddOp, nn.AddOp)):
        return "bias" if broadcast_operand else "residual"
    return _EPILOGUE_WORD.get(type(op), short_name(op))


def short_name(op: Operation) -> str:
    return op.name.split(".", 1)[-1]


def rule_rowwise(claims: _Claims, entry: str) -> Groups:
    """Each row op alone, except that causal_mask joins the softmax it only feeds (and
    softmax_grad the causal_mask_grad it only feeds): the mask is applied in registers."""
    groups: Groups = []
    pairs: dict[type[Operation], type[Operation]] = {
        scaled.CausalMaskOp: scaled.SoftmaxOp, scaled.SoftmaxGradOp: scaled.CausalMaskGradOp,
        nn.CausalMaskOp: nn.SoftmaxOp, nn.SoftmaxGradOp: nn.CausalMaskGradOp,
    }  # fmt: skip
    for op in claims.unassigned(*ROWWISE):
        if op in claims.taken:
            continue
        members = [op]
        follower = pairs.get(type(op))
        user = only_user(op.results[0])
        if follower is not None and claims.free(user, follower):
            assert user is not None
            members.append(user)
        name = "_".join(["rowwise", *(short_name(m) for m in members)])
        groups.append(("rowwise", name, claims.take(members)))
    return groups


def rule_cast(claims: _Claims, entry: str) -> Groups:
    """scaled.rescale of a tensor with the amax (and update_history) that gives its scale
    and the scaled.cast of its result; a transpose whose every use is here is done in the
    same pass, writing the cast tensor K-major for the gemm that reads it."""
    groups: Groups = []
    for rescale in claims.unassigned(scaled.RescaleOp):
        source, reference = rescale.operands[0], rescale.operands[1]
        members = [rescale, *_scale_ops(claims, source, reference)]
        cast = only_user(rescale.results[0])
        if claims.free(cast, scaled.CastOp):
            assert cast is not None
            members.append(cast)
        transpose = producer(source)
        kmajor = claims.free(transpose, scaled.TransposeOp) and all(
            u.operation in members for u in source.uses
        )
        if kmajor:
            assert transpose is not None
            members.append(transpose)
        last = cast if cast in members else rescale
        assert last is not None
        words = ["cast" if last is cast else "rescale", *(["kmajor"] if kmajor else [])]
        name = "_".join([*words, _dtype_word(last.results[0].type)])
        groups.append(("cast", name, claims.take(members)))
    for cast in claims.unassigned(scaled.CastOp):
        groups.append(("cast", f"cast_{_dtype_word(cast.results[0].type)}", claims.take([cast])))
    return groups


def _scale_ops(claims: _Claims, source: SSAValue, reference: SSAValue) -> Ops:
    """The free amax of ``source`` (and the update_history over it) giving ``reference``."""
    ops: Ops = []
    ref_op = producer(reference)
    if claims.free(ref_op, scaled.UpdateHistoryOp):
        assert ref_op is not None
        ops.append(ref_op)
        ref_op = producer(ref_op.operands[1])
    if claims.free(ref_op, scaled.AmaxOp) and ref_op is not None and ref_op.operands[0] is source:
        ops.append(ref_op)
    return ops


def rule_elementwise(claims: _Claims, entry: str) -> Groups:
    """Maximal trees of elementwise ops and broadcasts in which every op but the root has
    one user, inside the tree: one kernel reads the leaves and writes only the root."""
    groups: Groups = []
    fusable = (*ELEMENTWISE, scaled.BroadcastOp, nn.BroadcastOp)
    for root in reversed(claims.unassigned(*fusable)):
        if root in claims.taken:
            continue
        members, frontier = [root], [root]
        while frontier:
            for value in frontier.pop().operands:
                op = producer(value)
                if claims.free(op, *fusable) and op not in members and only_user(value) in members:
                    assert op is not None
                    members.append(op)
                    frontier.append(op)
        ordered = claims.take(members)
        words = [short_name(op) for op in ordered if not isinstance(op, (scaled.BroadcastOp, nn.BroadcastOp))]
        name = "_".join(["elementwise", *dict.fromkeys(words or ["broadcast"])])
        groups.append(("elementwise", name, ordered))
    groups.reverse()
    return groups


def rule_reduce(claims: _Claims, entry: str) -> Groups:
    """A reduction no gemm or cast absorbed: a kernel of its own."""
    return [("reduce", f"reduce_{short_name(op)}", claims.take([op]))
            for op in claims.unassigned(*REDUCE)]  # fmt: skip


def rule_host(claims: _Claims, entry: str) -> Groups:
    """What is left stays on the host, one group per op (merged later when adjacent)."""
    left = claims.unassigned()
    unplanned = sorted({op.name for op in left if not isinstance(op, HOST)})
    assert not unplanned, f"no kernel rule takes {unplanned} in @{entry}"
    return [("host", "host", claims.take([op])) for op in left]


Rule = Callable[[_Claims, str], Groups]
RULES: tuple[Rule, ...] = (
    rule_optimizer, rule_gemm, rule_rowwise, rule_cast, rule_elementwise, rule_reduce, rule_host,
)  # fmt: skip
"""The rules in the order they are applied: larger fusions first, so that a gemm takes
its epilogue and amax before the elementwise and reduce rules see them."""


# --- ordering ----------------------------------------------------------------------------


def partition_function(function: FuncOp, entry: str) -> list[KernelGroup]:
    """The groups of one entry point, numbered ``k0_...`` in a topological order."""
    ops = [op for op in function.body.ops if op is not function.body.block.last_op]
    claims = _Claims(ops)
    found = [group for rule in RULES for group in rule(claims, entry)]
    assigned = [op for _, _, members in found for op in members]
    assert sorted(map(claims.index.__getitem__, assigned)) == list(range(len(ops))), (
        f"@{entry}: not every op is in exactly one group"
    )
    ordered = _merge_host_runs(topological_order(found, ops))
    return [
        KernelGroup(f"k{i}_{name}", kind, entry, members)
        for i, (kind, name, members) in enumerate(ordered)
    ]


def topological_order(groups: Groups, ops: Sequence[Operation]) -> Groups:
    """``groups`` so that each comes after those it reads from (SSA values, and the
    program order of reads and writes of one parameter or state); among the ready ones,
    the one whose first op comes first.  Fails if a rule made a non-convex group."""
    group_of = {op: g for g, (_, _, members) in enumerate(groups) for op in members}
    edges: list[set[int]] = [set() for _ in groups]
    for before, after in _dependencies(ops):
        if group_of[before] != group_of[after]:
            edges[group_of[before]].add(group_of[after])
    waiting = [0] * len(groups)
    for targets in edges:
        for target in targets:
            waiting[target] += 1
    index = {op: i for i, op in enumerate(ops)}
    first = [min(index[op] for op in members) for _, _, members in groups]
    ready = [(first[g], g) for g in range(len(groups)) if waiting[g] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        _, g = heapq.heappop(ready)
        order.append(g)
        for target in edges[g]:
            waiting[target] -= 1
            if waiting[target] == 0:
                heapq.heappush(ready, (first[target], target))
    assert len(order) == len(groups), "kernel groups depend on each other in a cycle"
    return [groups[g] for g in order]


def _dependencies(ops: Sequence[Operation]) -> Iterable[tuple[Operation, Operation]]:
    inside = set(ops)
    last_touch: dict[str, Operation] = {}
    for op in ops:
        for value in op.operands:
            if (owner := producer(value)) in inside:
                assert owner is not None
                yield owner, op
        for symbol in (p for p in op.properties.values() if isinstance(p, SymbolRefAttr)):
            key = str(symbol)
            if key in last_touch:
                yield last_touch[key], op
            last_touch[key] = op


def _merge_host_runs(groups: Groups) -> Groups:
    """Adjacent host groups (a stretch of a topological order, so still convex) as one."""
    merged: Groups = []
    for kind, name, members in groups:
        if kind == "host" and merged and merged[-1][0] == "host":
            merged[-1] = ("host", "host", merged[-1][2] + members)
        else:
            merged.append((kind, name, list(members)))
    return merged
