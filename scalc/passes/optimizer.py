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


def state_name(param: str, slot: str) -> str:
    """The symbol of a parameter's optimizer state: ``w1.m``."""
    return f"{param}.{slot}"


STEP = "step"


def add_optimizer(
    module: ModuleOp, trained: list[str], grad_types: list[TensorType], config: OptimizerConfig
) -> None:
    """Declare the optimizer state and add ``@optimizer_step`` to ``module`` (in place)."""
    body = module.body.block
    last_param = [op for op in body.ops if isinstance(op, nn.ParamOp)][-1]
    states: list[nn.StateOp] = [nn.StateOp(STEP, SCALAR)]
    for name, t in zip(trained, grad_types):
        states += [nn.StateOp(state_name(name, slot), t, param=name) for slot in config.slots()]
    for state in reversed(states):
        body.insert_op_after(state, last_param)

    block = Block(arg_types=[*grad_types, SCALAR])
    *grads, lr = block.args
    lr.name_hint = "lr"
    t = _increment_step(block)
    for name, grad, gtype in zip(trained, grads, grad_types):
        grad.name_hint = f"g_{name}".replace(".", "_")
        _update(block, config, name, grad, gtype, lr, t)
    block.add_op(func.ReturnOp())
    arg_attrs = [DictionaryAttr({"nn.grad": StringAttr(n)}) for n in trained]
    arg_attrs.append(DictionaryAttr({"nn.input": StringAttr("lr")}))
    step = func.FuncOp(
        "optimizer_step", ([*grad_types, SCALAR], []), Region(block), arg_attrs=ArrayAttr(arg_attrs)
    )
    body.add_op(step)
    module.attributes["scalc.optimizer"] = config.to_attr()


def _increment_step(block: Block) -> SSAValue:
    previous = nn.GetStateOp(STEP, SCALAR)
    one = nn.ConstantOp(1.0, SCALAR)
    t = nn.AddOp(previous, one)
    t.results[0].name_hint = "t"
    block.add_ops([previous, one, t, nn.SetStateOp(STEP, t.results[0])])
    return t.results[0]


def _update(
    block: Block,
    config: OptimizerConfig,
    name: str,
    grad: SSAValue,
    gtype: TensorType,
    lr: SSAValue,
    t: SSAValue,
) -> None:
    weight = nn.GetParamOp(name, gtype)
    weight.results[0].name_hint = name
    slots = [nn.GetStateOp(state_name(name, slot), gtype) for slot in config.slots()]
    block.add_ops([weight, *slots])
    state = [s.results[0] for s in slots]
    if config.kind == "adamw":
        update = nn.AdamWOp(
            weight.results[0], grad, *state, lr, t,
            beta1=config.beta1, beta2=config.beta2, eps=config.eps, weight_decay=config.weight_decay,
        )
    else:
        update = nn.SgdOp(
            weight.results[0], grad, *state, lr,
            momentum=config.momentum, weight_decay=config.weight_decay, nesterov=config.nesterov,
        )
    block.add_op(update)
    new_weight, *new_state = update.results
    block.add_op(nn.SetParamOp(name, new_weight))
    for slot, value in zip(config.slots(), new_state):
        block.add_op(nn.SetStateOp(state_name(name, slot), value))
