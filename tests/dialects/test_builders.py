"""Building nn IR from Python: each op's constructor gives the op the golden files show,
and a whole module built in Python prints as its golden file."""

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    ArrayAttr,
    DictionaryAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    bf16,
    f32,
    i32,
)
from xdsl.ir import Attribute, Block, BlockArgument, Operation, Region

from scalc.dialects import nn
from scalc.dialects.context import print_module

GOLDEN = Path(__file__).parent / "golden"


def t(*shape: int, element: Attribute = f32) -> TensorType:
    """``t(-1, 64)`` is ``tensor<?x64xf32>`` (``-1`` stands for ``?``)."""
    return TensorType(element, [s if s >= 0 else DYNAMIC_INDEX for s in shape])


Build = Callable[[Sequence[BlockArgument]], Operation]

# (id, argument types, constructor call, expected line); arguments are %a, %b, %c.
CASES: list[tuple[str, list[TensorType], Build, str]] = [
    ("neg", [t(-1, 256)], lambda a: nn.NegOp(a[0]), "nn.neg %a : tensor<?x256xf32>"),
    ("gelu_bf16", [t(4, element=bf16)], lambda a: nn.GeluOp(a[0]), "nn.gelu %a : tensor<4xbf16>"),
    ("div", [t(-1, 8)] * 2, lambda a: nn.DivOp(a[0], a[1]), "nn.div %a, %b : tensor<?x8xf32>"),
    (
        "matmul",
        [t(-1, 64), t(64, 256)],
        lambda a: nn.MatmulOp(a[0], a[1], t(-1, 256)),
        "nn.matmul %a, %b : (tensor<?x64xf32>, tensor<64x256xf32>) -> tensor<?x256xf32>",
    ),
    (
        "sum_keepdims",
        [t(-1, 10)],
        lambda a: nn.SumOp(a[0], [1], t(-1, 1), keepdims=True),
        "nn.sum %a axes [1] keepdims : tensor<?x10xf32> -> tensor<?x1xf32>",
    ),
    (
        "max",
        [t(-1, 10)],
        lambda a: nn.MaxOp(a[0], [1], t(-1)),
        "nn.max %a axes [1] : tensor<?x10xf32> -> tensor<?xf32>",
    ),
    (
        "reshape",
        [t(-1, -1, 128)],
        lambda a: nn.ReshapeOp(a[0], ["B*T", 128], t(-1, 128)),
        "nn.reshape %a to #nn.dims<B*T, 128> : tensor<?x?x128xf32> -> tensor<?x128xf32>",
    ),
    (
        "broadcast",
        [t(256)],
        lambda a: nn.BroadcastOp(a[0], nn.DimsAttr(["B", 256]), t(-1, 256)),
        "nn.broadcast %a to #nn.dims<B, 256> : tensor<256xf32> -> tensor<?x256xf32>",
    ),
    (
        "transpose",
        [t(-1, -1, 4, 32)],
        lambda a: nn.TransposeOp(a[0], [0, 2, 1, 3], t(-1, 4, -1, 32)),
        "nn.transpose %a [0, 2, 1, 3] : tensor<?x?x4x32xf32> -> tensor<?x4x?x32xf32>",
    ),
    (
        "slice",
        [t(256, 128)],
        lambda a: nn.SliceOp(a[0], 0, 0, "T", t(-1, 128)),
        "nn.slice %a axis 0 [0 : #nn.dims<T>] : tensor<256x128xf32> -> tensor<?x128xf32>",
    ),
    (
        "index",
        [t(4, 128, 128)],
        lambda a: nn.IndexOp(a[0], 0, 3, t(128, 128)),
        "nn.index %a axis 0 [3] : tensor<4x128x128xf32> -> tensor<128x128xf32>",
    ),
    (
        "softmax",
        [t(-1, 4, -1, -1)],
        lambda a: nn.SoftmaxOp(a[0], 3),
        "nn.softmax %a axis 3 : tensor<?x4x?x?xf32>",
    ),
    (
        "layernorm",
        [t(-1, 128), t(128), t(128)],
        lambda a: nn.LayerNormOp(a[0], a[1], a[2], 1e-5),
        "nn.layernorm %a, %b, %c {eps = 1.000000e-05 : f64} : "
        "(tensor<?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x128xf32>",
    ),
    (
        "embedding",
        [t(65, 128), t(-1, -1, element=i32)],
        lambda a: nn.EmbeddingOp(a[0], a[1], t(-1, -1, 128)),
        "nn.embedding %a, %b : (tensor<65x128xf32>, tensor<?x?xi32>) -> tensor<?x?x128xf32>",
    ),
    (
        "causal_mask",
        [t(-1, 4, -1, -1)],
        lambda a: nn.CausalMaskOp(a[0]),
        "nn.causal_mask %a : tensor<?x4x?x?xf32>",
    ),
    (
        "cross_entropy",
        [t(-1, 65), t(-1, element=i32)],
        lambda a: nn.CrossEntropyOp(a[0], a[1]),
        "nn.cross_entropy %a, %b : (tensor<?x65xf32>, tensor<?xi32>) -> tensor<f32>",
    ),
    ("constant", [], lambda a: nn.ConstantOp(0.5, t()), "nn.constant 5.000000e-01 : tensor<f32>"),
]


@pytest.mark.parametrize(
    ("arg_types", "build", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_constructor_builds_a_valid_op(
    arg_types: list[TensorType], build: Build, expected: str
) -> None:
    block = Block(arg_types=arg_types)
    for arg, name in zip(block.args, "abc", strict=False):
        arg.name_hint = name
    block.add_ops([build(block.args), func.ReturnOp()])
    module = ModuleOp([func.FuncOp("f", (arg_types, []), Region(block))])
    module.verify()
    assert f"    %0 = {expected}\n" in print_module(module)


def entry_point(
    name: str,
    inputs: list[tuple[str, TensorType, nn.DimsAttr]],
    outputs: list[tuple[str, TensorType]],
    body: Callable[[Sequence[BlockArgument]], list[Operation]],
) -> func.FuncOp:
    """A function whose arguments carry ``nn.input``/``nn.dims`` and results ``nn.output``."""
    block = Block(arg_types=[ty for _, ty, _ in inputs])
    for arg, (input_name, _, _) in zip(block.args, inputs, strict=True):
        arg.name_hint = input_name
    block.add_ops(body(block.args))
    arg_attrs = [
        DictionaryAttr({"nn.input": StringAttr(n), "nn.dims": dims}) for n, _, dims in inputs
    ]
    res_attrs = [DictionaryAttr({"nn.output": StringAttr(n)}) for n, _ in outputs]
    return func.FuncOp(
        name,
        ([ty for _, ty, _ in inputs], [ty for _, ty in outputs]),
        Region(block),
        arg_attrs=ArrayAttr(arg_attrs),
        res_attrs=ArrayAttr(res_attrs),
    )


def forward_body(args: Sequence[BlockArgument]) -> list[Operation]:
    w1 = nn.GetParamOp("w1", t(64, 256))
    w1.result.name_hint = "w1"
    hidden = nn.MatmulOp(args[0], w1, t(-1, 256))
    return [w1, hidden, func.ReturnOp(hidden)]


def loss_body(args: Sequence[BlockArgument]) -> list[Operation]:
    mean = nn.MeanOp(args[0], [0, 1], t())
    half = nn.ConstantOp(0.5, t())
    loss = nn.MulOp(mean, half)
    return [mean, half, loss, func.ReturnOp(loss)]


def test_module_built_in_python_prints_as_its_golden_file() -> None:
    x = ("x", t(-1, 64), nn.DimsAttr(["B", 64]))
    module = ModuleOp(
        [
            nn.ParamOp("w1", t(64, 256), "normal", std=0.125),
            nn.ParamOp("b1", t(256), "zeros"),
            nn.ParamOp("w2", t(256, 10, element=bf16), "normal", std=0.0625, mean=0.001),
            nn.ParamOp("g", t(256), "ones"),
            nn.ParamOp("b2", t(10, element=bf16), "constant", value=0.01),
            entry_point("forward", [x], [("hidden", t(-1, 256))], forward_body),
            entry_point("loss", [x], [("loss", t())], loss_body),
        ],
        attributes={
            "scalc.model": StringAttr("mlp"),
            "scalc.symbols": ArrayAttr([StringAttr("B")]),
        },
    )
    module.verify()
    assert print_module(module) == (GOLDEN / "module.mlir").read_text()
