"""Exact emulation of the low-precision formats a scaled tensor's data is stored in.

`round_to(x, fmt)` is the one rounding of the scaled dialect (docs/scaled.md): float32 in,
round to nearest even into ``fmt`` and **saturate**: a finite value beyond the format's
largest finite number becomes ±max (448 for f8E4M3FN, 57344 for f8E5M2, 65504 for f16,
≈3.39e38 for bf16) instead of the NaN (E4M3FN) or inf (E5M2, f16, bf16) a plain
``ml_dtypes`` / NumPy conversion gives. This is what the GPU's ``cvt.rn.satfinite`` does
and what NUMERICS.md §1/§5 ask of every cast. NaN stays NaN. Infinities: in the FP8
formats ±inf saturates to ±max as well (``satfinite``; torch's ``float8_e4m3fn`` cast
agrees), while bf16, f16 and f32 keep ±inf, so a blow-up in the compute type stays
visible to the step's finiteness check. Values at or below half the smallest subnormal
round (ties to even) to a zero of their sign.

torch's ``float8_e5m2`` cast does *not* saturate (1e6 -> inf, 61440 -> inf); ours gives
57344 there. Its ``float8_e4m3fn`` cast saturates like ours (tests/runtime/test_scaled_formats.py).

The data is stored in the ``ml_dtypes`` / NumPy dtype of the format.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import ml_dtypes
import numpy as np
from xdsl.ir import Attribute


@dataclass(frozen=True)
class Format:
    """One element format: its IR spelling, NumPy dtype and the limits that matter."""

    name: str
    """The MLIR spelling: ``f8E4M3FN``, ``f8E5M2``, ``bf16``, ``f16``, ``f32``."""
    dtype: np.dtype
    max: float
    """Largest finite value."""
    min_subnormal: float
    """Smallest positive value; f32 is taken to keep everything (no flush)."""
    fp8: bool
    """FP8 formats saturate infinities too (``cvt.rn.satfinite``)."""

    @property
    def flush_below(self) -> float:
        """A nonzero ``|x|`` at or below this rounds to zero (half the smallest subnormal;
        the tie goes to the even neighbour, zero). 0 for f32: nothing flushes."""
        return 0.0 if self.name == "f32" else self.min_subnormal / 2


def _format(name: str, dtype: type, fp8: bool = False) -> Format:
    info = np.finfo(dtype) if dtype in (np.float32, np.float16) else ml_dtypes.finfo(dtype)
    return Format(name, np.dtype(dtype), float(info.max), float(info.smallest_subnormal), fp8)


F8E4M3FN = _format("f8E4M3FN", ml_dtypes.float8_e4m3fn, fp8=True)
F8E5M2 = _format("f8E5M2", ml_dtypes.float8_e5m2, fp8=True)
BF16 = _format("bf16", ml_dtypes.bfloat16)
F16 = _format("f16", np.float16)
F32 = _format("f32", np.float32)

FORMATS: dict[str, Format] = {f.name: f for f in (F8E4M3FN, F8E5M2, BF16, F16, F32)}
_BY_DTYPE: dict[np.dtype, Format] = {f.dtype: f for f in FORMATS.values()}


def format_of(element: str | np.dtype | type | Attribute | Format) -> Format:
    """The `Format` named by an IR element type (``f8E4M3FN``), its name, or a dtype."""
    if isinstance(element, Format):
        return element
    if isinstance(element, str) and element in FORMATS:
        return FORMATS[element]
    if isinstance(element, Attribute):
        from scalc.runtime.backends.reference.dtypes import numpy_dtype

        element = numpy_dtype(element)
    try:
        return _BY_DTYPE[np.dtype(element)]
    except (TypeError, KeyError):
        raise TypeError(f"no scaled-tensor format for {element}") from None


def saturate(x: np.ndarray, fmt: Format) -> np.ndarray:
    """``x`` (float32) with finite values clipped to ``±fmt.max``; NaN kept; infinities
    clipped in FP8 formats, kept otherwise (a new array; ``x`` itself for f32)."""
    if fmt.name == "f32":
        return x
    clipped = np.clip(x, -fmt.max, fmt.max, out=np.empty_like(x))
    if not fmt.fp8:
        np.copyto(clipped, x, where=np.isinf(x))  # bf16/f16 keep their infinities
    return clipped


def round_to(
    x: np.ndarray | float, element: str | np.dtype | type | Attribute | Format
) -> np.ndarray:
    """``x`` (float32) rounded to nearest even into ``element``'s format, saturated.

    >>> round_to(np.float32([1000.0, 0.3, -1e-5]), "f8E4M3FN").astype(np.float32).tolist()
    [448.0, 0.3125, -0.0]
    """
    fmt = format_of(element)
    x = np.asarray(x)
    if x.dtype != np.float32:
        x = x.astype(np.float32)
    if fmt.name == "f32":
        return x
    if fmt.fp8:
        return _encode_fp8(saturate(x, fmt), fmt)
    # bf16, f16: convert, then put back ±max where a finite value overflowed to inf.
    with np.errstate(over="ignore"):
        y = x.astype(fmt.dtype)
    overflowed = (y.view(np.uint16) & 0x7FFF) == _INF_BITS[fmt.name]
    if overflowed.any():
        fix = overflowed & np.isfinite(x)
        y[fix] = np.where(x[fix] > 0, fmt.max, -fmt.max).astype(fmt.dtype)
    return y


_INF_BITS = {"bf16": 0x7F80, "f16": 0x7C00}


@functools.cache
def _fp8_tables(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(encode, decode) tables of an FP8 format, built once with ``ml_dtypes``.

    Encode: rounding a float32 to a format with at most 7 mantissa bits depends only on
    its upper 16 bits and on whether any lower bit is set (the sticky bit), so a table
    indexed by ``upper16 << 1 | sticky`` (2^17 entries) holds the conversion of one
    representative per class: exact, and ~2.5x faster than ``ml_dtypes``' cast. Decode:
    the 256 values as float32 (~4x faster than ``astype``)."""
    fmt = FORMATS[name]
    keys = np.arange(1 << 17, dtype=np.uint32)
    representatives = ((keys >> 1) << 16 | (keys & 1)).view(np.float32)
    with np.errstate(invalid="ignore"):
        encode = representatives.astype(fmt.dtype).view(np.uint8)
        decode = np.arange(256, dtype=np.uint8).view(fmt.dtype).astype(np.float32)
    return encode, decode


def _encode_fp8(clipped: np.ndarray, fmt: Format) -> np.ndarray:
    """Saturated float32 -> the FP8 format (round to nearest even), by table."""
    encode, _ = _fp8_tables(fmt.name)
    bits = clipped.reshape(-1).view(np.uint32)
    key = bits >> 15  # upper 16 bits, and bit 15 (covered by the sticky bit below)
    key |= (bits & 0xFFFF) != 0
    return encode[key].view(fmt.dtype).reshape(clipped.shape)


def value_of(data: np.ndarray) -> np.ndarray:
    """``data`` as float32 (no copy when it already is)."""
    if data.dtype == np.float32:
        return data
    fmt = _BY_DTYPE.get(data.dtype)
    if fmt is not None and fmt.fp8:
        return _fp8_tables(fmt.name)[1][data.view(np.uint8)]
    return data.astype(np.float32)


def cast_stats(x: np.ndarray, fmt: Format, scale: float) -> dict[str, float]:
    """What casting ``x`` (float32: the data, ``value / scale``) into ``fmt`` does to it.

    ``scale``; ``amax``: ``max |x| * scale``, the input value's largest magnitude (NaN if
    the input holds one, 0 for an empty tensor); ``saturated``: the fraction of the finite
    inputs with ``|x| > fmt.max`` (clipped to ±max); ``underflow``: the fraction of the
    nonzero, non-NaN inputs that round to zero. A few vectorised passes, no Python loop.
    """
    a = np.abs(x)
    n = a.size
    top = float(a.max()) if n else 0.0
    nan = int(np.count_nonzero(np.isnan(a))) if math.isnan(top) else 0
    over = infinite = 0
    if n and not top <= fmt.max:  # some value beyond max (or a NaN): count them
        over = int(np.count_nonzero(a > fmt.max))
        infinite = int(np.count_nonzero(np.isinf(a))) if over else 0
    zeros = int(np.count_nonzero(a == 0)) if n else 0
    at_most_flush = int(np.count_nonzero(a <= fmt.flush_below)) if n else 0
    return cast_stats_from_counts(n, nan, infinite, over, zeros, at_most_flush, top, scale)


def cast_stats_from_counts(
    n: int, nan: int, infinite: int, over: int, zeros: int, at_most_flush: int, top: float,
    scale: float,
) -> dict[str, float]:
    """`cast_stats` from the counts of the ``n`` values cast: NaN, infinite, ``> max``,
    zero, ``<= flush_below`` (zeros included), and their max magnitude ``top``. The Triton
    cast kernels count these themselves (backends/triton/stats.py), so both backends report
    through this one formula."""
    finite = n - nan - infinite
    nonzero = n - zeros - nan
    return {
        "scale": float(scale),
        "amax": math.nan if math.isnan(top) else float(top * scale),
        "saturated": (over - infinite) / finite if over and finite else 0.0,
        "underflow": (at_most_flush - zeros) / nonzero if nonzero else 0.0,
    }
