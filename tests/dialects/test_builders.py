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
W = t(64, 256)
B4 = t(4, element=bf16)
ELEMENTWISE_GRADS = (nn.ReluGradOp, nn.GeluGradOp, nn.TanhGradOp, nn.SigmoidGradOp, nn.SqrtGradOp)

# (id, argument types, constructor call, expected op text after its results); arguments
# are %a, %b, %c, ...; the module has the parameter @w and its state @w.m, both W.
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
        (
            "nn.layernorm %a, %b, %c {eps = 1.000000e-05 : f64} : "
            "(tensor<?x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<?x128xf32>"
        ),
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
    # train stage (docs/train.md)
    *[
        (
            op.name,
            [t(-1, 256)] * 2,
            lambda a, op=op: op(a[0], a[1]),
            f"{op.name} %a, %b : tensor<?x256xf32>",
        )
        for op in ELEMENTWISE_GRADS
    ],
    (
        "softmax_grad",
        [t(-1, 4, -1, -1)] * 2,
        lambda a: nn.SoftmaxGradOp(a[0], a[1], 3),
        "nn.softmax_grad %a, %b axis 3 : tensor<?x4x?x?xf32>",
    ),
    (
        "layernorm_grad",
        [t(-1, 128), t(128), t(-1, 128)],
        lambda a: nn.LayerNormGradOp(a[0], a[1], a[2], 1e-5),
        (
            "nn.layernorm_grad %a, %b, %c {eps = 1.000000e-05 : f64} : (tensor<?x128xf32>, "
            "tensor<128xf32>, tensor<?x128xf32>) -> (tensor<?x128xf32>, tensor<128xf32>, "
            "tensor<128xf32>)"
        ),
    ),
    (
        "embedding_grad",
        [t(-1, -1, element=i32), t(-1, -1, 128)],
        lambda a: nn.EmbeddingGradOp(a[0], a[1], t(65, 128)),
        "nn.embedding_grad %a, %b : (tensor<?x?xi32>, tensor<?x?x128xf32>) -> tensor<65x128xf32>",
    ),
    (
        "cross_entropy_grad",
        [t(-1, 65), t(-1, element=i32), t()],
        lambda a: nn.CrossEntropyGradOp(a[0], a[1], a[2]),
        (
            "nn.cross_entropy_grad %a, %b, %c : (tensor<?x65xf32>, tensor<?xi32>, tensor<f32>) "
            "-> tensor<?x65xf32>"
        ),
    ),
    (
        "causal_mask_grad",
        [t(-1, 4, -1, -1)],
        lambda a: nn.CausalMaskGradOp(a[0]),
        "nn.causal_mask_grad %a : tensor<?x4x?x?xf32>",
    ),
    (
        "max_grad",
        [t(-1, 10), t(-1, 1)],
        lambda a: nn.MaxGradOp(a[0], a[1], [1]),
        "nn.max_grad %a, %b axes [1] : (tensor<?x10xf32>, tensor<?x1xf32>) -> tensor<?x10xf32>",
    ),
    (
        "mean_grad",
        [t(1, 10)],
        lambda a: nn.MeanGradOp(a[0], [0], ["B", 10], t(-1, 10)),
        "nn.mean_grad %a axes [0] to #nn.dims<B, 10> : tensor<1x10xf32> -> tensor<?x10xf32>",
    ),
    (
        "slice_grad",
        [t(-1, 128)],
        lambda a: nn.SliceGradOp(a[0], 0, 0, [256, 128], t(256, 128)),
        (
            "nn.slice_grad %a axis 0 [0] to #nn.dims<256, 128> : tensor<?x128xf32> "
            "-> tensor<256x128xf32>"
        ),
    ),
    (
        "index_grad",
        [t(128)],
        lambda a: nn.IndexGradOp(a[0], 0, 3, nn.DimsAttr([4, 128]), t(4, 128)),
        "nn.index_grad %a axis 0 [3] to #nn.dims<4, 128> : tensor<128xf32> -> tensor<4x128xf32>",
    ),
    ("get_state", [], lambda a: nn.GetStateOp("w.m", W), "nn.get_state @w.m : tensor<64x256xf32>"),
    (
        "set_state",
        [W],
        lambda a: nn.SetStateOp("w.m", a[0]),
        "nn.set_state @w.m, %a : tensor<64x256xf32>",
    ),
    (
        "set_param",
        [W],
        lambda a: nn.SetParamOp("w", a[0]),
        "nn.set_param @w, %a : tensor<64x256xf32>",
    ),
    (
        "sgd_nesterov",
        [W, W, W, t()],
        lambda a: nn.SgdOp(a[0], a[1], a[2], a[3], momentum=0.9, nesterov=True),
        (
            "nn.sgd %a, %b, %c, %d {momentum = 9.000000e-01 : f64, weight_decay = 0.000000e+00 "
            ": f64, nesterov = true} : tensor<64x256xf32>"
        ),
    ),
    (
        "adamw_defaults",
        [W, W, W, W, t(), t()],
        lambda a: nn.AdamWOp(*a),
        (
            "nn.adamw %a, %b, %c, %d, %e, %f {beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 "
            ": f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64} "
            ": tensor<64x256xf32>"
        ),
    ),
    # low-precision optimizer arithmetic (docs/collage.md)
    (
        "fast2sum",
        [B4, B4],
        lambda a: nn.Fast2SumOp(a[0], a[1]),
        "nn.fast2sum %a, %b : tensor<4xbf16>",
    ),
    (
        "grow",
        [B4, B4, B4],
        lambda a: nn.GrowOp(a[0], a[1], a[2]),
        "nn.grow %a, %b, %c : tensor<4xbf16>",
    ),
    (
        "sgd_delta_bf16",
        [B4, B4, B4, t()],
        lambda a: nn.SgdDeltaOp(*a, momentum=0.9, precision="bf16"),
        (
            "nn.sgd_delta %a, %b, %c, %d {momentum = 9.000000e-01 : f64, weight_decay = "
            '0.000000e+00 : f64, nesterov = false, precision = "bf16"} : tensor<4xbf16>'
        ),
    ),
    (
        "adamw_delta_f32",
        [W, W, W, W, t(), t()],
        lambda a: nn.AdamWDeltaOp(*a),
        (
            "nn.adamw_delta %a, %b, %c, %d, %e, %f {beta1 = 9.000000e-01 : f64, beta2 = "
            "9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64, "
            'precision = "f32"} : tensor<64x256xf32>'
        ),
    ),
    (
        "adamw_delta_mcf_v",
        [B4, B4, B4, B4, t(), t(), B4],
        lambda a: nn.AdamWDeltaOp(*a[:6], v_lo=a[6], weight_decay=0.0, precision="bf16"),
        (
            "nn.adamw_delta %a, %b, %c, %d, %g, %e, %f {beta1 = 9.000000e-01 : f64, beta2 = "
            "9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 0.000000e+00 : f64, "
            'precision = "bf16", mcf_v} : tensor<4xbf16>'
        ),
    ),
    (
        "update_stats",
        [t(4), t(4), B4],
        lambda a: nn.UpdateStatsOp(*a),
        (
            "nn.update_stats %a, %b, %c : (tensor<4xf32>, tensor<4xf32>, tensor<4xbf16>) "
            "-> tensor<4xf32>"
        ),
    ),
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
    for arg, name in zip(block.args, "abcdefg", strict=False):
        arg.name_hint = name
    op = build(block.args)
    block.add_ops([op, func.ReturnOp()])
    buffers = [nn.ParamOp("w", W, "zeros"), nn.StateOp("w.m", W, param="w")]
    module = ModuleOp([*buffers, func.FuncOp("f", (arg_types, []), Region(block))])
    module.verify()
    results = ", ".join(f"%{i}" for i in range(len(op.results)))
    line = f"{results} = {expected}" if results else expected
    assert f"    {line}\n" in print_module(module)


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


def optimizer_step_body(args: Sequence[BlockArgument]) -> list[Operation]:
    """AdamW for ``@w1``, Nesterov SGD for ``@b1``, after counting the step."""
    g_w1, g_b1, lr = args
    previous = nn.GetStateOp("step", t())
    one = nn.ConstantOp(1.0, t())
    step = nn.AddOp(previous, one)
    step.result.name_hint = "t"
    w1, b1 = nn.GetParamOp("w1", W), nn.GetParamOp("b1", t(256, element=bf16))
    w1.result.name_hint, b1.result.name_hint = "w1", "b1"
    m, v = nn.GetStateOp("w1.m", W), nn.GetStateOp("w1.v", W)
    adamw = nn.AdamWOp(w1, g_w1, m, v, lr, step)
    buf = nn.GetStateOp("b1.momentum", b1.result.type)
    sgd = nn.SgdOp(b1, g_b1, buf, lr, momentum=0.9, nesterov=True)
    return [
        *(previous, one, step, nn.SetStateOp("step", step)),
        *(w1, m, v, adamw, nn.SetParamOp("w1", adamw.new_w)),
        *(nn.SetStateOp("w1.m", adamw.new_m), nn.SetStateOp("w1.v", adamw.new_v)),
        *(b1, buf, sgd, nn.SetParamOp("b1", sgd.new_w), nn.SetStateOp("b1.momentum", sgd.new_buf)),
        func.ReturnOp(),
    ]


def test_optimizer_module_built_in_python_prints_as_its_golden_file() -> None:
    arg_types = [W, t(256, element=bf16), t()]
    block = Block(arg_types=arg_types)
    for arg, name in zip(block.args, ("g_w1", "g_b1", "lr"), strict=True):
        arg.name_hint = name
    block.add_ops(optimizer_step_body(block.args))
    arg_attrs = [
        DictionaryAttr({key: StringAttr(value)})
        for key, value in (("nn.grad", "w1"), ("nn.grad", "b1"), ("nn.input", "lr"))
    ]
    step = func.FuncOp(
        "optimizer_step", (arg_types, []), Region(block), arg_attrs=ArrayAttr(arg_attrs)
    )
    module = ModuleOp(
        [
            nn.ParamOp("w1", W, "normal", std=0.125),
            nn.ParamOp("b1", t(256, element=bf16), "zeros"),
            nn.StateOp("step", t()),
            nn.StateOp("w1.m", W, param="w1"),
            nn.StateOp("w1.v", W, param="w1"),
            nn.StateOp("b1.momentum", t(256, element=bf16), param="b1"),
            step,
        ],
        attributes={
            "scalc.model": StringAttr("mlp"),
            "scalc.symbols": ArrayAttr([StringAttr("B")]),
        },
    )
    module.verify()
    assert print_module(module) == (GOLDEN / "optim.mlir").read_text()


def test_state_initialised_from_its_parameter_prints_init_param() -> None:
    model = nn.StateOp("w.model", t(64, 256, element=bf16), param="w", init="param")
    module = ModuleOp([nn.ParamOp("w", W, "zeros"), model])
    module.verify()
    expected = '  nn.state @w.model : tensor<64x256xbf16> {param = @w, init = "param"}\n'
    assert expected in print_module(module)
