"""`round_to`: round to nearest even into the scaled dialect's formats, saturating
(NUMERICS.md §1 and §5, docs/scaled.md), and the cast statistics."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
import torch

from scalc.runtime.backends.reference.formats import (
    FORMATS,
    cast_stats,
    format_of,
    round_to,
)
from scalc.runtime.scaled_array import ScaledArray

NAN = float("nan")
INF = float("inf")


def rounded(values: list[float], fmt: str) -> list[float]:
    out = round_to(np.array(values, np.float32), fmt)
    assert out.dtype == FORMATS[fmt].dtype
    return out.astype(np.float32).tolist()


def same(got: list[float], want: list[float]) -> bool:
    """Equal, NaN equal to NaN, and zeros of the same sign."""
    return all(
        (math.isnan(g) and math.isnan(w)) or (g == w and math.copysign(1, g) == math.copysign(1, w))
        for g, w in zip(got, want, strict=True)
    )


def test_format_limits() -> None:
    limits = {name: (f.max, f.min_subnormal) for name, f in FORMATS.items()}
    assert limits["f8E4M3FN"] == (448.0, 2.0**-9)
    assert limits["f8E5M2"] == (57344.0, 2.0**-16)
    assert limits["f16"] == (65504.0, 2.0**-24)
    assert limits["bf16"][1] == 2.0**-133 and limits["bf16"][0] == pytest.approx(
        3.3895e38, rel=1e-4
    )
    assert format_of(np.dtype(ml_dtypes.bfloat16)).name == "bf16"
    assert format_of(ml_dtypes.float8_e5m2).name == "f8E5M2"


@pytest.mark.parametrize(
    "fmt,values,want",
    [
        # ties to even: 1 + 2^-4 lies halfway between 1 and 1.125 (mantissa 000 / 001)
        ("f8E4M3FN", [1.0625, 1.1875, -1.0625, 3 * 2.0**-10], [1.0, 1.25, -1.0, 2.0**-8]),
        # largest finite, saturation (also of values that round past max), NaN
        (
            "f8E4M3FN",
            [448.0, 464.0, 1e6, -1e30, INF, -INF, NAN],
            [448.0, 448, 448, -448, 448, -448, NAN],
        ),
        # smallest subnormal 2^-9; half of it flushes (tie to the even zero), above it does not
        (
            "f8E4M3FN",
            [2.0**-9, 2.0**-10, 2.0**-10 * 1.01, -(2.0**-11), 2.0**-6],
            [2.0**-9, 0.0, 2.0**-9, -0.0, 2.0**-6],
        ),
        (
            "f8E5M2",
            [1.125, 1.375, 57344.0, 61440.0, 1e9, -INF, NAN],
            [1.0, 1.5, 57344.0, 57344, 57344, -57344, NAN],
        ),
        (
            "f8E5M2",
            [2.0**-16, 2.0**-17, 2.0**-17 * 1.01, 2.0**-14],
            [2.0**-16, 0.0, 2.0**-16, 2.0**-14],
        ),
        # f16: saturates finite overflow, keeps infinities; subnormal 2^-24
        (
            "f16",
            [65504.0, 65520.0, 1e6, INF, -INF, 2.0**-25, 2.0**-24],
            [65504.0, 65504, 65504, INF, -INF, 0.0, 2.0**-24],
        ),
        # bf16: ties to even on 8 bits, huge finite values saturate, inf stays
        (
            "bf16",
            [1 + 2.0**-8, 1 + 3 * 2.0**-8, 3.4e38, INF, 2.0**-134, 2.0**-133],
            [1.0, 1 + 2.0**-6, 3.3895313892515355e38, INF, 0.0, 2.0**-133],
        ),
        (
            "f32",
            [0.1, 3.4e38, INF, 1e-45],
            [float(np.float32(0.1)), float(np.float32(3.4e38)), INF, float(np.float32(1e-45))],
        ),
    ],
)
def test_hand_picked_values(fmt: str, values: list[float], want: list[float]) -> None:
    assert same(rounded(values, fmt), want), rounded(values, fmt)


def test_plain_ml_dtypes_casts_do_not_saturate_which_is_why_round_to_clips() -> None:
    x = np.array([1e6], np.float32)
    assert np.isnan(x.astype(ml_dtypes.float8_e4m3fn).astype(np.float32)[0])
    assert np.isinf(x.astype(ml_dtypes.float8_e5m2).astype(np.float32)[0])


def test_every_e4m3_value_and_midpoint_against_torch() -> None:
    """torch's float32 -> float8_e4m3fn cast rounds to nearest even and saturates (inf
    included): it must agree with ours bit for bit, on every representable value, every
    midpoint between neighbours, and random data over the whole range."""
    grid = np.arange(256, dtype=np.uint8).view(ml_dtypes.float8_e4m3fn).astype(np.float32)
    finite = np.unique(grid[np.isfinite(grid)])
    mids = (finite[:-1] + finite[1:]) / 2
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(100_000) * np.exp2(rng.uniform(-14, 12, 100_000))).astype(
        np.float32
    )
    x = np.concatenate([finite, mids, noise, [INF, -INF, 1e30, -500.0, 464.0, 465.0]]).astype(
        np.float32
    )
    ours = round_to(x, "f8E4M3FN").astype(np.float32)
    theirs = torch.from_numpy(x).to(torch.float8_e4m3fn).float().numpy()
    assert np.array_equal(ours.view(np.uint32), theirs.view(np.uint32))


def test_e5m2_matches_torch_except_where_torch_overflows_to_inf() -> None:
    """torch's float8_e5m2 cast gives inf past 57344 (+ half an ulp); ours saturates to
    57344 (cvt.rn.satfinite). Everywhere else the two agree bit for bit."""
    grid = np.arange(256, dtype=np.uint8).view(ml_dtypes.float8_e5m2).astype(np.float32)
    finite = np.unique(grid[np.isfinite(grid)])
    mids = (finite[:-1] + finite[1:]) / 2
    rng = np.random.default_rng(1)
    noise = (rng.standard_normal(100_000) * np.exp2(rng.uniform(-20, 18, 100_000))).astype(
        np.float32
    )
    x = np.concatenate([finite, mids, noise, [INF, -INF, 1e30]]).astype(np.float32)
    ours = round_to(x, "f8E5M2").astype(np.float32)
    theirs = torch.from_numpy(x).to(torch.float8_e5m2).float().numpy()
    differ = ours.view(np.uint32) != theirs.view(np.uint32)
    assert differ.any()  # the overflow cases
    assert np.all(np.isinf(theirs[differ])) and np.all(np.abs(ours[differ]) == 57344.0)
    assert np.all(np.abs(x[differ]) >= 61440.0)  # the midpoint to "65536" and beyond


@pytest.mark.parametrize("fmt", ["bf16", "f16"])
def test_half_formats_match_torch_in_range(fmt: str) -> None:
    rng = np.random.default_rng(2)
    x = (rng.standard_normal(50_000) * np.exp2(rng.uniform(-30, 11, 50_000))).astype(np.float32)
    ours = round_to(x, fmt).astype(np.float32)
    theirs = (
        torch.from_numpy(x).to(torch.bfloat16 if fmt == "bf16" else torch.float16).float().numpy()
    )
    assert np.array_equal(ours.view(np.uint32), theirs.view(np.uint32))


@pytest.mark.parametrize("fmt", ["f8E4M3FN", "f8E5M2"])
def test_fp8_tables_agree_with_ml_dtypes_on_every_class_of_float32(fmt: str) -> None:
    """`round_to` encodes FP8 by a table over (upper 16 bits, sticky): check the smallest,
    a middle and the largest float32 of every one of the 2^17 classes against ml_dtypes
    (on saturated inputs, where the two must agree), and decoding of all 256 codes."""
    f = FORMATS[fmt]
    upper = np.arange(1 << 16, dtype=np.uint32) << 16
    lows = [upper, upper | 1, upper | 0x8000, upper | 0xFFFF]
    x = np.concatenate(lows).view(np.float32)
    x = x[~np.isnan(x)]
    clipped = np.clip(x, -f.max, f.max)
    ours = round_to(clipped, fmt).view(np.uint8)
    theirs = clipped.astype(f.dtype).view(np.uint8)
    assert np.array_equal(ours, theirs)
    nan = round_to(np.array([np.nan, -np.nan], np.float32), fmt).astype(np.float32)
    assert np.isnan(nan).all()
    codes = np.arange(256, dtype=np.uint8).view(f.dtype)
    decoded = ScaledArray(codes, 1.0).value()
    assert np.array_equal(decoded, codes.astype(np.float32), equal_nan=True)


def test_round_to_keeps_shapes_and_zero_dimensional_arrays() -> None:
    for fmt in FORMATS:
        out = round_to(np.float32(3.3), fmt)
        assert out.shape == () and out.dtype == FORMATS[fmt].dtype
        grid = round_to(np.ones((2, 3, 0), np.float32), fmt)
        assert grid.shape == (2, 3, 0)
        assert round_to(np.full((2, 3), 2.5, np.float32), fmt).shape == (2, 3)


def test_round_to_takes_other_float_inputs_and_returns_float32_for_f32() -> None:
    out = round_to(np.array([0.1], np.float64), "f32")
    assert out.dtype == np.float32 and out[0] == np.float32(0.1)


# --- ScaledArray ---------------------------------------------------------------------


def test_scaled_array_value_is_data_times_scale() -> None:
    x = ScaledArray(np.array([1.5, -2.0, 448.0], ml_dtypes.float8_e4m3fn), 2.0**-8)
    assert x.shape == (3,) and x.dtype == np.dtype(ml_dtypes.float8_e4m3fn)
    assert x.value().dtype == np.float32
    assert x.value().tolist() == [1.5 / 256, -2.0 / 256, 448.0 / 256]
    assert np.asarray(x).tolist() == x.value().tolist()
    assert isinstance(x.scale, float)
    with pytest.raises(AttributeError):
        x.scale = 1.0  # type: ignore[misc]


# --- cast statistics -----------------------------------------------------------------


def test_cast_stats_count_saturation_and_underflow() -> None:
    fmt = FORMATS["f8E4M3FN"]
    x = np.zeros(1000, np.float32)
    x[:10] = 1000.0  # saturate
    x[10:15] = -449.0  # saturate (beyond max before rounding)
    x[15:20] = 448.0  # exactly max: not saturated
    x[20:50] = 2.0**-11  # flushed to zero
    x[50:60] = 2.0**-10  # the tie: flushed to zero as well
    x[60:70] = 2.0**-9  # smallest subnormal: kept
    x[70:900] = 1.0
    x[900] = INF  # not finite: neither saturated nor counted
    x[901] = NAN
    stats = cast_stats(x, fmt, scale=4.0)
    finite = 1000 - 2
    nonzero = 902 - 1  # 0..901 nonzero; the NaN is not counted
    assert stats["scale"] == 4.0
    assert stats["saturated"] == pytest.approx(15 / finite)
    assert stats["underflow"] == pytest.approx(40 / nonzero)
    assert math.isnan(stats["amax"])
    # cross-check against the rounded data
    q = round_to(x, fmt).astype(np.float32)
    assert np.count_nonzero((q == 0) & (x != 0) & ~np.isnan(x)) == 40
    ok = cast_stats(x[:900], fmt, scale=4.0)
    assert ok["amax"] == 4000.0 and ok["saturated"] == pytest.approx(15 / 900)


def test_cast_stats_of_an_empty_and_a_zero_tensor() -> None:
    for x in (np.zeros(0, np.float32), np.zeros((4, 4), np.float32)):
        stats = cast_stats(x, FORMATS["f8E5M2"], 1.0)
        assert stats == {"scale": 1.0, "amax": 0.0, "saturated": 0.0, "underflow": 0.0}
