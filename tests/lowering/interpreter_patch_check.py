"""Run ``x.to(fp8 | bf16)`` under Triton's CPU interpreter on crafted fp32 vectors and print
one JSON line per format: how many elements differ from ``round_to`` (the reference
rounding: RNE + saturation, the GPU's ``cvt.rn.satfinite``). Then run ``tl.dot`` on bf16 and
FP8 operand pairs whose every fp32 partial sum is exact (so the GPU's result is the exact
product in any summation order) and print one JSON line per pair: how many elements differ
from the exact product. Started by test_interpreter_patch.py in a subprocess
(``TRITON_INTERPRET=1`` must be set before ``triton`` is imported), once with ``--patch`` and
once without, to show the patch is both needed and active. Last, run an fp32 ``tl.dot`` on
Gaussian values over many binades (no summation order is exact there) with A read from a
row-major and from a column-major copy, and print whether the two agree bit for bit, how
many elements differ from `interpreter_patch.fixed_order_dot` (computed here directly), and
a digest of the bits, which the test compares across BLAS settings.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

assert os.environ.get("TRITON_INTERPRET") == "1", "run with TRITON_INTERPRET=1"

import torch
import triton
import triton.language as tl

from scalc.runtime.backends.reference.formats import round_to, value_of

PATCH = "--patch" in sys.argv[1:]
if PATCH:
    sys.path.insert(0, str(Path(__file__).parent))
    from scalc.runtime.backends.triton import interpreter_patch

    assert interpreter_patch.is_applied()

# name -> (Triton type, torch storage, unsigned view, IR format, largest finite)
FORMATS = {
    "e4m3": (tl.float8e4nv, torch.float8_e4m3fn, torch.uint8, "f8E4M3FN", 448.0),
    "e5m2": (tl.float8e5, torch.float8_e5m2, torch.uint8, "f8E5M2", 57344.0),
    "bf16": (tl.bfloat16, torch.bfloat16, torch.int16, "bf16", None),
}


@triton.jit
def widen_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=mask).to(tl.float32), mask=mask)


def to_numpy_format(x: torch.Tensor, name: str) -> np.ndarray:
    import ml_dtypes

    dtype = {"e4m3": ml_dtypes.float8_e4m3fn, "e5m2": ml_dtypes.float8_e5m2, "bf16": ml_dtypes.bfloat16}[name]
    raw = torch.uint8 if name != "bf16" else torch.int16
    return x.view(raw).numpy().view(dtype)


def widen_every_value(name: str) -> dict:
    """``x.to(tl.float32)`` of every bit pattern of the format against ml_dtypes' exact
    values (what the GPU's conversion gives): subnormals, inf and NaN included."""
    _, storage, _, _, _ = FORMATS[name]
    width = torch.finfo(storage).bits
    bits = torch.arange(2**width, dtype=torch.int64)
    x = bits.to(torch.uint8).view(storage) if width == 8 else bits.to(torch.int16).view(storage)
    y = torch.empty(2**width, dtype=torch.float32)
    widen_kernel[(triton.cdiv(2**width, 1024),)](x, y, 2**width, BLOCK=1024)
    want = value_of(to_numpy_format(x, name))
    got = y.numpy()
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    return {"format": f"widen {name}", "patched": PATCH, "n": int(2**width), "mismatches": int((~same).sum())}


@triton.jit
def convert_kernel(x_ptr, y_ptr, n, DST: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask, other=0.0)
    tl.store(y_ptr + offs, x.to(DST), mask=mask)


def crafted(name: str) -> np.ndarray:
    """Ties (both directions of even), values just above/below ties, overflow (finite and
    infinite), the smallest subnormal and the ties around it, signed zeros, NaN, and a
    Gaussian sweep over many binades."""
    if name == "e4m3":  # 3 mantissa bits; min subnormal 2^-9
        special = [
            1.0625,
            1.1875,
            1.0625 + 2**-20,
            1.07,
            1.19,
            0.3,
            240.0,
            464.0,
            449.0,
            1000.0,
            1e30,
            np.inf,
            2**-9,
            2**-10,
            2**-10 + 2**-30,
            3 * 2**-10,
            1e-5,
            15 * 2**-10,
            0.0,
            -0.0,
        ]
    elif name == "e5m2":  # 2 mantissa bits; min subnormal 2^-16
        special = [
            1.125,
            1.375,
            1.125 + 2**-20,
            1.1,
            1.4,
            0.3,
            53248.0,
            61440.0,
            57345.0,
            1e6,
            1e30,
            np.inf,
            2**-16,
            2**-17,
            2**-17 + 2**-30,
            3 * 2**-17,
            1e-7,
            0.0,
            -0.0,
        ]
    else:  # bf16: 7 mantissa bits
        special = [
            1 + 2**-8,
            1 + 3 * 2**-8,
            1 + 2**-8 + 2**-20,
            1.00390625 + 2**-9,
            0.3,
            3.0e38,
            2**-133,
            2**-134,
            np.inf,
            0.0,
            -0.0,
        ]
    special = np.array(special, np.float32)
    rng = np.random.default_rng(0)
    sweep = (rng.standard_normal(4096) * np.exp2(rng.integers(-20, 20, 4096))).astype(np.float32)
    return np.concatenate([special, -special, [np.nan], sweep]).astype(np.float32)


def check(name: str) -> dict:
    dst, storage, unsigned, fmt, fmt_max = FORMATS[name]
    x = crafted(name)
    y = torch.empty(x.size, dtype=storage)
    convert_kernel[(triton.cdiv(x.size, 256),)](torch.from_numpy(x), y, x.size, DST=dst, BLOCK=256)
    got = y.view(unsigned).numpy()
    want = round_to(x, fmt).view(got.dtype)
    # NaN encodings may differ; NaN -> NaN is all that counts.
    got_f = y.float().numpy()
    nan = np.isnan(x)
    differ = (got != want) & ~nan
    out = {
        "format": name,
        "patched": PATCH,
        "n": int(x.size),
        "mismatches": int(differ.sum()),
        "nan_kept": bool(np.all(np.isnan(got_f[nan]))),
        "examples": [
            [float(v), float(g), float(w)]
            for v, g, w in zip(
                x[differ][:6], got_f[differ][:6], round_to(x[differ][:6], fmt).astype(np.float32)
            )
        ],
    }
    if fmt_max is not None:
        out["1e30 ->"] = float(got_f[np.flatnonzero(x == np.float32(1e30))[0]])
        out["-inf ->"] = float(got_f[np.flatnonzero(x == -np.inf)[0]])
    return out


@triton.jit
def dot_kernel(a_ptr, b_ptr, c_ptr, M: tl.constexpr, N: tl.constexpr, K: tl.constexpr):
    offs_m, offs_n, offs_k = tl.arange(0, M), tl.arange(0, N), tl.arange(0, K)
    a = tl.load(a_ptr + offs_m[:, None] * K + offs_k[None, :])
    b = tl.load(b_ptr + offs_k[:, None] * N + offs_n[None, :])
    acc = tl.dot(a, b, tl.zeros((M, N), dtype=tl.float32))
    tl.store(c_ptr + offs_m[:, None] * N + offs_n[None, :], acc)


# name -> (A format, B format): the operand pairs the GEMM kernels use.
DOTS = {
    "dot bf16 x bf16": ("bf16", "bf16"),
    "dot e5m2 x e4m3": ("f8E5M2", "f8E4M3FN"),
    "dot e4m3 x e5m2": ("f8E4M3FN", "f8E5M2"),
}
TORCH_TYPES = {
    "bf16": torch.bfloat16,
    "f8E4M3FN": torch.float8_e4m3fn,
    "f8E5M2": torch.float8_e5m2,
}


def dot_operand(fmt: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Values exact in ``fmt`` whose products and sums are all exact in fp32: bf16 and E4M3
    get integers in [-8, 8] times 2^-2 ... 2^2; E5M2 gets a mix of its subnormals (1, 2 or 3
    times 2^-16) and normals (1, 1.25, 1.5, 1.75 times 2^-14 ... 2^-12), all multiples of
    2^-16. With K = 64 every partial sum is a multiple of 2^-20 (bf16, E4M3: 2^-4 with the
    other operand) below 2^4 (2^15), well inside fp32's 24 bits: exact in any order."""
    if fmt == "f8E5M2":
        subnormal = rng.integers(1, 4, shape) * 2.0**-16
        normal = rng.choice([1.0, 1.25, 1.5, 1.75], shape) * 2.0 ** rng.integers(-14, -11, shape)
        x = np.where(rng.random(shape) < 0.5, subnormal, normal) * rng.choice([-1.0, 1.0], shape)
    else:
        x = rng.integers(-8, 9, shape) * 2.0 ** rng.integers(-2, 3, shape)
    x = x.astype(np.float32)
    assert np.array_equal(value_of(round_to(x, fmt)), x)
    return x


def check_dot(name: str) -> dict:
    a_fmt, b_fmt = DOTS[name]
    M, N, K = 16, 32, 64
    rng = np.random.default_rng(1)
    a, b = dot_operand(a_fmt, (M, K), rng), dot_operand(b_fmt, (K, N), rng)
    exact = (a.astype(np.float64) @ b.astype(np.float64)).astype(np.float32)
    c = torch.empty((M, N), dtype=torch.float32)
    dot_kernel[(1,)](
        torch.from_numpy(a).to(TORCH_TYPES[a_fmt]),
        torch.from_numpy(b).to(TORCH_TYPES[b_fmt]),
        c, M=M, N=N, K=K,
    )  # fmt: skip
    got = c.numpy()
    subnormals = [
        int(np.sum((x != 0) & (np.abs(x) < 2.0**-14))) for x, f in ((a, a_fmt), (b, b_fmt))
        if f == "f8E5M2"
    ]  # fmt: skip
    return {
        "format": name,
        "patched": PATCH,
        "n": int(got.size),
        "mismatches": int(np.sum(got != exact)),
        "e5m2_subnormals": sum(subnormals),
        "max_abs_err": float(np.max(np.abs(got.astype(np.float64) - exact))),
    }


@triton.jit
def strided_dot_kernel(
    a_ptr, b_ptr, c_ptr, out_ptr, stride_am, stride_ak,
    M: tl.constexpr, N: tl.constexpr, K: tl.constexpr,
):  # fmt: skip
    offs_m, offs_n, offs_k = tl.arange(0, M), tl.arange(0, N), tl.arange(0, K)
    a = tl.load(a_ptr + offs_m[:, None] * stride_am + offs_k[None, :] * stride_ak)
    b = tl.load(b_ptr + offs_k[:, None] * N + offs_n[None, :])
    acc = tl.load(c_ptr + offs_m[:, None] * N + offs_n[None, :])
    acc = tl.dot(a, b, acc, input_precision="ieee")
    tl.store(out_ptr + offs_m[:, None] * N + offs_n[None, :], acc)


def check_fp32_dot_order() -> dict:
    """fp32 ``acc + a @ b`` with ``a`` row-major and column-major: the patched dot gives one
    result whatever the layout (and the machine: ``digest``), the fixed-order sum's."""
    M, N, K = 16, 32, 64
    rng = np.random.default_rng(2)

    def gaussian(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * np.exp2(rng.integers(-8, 8, shape))).astype(np.float32)

    a, b, c = gaussian(M, K), gaussian(K, N), gaussian(M, N)
    a_col = np.asfortranarray(a)  # the same values, stored K-major
    results = []
    for stored in (a, a_col):
        out = torch.empty((M, N), dtype=torch.float32)
        view = torch.from_numpy(stored.ravel(order="K")).as_strided((M, K), (
            stored.strides[0] // 4, stored.strides[1] // 4))  # fmt: skip
        assert np.array_equal(view.numpy(), a)
        strided_dot_kernel[(1,)](
            view, torch.from_numpy(b), torch.from_numpy(c), out,
            view.stride(0), view.stride(1), M=M, N=N, K=K,
        )  # fmt: skip
        results.append(out.numpy().copy())
    # Imported after the kernels ran: importing the module applies the patch.
    from scalc.runtime.backends.triton.interpreter_patch import fixed_order_dot

    want = fixed_order_dot(a, b, c).view(np.uint32)
    bits = [r.view(np.uint32) for r in results]
    return {
        "format": "dot fp32 order",
        "patched": PATCH,
        "n": int(want.size),
        "layouts_identical": bool(np.array_equal(bits[0], bits[1])),
        "mismatches": int(np.sum(bits[0] != want)),
        "digest": hashlib.sha256(results[0].tobytes()).hexdigest(),
    }


if __name__ == "__main__":
    for name in FORMATS:
        print(json.dumps(check(name)), flush=True)
    for name in DOTS:
        print(json.dumps(check_dot(name)), flush=True)
    for name in FORMATS:
        print(json.dumps(widen_every_value(name)), flush=True)
    print(json.dumps(check_fp32_dot_order()), flush=True)
