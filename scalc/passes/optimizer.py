"""The optimizer as IR: ``@optimizer_step`` and the state it keeps (docs/train.md).

Expects a module on which autodiff has run (the trained parameters and their gradient
types). Adds an ``nn.state`` per optimizer slot (``@w1.m``, ``@w1.v`` for AdamW,
``@w1.momentum`` for SGD) plus the step count ``@step``, and the entry point
``@optimizer_step(grads..., lr)`` that updates parameters and state in place. The
optimizer and its hyper-parameters are chosen at compile time; the learning rate is also
an input so a schedule can change it every step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    BoolAttr,
    DictionaryAttr,
    FloatAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    f32,
    f64,
)
from xdsl.ir import Attribute, Block, Region, SSAValue

from scalc.diagnostics import ScalcError
from scalc.dialects import nn
from scalc.passes.optimizer_modes import (
    StepBuilder,
    bf16_like,
    extra_slots,
    slot_type,
    state_name,
    storage_type,
    update,
    update_slots,
)

OPTIMIZERS = ("adamw", "sgd")
# The hyper-parameters each optimizer reads (the rest of OptimizerConfig does not apply).
_FIELDS = {
    "adamw": ("lr", "weight_decay", "beta1", "beta2", "eps"),
    "sgd": ("lr", "weight_decay", "momentum", "nesterov"),
}
SCALAR = TensorType(f32, [])


@dataclass(frozen=True)
class OptimizerConfig:
    """An optimizer and its hyper-parameters (PyTorch's meanings and AdamW's defaults)."""

    kind: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    momentum: float = 0.9
    nesterov: bool = False

    @staticmethod
    def make(kind: str = "adamw", **options: Any) -> OptimizerConfig:
        """Validate user options: ``OptimizerConfig.make("sgd", lr=0.1, momentum=0.9)``."""
        if kind not in OPTIMIZERS:
            raise ScalcError(f"unknown optimizer `{kind}`; choose one of {', '.join(OPTIMIZERS)}")
        known = {f.name for f in fields(OptimizerConfig)} - {"kind"}
        given = {k: v for k, v in options.items() if v is not None}
        unknown = sorted(k for k in given if k not in known)
        if unknown:
            raise ScalcError(f"unknown optimizer option `{unknown[0]}`; known: {', '.join(sorted(known))}")
        foreign = sorted(k for k in given if k not in _FIELDS[kind])
        if foreign:
            raise ScalcError(f"optimizer option `{foreign[0]}` does not apply to {kind}")
        defaults = {"weight_decay": 0.0} if kind == "sgd" else {}
        config = replace(OptimizerConfig(kind=kind, **defaults), **given)
        config.validate()
        return config

    def validate(self) -> None:
        checks = [
            (self.lr > 0, f"lr must be positive, got {self.lr}"),
            (self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}"),
            (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "beta1 and beta2 must be in [0, 1)"),
            (self.eps > 0, f"eps must be positive, got {self.eps}"),
            (self.momentum >= 0, f"momentum must be >= 0, got {self.momentum}"),
            (not self.nesterov or self.momentum > 0, "nesterov needs momentum > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ScalcError(f"optimizer: {message}")

    def slots(self) -> tuple[str, ...]:
        """The state kept per parameter."""
        return ("m", "v") if self.kind == "adamw" else ("momentum",)

    def options(self) -> dict[str, Any]:
        """The kind and the hyper-parameters this optimizer reads."""
        values = asdict(self)
        return {"kind": self.kind, **{k: values[k] for k in _FIELDS[self.kind]}}

    def to_attr(self) -> DictionaryAttr:
        entries: dict[str, Attribute] = {}
        for key, value in self.options().items():
            if isinstance(value, bool):
                entries[key] = BoolAttr.from_bool(value)
            elif isinstance(value, str):
                entries[key] = StringAttr(value)
            else:
                entries[key] = FloatAttr(float(value), f64)
        return DictionaryAttr(entries)


STEP = "step"


def add_optimizer(
    module: ModuleOp,
    trained: list[str],
    grad_types: list[TensorType],
    config: OptimizerConfig,
    precision: str = "fp32",
) -> None:
    """Declare the optimizer state and add ``@optimizer_step`` to ``module`` (in place).

    ``precision`` is the optimizer precision mode (docs/collage.md): besides the update, it
    decides how parameters are stored and which extra state (an fp32 master's bf16 model
    copy, Collage's compensation terms) is kept.
    """
    body = module.body.block
    params = {op.sym_name.data: op for op in body.ops if isinstance(op, nn.ParamOp)}
    slots = update_slots(precision, config.kind, config.slots())
    states: list[nn.StateOp] = [nn.StateOp(STEP, SCALAR)]
    for name, t in zip(trained, grad_types):
        states += [
            nn.StateOp(state_name(name, slot), slot_type(precision, t, slot), param=name)
            for slot in slots
        ]
        states += [_extra_state(name, slot, t) for slot in extra_slots(precision)]
    for state in reversed(states):
        body.insert_op_after(state, list(params.values())[-1])
    _store_parameters(module, params, set(trained), precision)

    block = Block(arg_types=[*grad_types, SCALAR])
    *grads, lr = block.args
    lr.name_hint = "lr"
    step = StepBuilder(block, config.kind, precision, config.options(), lr, _increment_step(block))
    for name, grad, gtype in zip(trained, grads, grad_types):
        grad.name_hint = f"g_{name}".replace(".", "_")
        update(step, name, grad, gtype, slots)
    block.add_op(func.ReturnOp(*step.stats))
    arg_attrs = [DictionaryAttr({"nn.grad": StringAttr(n)}) for n in trained]
    arg_attrs.append(DictionaryAttr({"nn.input": StringAttr("lr")}))
    res_attrs = [DictionaryAttr({"nn.stats": StringAttr(n)}) for n in trained]
    optimizer_step = func.FuncOp(
        "optimizer_step",
        ([*grad_types, SCALAR], [s.type for s in step.stats]),
        Region(block),
        arg_attrs=ArrayAttr(arg_attrs),
        res_attrs=ArrayAttr(res_attrs),
    )
    body.add_op(optimizer_step)
    module.attributes["scalc.optimizer"] = config.to_attr()


def _extra_state(name: str, slot: str, t: TensorType) -> nn.StateOp:
    # The fp32 master's bf16 model copy starts as the parameter's initial value.
    init = "param" if slot == "model" else None
    return nn.StateOp(state_name(name, slot), bf16_like(t), param=name, init=init)


def _store_parameters(
    module: ModuleOp, params: dict[str, nn.ParamOp], trained: set[str], precision: str
) -> None:
    """Store trained parameters as the mode says and let every entry point read the model
    weight through ``nn.cast`` to fp32, so the graphs themselves do not change."""
    if precision == "fp32":
        return
    for name in trained:
        param = params[name]
        param.type = storage_type(precision, param.type)  # type: ignore[misc]
    for fn in module.body.block.ops:
        if not isinstance(fn, func.FuncOp) or fn.sym_name.data == "optimizer_step":
            continue
        for read in [op for op in fn.walk() if isinstance(op, nn.GetParamOp)]:
            name = read.param.root_reference.data
            if name not in trained:
                continue
            wide = read.result.type
            stored = (
                nn.GetStateOp(state_name(name, "model"), bf16_like(wide))
                if precision == "fp32-master"
                else nn.GetParamOp(name, storage_type(precision, wide))
            )
            widen = nn.CastOp(stored, wide)
            stored.results[0].name_hint = read.result.name_hint
            read.parent_block().insert_ops_before([stored, widen], read)  # type: ignore[union-attr]
            read.result.replace_all_uses_with(widen.results[0])
            read.detach()
            read.erase()


def _increment_step(block: Block) -> SSAValue:
    previous = nn.GetStateOp(STEP, SCALAR)
    one = nn.ConstantOp(1.0, SCALAR)
    t = nn.AddOp(previous, one)
    t.results[0].name_hint = "t"
    block.add_ops([previous, one, t, nn.SetStateOp(STEP, t.results[0])])
    return t.results[0]
