"""The ``nn`` dialect: plain tensor ops at the level the scalc language speaks.

Its contract (printed forms, semantics, verifier rules) is ``docs/ir.md``; the modules
group the ops by family and ``NN`` is the dialect to load into an xDSL context.
"""

from xdsl.ir import Dialect

from scalc.dialects.nn.attrs import DimsAttr
from scalc.dialects.nn.elementwise import (
    AddOp,
    BinaryOp,
    DivOp,
    ExpOp,
    GeluOp,
    LogOp,
    MulOp,
    NegOp,
    ReluOp,
    SigmoidOp,
    SqrtOp,
    SubOp,
    TanhOp,
    UnaryOp,
)
from scalc.dialects.nn.layers import CausalMaskOp, EmbeddingOp, LayerNormOp, SoftmaxOp
from scalc.dialects.nn.linalg import MatmulOp
from scalc.dialects.nn.loss import CrossEntropyOp
from scalc.dialects.nn.module import ConstantOp, GetParamOp, ParamOp
from scalc.dialects.nn.reduce import MaxOp, MeanOp, ReduceOp, SumOp
from scalc.dialects.nn.shape import BroadcastOp, IndexOp, ReshapeOp, SliceOp, TransposeOp

NN = Dialect(
    "nn",
    [
        ParamOp,
        GetParamOp,
        ConstantOp,
        NegOp,
        ReluOp,
        GeluOp,
        TanhOp,
        SigmoidOp,
        ExpOp,
        LogOp,
        SqrtOp,
        AddOp,
        SubOp,
        MulOp,
        DivOp,
        MatmulOp,
        SumOp,
        MeanOp,
        MaxOp,
        ReshapeOp,
        BroadcastOp,
        TransposeOp,
        SliceOp,
        IndexOp,
        SoftmaxOp,
        LayerNormOp,
        EmbeddingOp,
        CausalMaskOp,
        CrossEntropyOp,
    ],
    [DimsAttr],
)

__all__ = [
    "NN",
    "AddOp",
    "BinaryOp",
    "BroadcastOp",
    "CausalMaskOp",
    "ConstantOp",
    "CrossEntropyOp",
    "DimsAttr",
    "DivOp",
    "EmbeddingOp",
    "ExpOp",
    "GeluOp",
    "GetParamOp",
    "IndexOp",
    "LayerNormOp",
    "LogOp",
    "MatmulOp",
    "MaxOp",
    "MeanOp",
    "MulOp",
    "NegOp",
    "ParamOp",
    "ReduceOp",
    "ReluOp",
    "ReshapeOp",
    "SigmoidOp",
    "SliceOp",
    "SoftmaxOp",
    "SqrtOp",
    "SubOp",
    "SumOp",
    "TanhOp",
    "TransposeOp",
    "UnaryOp",
]
