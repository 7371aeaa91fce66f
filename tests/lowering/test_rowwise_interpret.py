"""The row-wise templates (lowering/templates/rowwise.py: causal-masked softmax and its
gradient, layernorm and its gradient, cross-entropy and its gradient, embedding and its
gradient) run by Triton's CPU interpreter agree with the reference kernels within fp32
rounding, on plain fp32 tensors (scale 1; the scaled paths are checked through the
generated modules, tests/lowering/test_codegen_rowwise.py).

The interpreter runs in one subprocess (rowwise_interpret_check.py, with
runtime/backends/triton/interpreter_patch.py imported as for the other templates). Ragged row lengths
(1, 7, 65, 96, 200, 256), causal [.., T, T] blocks, wide logit spreads (tiny exp terms),
layernorm inputs with a large mean, labels at the edges (0 and C - 1), i32 and i64 labels
and ids, repeated ids, embedding rows longer than one column tile (1100 > 1024), and
layernorm gradients summed over up to 16 programs' partial sums, and non-contiguous inputs
(a transposed view, copied into rows; rows of a wider buffer, read with their row stride).

**Tolerance: 4e-6 relative** (normalised as the check script says: by the magnitudes of
the operands where an output is a difference or a sum of mixed signs, so cancellation does
not count as error). The kernels do the reference's operations in the same order per
element, in fp32; what differs is the reduction order of the sums (a row of ≤ 256 terms,
each sum off by at most ~log2(256) = 8 half-ulps in the worst case, typically 1-2; the
parameter gradients of layernorm add ≤ 16 rows in a tree, then ≤ 16 partials in order: ≤ 20
half-ulps of the sum of magnitudes) and, on a GPU, ``ex2.approx``/``lg2.approx``. One fp32
ulp is 2^-23 ≈ 1.2e-7 relative, so 4e-6 is ~32 ulps: room for the sums and a few ulps of
exp/log, and far below any real bug (a wrong mask, label or normalisation is off by 1e-3
or more). Softmax rows must sum to 1 within 1e-6 and CE gradient rows to 0 within 1e-6 of
``dloss / R`` (the entries' scale): that is the same rounding bound on the row sums.
Embedding lookups and their gradients are exact: a copy, and the same fp32 additions in the
same order as NumPy's ``np.add.at`` (position order per table row).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lowering.interpret import run_interpreted

SCRIPT = Path(__file__).with_name("rowwise_interpret_check.py")
RTOL = 4e-6
SUM_TOL = 1e-6

CASES = [
    # softmax: shape, causal, spread (std of the inputs)
    ("softmax", {"shape": [4, 65], "causal": False, "spread": 1.0}),
    ("softmax", {"shape": [37, 96], "causal": False, "spread": 3.0, "layout": "padded"}),
    ("softmax", {"shape": [256, 200], "causal": False, "spread": 1.0}),
    ("softmax", {"shape": [3, 256], "causal": False, "spread": 20.0}),
    ("softmax", {"shape": [129, 7], "causal": False, "spread": 1.0}),
    ("softmax", {"shape": [1, 1], "causal": False, "spread": 1.0}),
    ("softmax", {"shape": [2, 65, 65], "causal": True, "spread": 1.0}),
    ("softmax", {"shape": [1, 2, 96, 96], "causal": True, "spread": 5.0}),
    ("softmax", {"shape": [200, 200], "causal": True, "spread": 1.0}),
    # layernorm: shape, offset (mean of the inputs), spread, eps
    ("layernorm", {"shape": [4, 65], "offset": 0.0, "spread": 1.0, "eps": 1e-5}),
    ("layernorm", {"shape": [2, 18, 96], "offset": 3.0, "spread": 0.5, "eps": 1e-5}),
    ("layernorm", {"shape": [256, 200], "offset": 0.0, "spread": 4.0, "eps": 1e-6}),
    ("layernorm", {"shape": [3, 256], "offset": 100.0, "spread": 1.0, "eps": 1e-5}),
    ("layernorm", {"shape": [129, 7], "offset": -2.0, "spread": 1.0, "eps": 1e-3}),
    # cross-entropy + grad: shape (positions..., C), spread, labels, label type, dloss
    ("cross_entropy", {"shape": [4, 65], "spread": 1.0, "labels_kind": "random", "label_type": "i32", "dloss": 1.0}),
    ("cross_entropy", {"shape": [2, 16, 96], "spread": 3.0, "labels_kind": "random", "label_type": "i64", "dloss": 0.5}),
    ("cross_entropy", {"shape": [256, 200], "spread": 1.0, "labels_kind": "first", "label_type": "i32", "dloss": 1.0}),
    ("cross_entropy", {"shape": [37, 256], "spread": 10.0, "labels_kind": "last", "label_type": "i64", "dloss": 3.0}),
    ("cross_entropy", {"shape": [129, 7], "spread": 1.0, "labels_kind": "random", "label_type": "i32", "dloss": -1.0}),
    ("cross_entropy", {"shape": [1, 1], "spread": 1.0, "labels_kind": "first", "label_type": "i32", "dloss": 1.0}),
    # softmax_grad (+ causal_mask_grad): shape, causal, spread of the scores
    ("softmax_grad", {"shape": [4, 65], "causal": False, "spread": 1.0}),
    ("softmax_grad", {"shape": [256, 200], "causal": False, "spread": 3.0}),
    ("softmax_grad", {"shape": [129, 7], "causal": False, "spread": 1.0}),
    ("softmax_grad", {"shape": [2, 65, 65], "causal": True, "spread": 1.0}),
    ("softmax_grad", {"shape": [1, 2, 96, 96], "causal": True, "spread": 5.0}),
    # layernorm_grad: as layernorm
    ("layernorm_grad", {"shape": [4, 65], "offset": 0.0, "spread": 1.0, "eps": 1e-5}),
    ("layernorm_grad", {"shape": [2, 18, 96], "offset": 3.0, "spread": 0.5, "eps": 1e-5, "layout": "transposed"}),
    ("layernorm_grad", {"shape": [256, 200], "offset": 0.0, "spread": 4.0, "eps": 1e-6}),
    ("layernorm_grad", {"shape": [3, 256], "offset": 100.0, "spread": 1.0, "eps": 1e-5}),
    ("layernorm_grad", {"shape": [129, 7], "offset": -2.0, "spread": 1.0, "eps": 1e-3}),
    # embedding + grad: table rows, row length, ids shape, id type
    ("embedding", {"vocab": 96, "width": 32, "ids_shape": [2, 8], "id_type": "i32"}),
    ("embedding", {"vocab": 5, "width": 65, "ids_shape": [37], "id_type": "i64"}),
    ("embedding", {"vocab": 300, "width": 1100, "ids_shape": [3, 4], "id_type": "i32"}),
    ("embedding", {"vocab": 1, "width": 1, "ids_shape": [3], "id_type": "i32"}),
]  # fmt: skip


def case_id(c: tuple) -> str:
    kind, spec = c
    return f"{kind}-" + "-".join(
        "x".join(map(str, v)) if isinstance(v, list) else str(v) for v in spec.values()
    )


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    specs = [{"kind": kind, **spec, "seed": i} for i, (kind, spec) in enumerate(CASES)]
    lines = run_interpreted(SCRIPT, json.dumps(specs))
    assert len(lines) == len(CASES), lines
    return {case_id(c): r for c, r in zip(CASES, lines, strict=True)}


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_rowwise_matches_reference(results: dict, case: tuple) -> None:
    r = results[case_id(case)]
    print(json.dumps(r))
    assert r["kind"] == case[0]
    assert r["finite"]
    if case[0] == "softmax":
        assert r["max_rel_err"] <= RTOL
        assert r["max_row_sum_err"] <= SUM_TOL
        assert r["zeros_match"]  # masked entries are exactly 0, as the reference's
    elif case[0] == "softmax_grad":
        assert r["max_rel_err"] <= RTOL
        assert r["zeros_match"]
    elif case[0] in ("layernorm", "layernorm_grad"):
        assert r["max_rel_err"] <= RTOL
    elif case[0] == "embedding":
        assert r["exact"]
        assert r["grad_exact"]
    else:
        assert r["max_term_err"] <= RTOL
        assert r["loss_err"] <= RTOL
        assert r["max_grad_err"] <= RTOL
        assert r["max_grad_row_sum"] <= SUM_TOL
