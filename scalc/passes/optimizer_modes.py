"""How each optimizer precision mode updates one parameter (docs/collage.md).

``fp32`` is the plain update (``nn.adamw`` / ``nn.sgd``). The low-precision modes split it
into the intended update ``Δ`` (``nn.adamw_delta`` / ``nn.sgd_delta``) and its
application: an fp32 subtraction on fp32 master weights (``fp32-master``), a bf16
subtraction that loses updates smaller than half a bf16 ulp (``bf16``, the naive
baseline), or a multi-component-float ``nn.grow`` that keeps them (``collage-light``,
``collage-plus``). Every mode also reports ``nn.update_stats`` (effective descent
quality, stalled elements) for the session's metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.dialects.builtin import BFloat16Type, TensorType, f32
from xdsl.ir import Block, Operation, SSAValue

from scalc.dialects import nn

PRECISIONS = ("fp32", "fp32-master", "bf16", "collage-light", "collage-plus")
BF16 = BFloat16Type()


def state_name(param: str, slot: str) -> str:
    """The symbol of a parameter's optimizer state: ``w1.m``."""
    return f"{param}.{slot}"


def bf16_like(t: TensorType) -> TensorType:
    return TensorType(BF16, t.get_shape())


def storage_type(precision: str, t: TensorType) -> TensorType:
    """The type a parameter is stored in (bf16 where the model weight is the parameter)."""
    return bf16_like(t) if precision in ("bf16", "collage-light", "collage-plus") else t


def update_slots(precision: str, kind: str, slots: tuple[str, ...]) -> tuple[str, ...]:
    """The optimizer state the update reads and writes: ``slots`` (``m``, ``v`` or
    ``momentum``), plus the low part of an MCF second moment in ``collage-plus``."""
    return slots + ("v_lo",) if precision == "collage-plus" and kind == "adamw" else slots


def extra_slots(precision: str) -> tuple[str, ...]:
    """State a mode keeps beside the optimizer's: the bf16 model copy of ``fp32-master``,
    the compensation ``lo`` of Collage's MCF weights."""
    return {"fp32-master": ("model",), "collage-light": ("lo",), "collage-plus": ("lo",)}.get(
        precision, ()
    )


def slot_type(precision: str, optimizer_state: TensorType, slot: str) -> TensorType:
    """The type of a state slot: bf16 in the bf16 modes and for compensation terms."""
    if precision in ("bf16", "collage-light", "collage-plus") or slot in ("model", "lo", "v_lo"):
        return bf16_like(optimizer_state)
    return optimizer_state


@dataclass
class StepBuilder:
    """The ``@optimizer_step`` block under construction and what it returns."""

    block: Block
    kind: str
    precision: str
    hyper: dict[str, object]
    lr: SSAValue
    t: SSAValue
    stats: list[SSAValue] = field(default_factory=list)

    def add(self, op: Operation) -> tuple[SSAValue, ...]:
        self.block.add_op(op)
        return tuple(op.results)

    def read_param(self, name: str, t: TensorType) -> SSAValue:
        (value,) = self.add(nn.GetParamOp(name, t))
        value.name_hint = name
        return value

    def read_state(self, name: str, slot: str, t: TensorType) -> SSAValue:
        return self.add(nn.GetStateOp(state_name(name, slot), t))[0]

    def write_state(self, name: str, slot: str, value: SSAValue) -> None:
        self.add(nn.SetStateOp(state_name(name, slot), value))

    def cast(self, value: SSAValue, t: TensorType) -> SSAValue:
        return value if value.type == t else self.add(nn.CastOp(value, t))[0]

    def delta(self, w: SSAValue, g: SSAValue, state: list[SSAValue], precision: str) -> tuple[SSAValue, list[SSAValue]]:
        """The intended update ``Δ`` (new weight = ``w - Δ``) and the new optimizer state."""
        h = self.hyper
        if self.kind == "adamw":
            m, v, *v_lo = state
            op: Operation = nn.AdamWDeltaOp(
                w, g, m, v, self.lr, self.t,
                beta1=h["beta1"], beta2=h["beta2"], eps=h["eps"], weight_decay=h["weight_decay"],
                precision=precision, v_lo=v_lo[0] if v_lo else None,
            )  # fmt: skip
        else:
            op = nn.SgdDeltaOp(
                w, g, state[0], self.lr,
                momentum=h["momentum"], weight_decay=h["weight_decay"], nesterov=h["nesterov"],
                precision=precision,
            )  # fmt: skip
        d, *new_state = self.add(op)
        return d, new_state

    def record(self, old: SSAValue, new: SSAValue, d: SSAValue) -> None:
        self.stats.append(self.add(nn.UpdateStatsOp(old, new, d))[0])


def update(step: StepBuilder, name: str, grad: SSAValue, gtype: TensorType, slots: tuple[str, ...]) -> None:
    """Append the update of parameter ``name`` (gradient ``grad``, fp32) in ``step``'s mode."""
    _UPDATES[step.precision](step, name, grad, gtype, slots)


def _fp32(step: StepBuilder, name: str, grad: SSAValue, gtype: TensorType, slots: tuple[str, ...]) -> None:
    w = step.read_param(name, gtype)
    state = [step.read_state(name, s, gtype) for s in slots]
    h = step.hyper
    if step.kind == "adamw":
        op: Operation = nn.AdamWOp(
            w, grad, *state, step.lr, step.t,
            beta1=h["beta1"], beta2=h["beta2"], eps=h["eps"], weight_decay=h["weight_decay"],
        )  # fmt: skip
    else:
        op = nn.SgdOp(
            w, grad, *state, step.lr,
            momentum=h["momentum"], weight_decay=h["weight_decay"], nesterov=h["nesterov"],
        )  # fmt: skip
    new_w, *new_state = step.add(op)
    step.add(nn.SetParamOp(name, new_w))
    for slot, value in zip(slots, new_state):
        step.write_state(name, slot, value)
    (applied,) = step.add(nn.SubOp(w, new_w))
    step.record(w, new_w, applied)


def _fp32_master(step: StepBuilder, name: str, grad: SSAValue, gtype: TensorType, slots: tuple[str, ...]) -> None:
    master = step.read_param(name, gtype)
    state = [step.read_state(name, s, gtype) for s in slots]
    d, new_state = step.delta(master, grad, state, "f32")
    (new_master,) = step.add(nn.SubOp(master, d))
    step.add(nn.SetParamOp(name, new_master))
    for slot, value in zip(slots, new_state):
        step.write_state(name, slot, value)
    step.write_state(name, "model", step.cast(new_master, bf16_like(gtype)))
    step.record(master, new_master, d)


def _bf16(step: StepBuilder, name: str, grad: SSAValue, gtype: TensorType, slots: tuple[str, ...]) -> None:
    low = bf16_like(gtype)
    w = step.read_param(name, low)
    state = [step.read_state(name, s, low) for s in slots]
    d, new_state = step.delta(w, step.cast(grad, low), state, "bf16")
    (new_w,) = step.add(nn.SubOp(w, d))  # bf16 - bf16, rounded: small updates are lost here
    step.add(nn.SetParamOp(name, new_w))
    for slot, value in zip(slots, new_state):
        step.write_state(name, slot, value)
    step.record(w, new_w, d)


def _collage(step: StepBuilder, name: str, grad: SSAValue, gtype: TensorType, slots: tuple[str, ...]) -> None:
    low = bf16_like(gtype)
    hi = step.read_param(name, low)
    lo = step.read_state(name, "lo", low)
    state = [step.read_state(name, s, low) for s in slots]
    d, new_state = step.delta(hi, step.cast(grad, low), state, "bf16")
    (minus_d,) = step.add(nn.NegOp(d))
    new_hi, new_lo = step.add(nn.GrowOp(hi, lo, minus_d))  # hi + lo - Δ, exactly
    step.add(nn.SetParamOp(name, new_hi))
    step.write_state(name, "lo", new_lo)
    for slot, value in zip(slots, new_state):
        step.write_state(name, slot, value)
    # θ = hi + lo, exact in fp32 (two bf16 values at most 16 bits apart).
    old = step.add(nn.AddOp(step.cast(hi, gtype), step.cast(lo, gtype)))[0]
    new = step.add(nn.AddOp(step.cast(new_hi, gtype), step.cast(new_lo, gtype)))[0]
    step.record(old, new, d)


_UPDATES = {
    "fp32": _fp32,
    "fp32-master": _fp32_master,
    "bf16": _bf16,
    "collage-light": _collage,
    "collage-plus": _collage,
}
