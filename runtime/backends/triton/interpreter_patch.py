"""Make Triton 3.9's CPU interpreter (``TRITON_INTERPRET=1``) convert fp32 -> f8E4M3FN,
f8E5M2 and bf16, and multiply bf16 / FP8 operands in ``tl.dot``, the way an sm_90 GPU does,
and sum the products of ``tl.dot`` in one fixed order, so cast and GEMM kernels can be
checked bit for bit (casts) or within the fp32 summation-order bound (dots) on CPU, with the
same bits on every CPU.

Import this module (``from scalc.runtime.backends.triton import interpreter_patch``; it patches on import) in the interpreter
subprocess before any kernel runs. What the interpreter does and what the GPU does:

| conversion | interpreter (``_convert_float``) | GPU (PTX Triton emits) | patched |
|---|---|---|---|
| fp32 -> fp8e4nv (``x.to(tl.float8e4nv)``) | looks at one bit below the cut only (no sticky bit, no ties-to-even: ~8% of values off by one step), exponent clamped, not saturated (1000 -> NaN bits) | ``cvt.rn.satfinite.e4m3x2.f32``: RNE, finite overflow and ±inf -> ±448, NaN -> NaN | RNE, ±448 |
| fp32 -> fp8e5 | same | ``cvt.rn.satfinite.e5m2x2.f32``: RNE, ±57344 | RNE, ±57344 |
| fp32 -> bf16 (``x.to(tl.bfloat16)``) | truncates (round toward zero) | ``cvt.rn.bf16.f32``: RNE, **no** satfinite: finite overflow -> ±inf | RNE, ±inf on overflow |

| bf16 -> fp32 (``x.to(tl.float32)``) | 254 of the subnormals wrong (2^-133 -> 0, ...) | exact | exact |
| fp8e4nv / fp8e5 -> fp32 | e4m3 NaN -> ±480, e5m2 ±inf and NaN -> finite values | exact | exact |

(bf16: the GPU does not saturate, so neither does the patch; ``round_to(x, "bf16")`` would
give ±max for a finite x beyond bf16's range, ~3.39e38: no kernel of ours gets there.)

| ``tl.dot(a, b, acc)`` operands | interpreter (``create_dot``) | GPU (``wgmma`` / ``mma``) | patched |
|---|---|---|---|
| bf16 x bf16 | ``np.matmul`` of the raw uint16 storage: the bit patterns multiplied as integers (garbage) | exact products, fp32 accumulation | exact products, fixed-order sum |
| fp8 x fp8 | both converted to fp16 by ``_convert_float``, which misreads the E5M2 subnormals (2^-16 and 2^-15 become 0, 3 * 2^-16 becomes 2^-15); E4M3 converts exactly | exact products, fp32 accumulation | exact products, fixed-order sum |
| fp32 x fp32, fp16 x fp16 (``input_precision="ieee"``) | ``np.matmul`` (BLAS): the summation order depends on the operands' strides, the BLAS kernel chosen for the CPU and its threads | FMA chains in fp32, in an order of its own | exact products, fixed-order sum |

**The fixed-order sum.** Every bf16, fp16, FP8 and fp32 value is exact in float64 and so is
the product of two (at most 2 x 24 significant bits), so the patched dot converts both
operands to float64 (``ml_dtypes`` for the narrow formats, exact), adds the products one
``k`` at a time in ascending order with elementwise float64 operations (each correctly
rounded, whatever the SIMD width), adds the accumulator and rounds to fp32 once. The
result is a function of the operand *values* alone: the same bits whether an operand was
loaded from a transposed or strided layout, on any CPU, with any number of BLAS threads
(nothing goes through BLAS). It is within one fp32 rounding (plus ``K 2^-53`` relative,
the float64 sum) of the exact dot, so within the fp32 summation-order bound of any GPU
order; bit-exact agreement with a GPU is not promised, as no fp32 summation order is.
(Hopper's FP8 ``wgmma`` keeps fewer accumulator bits unless partial sums are promoted,
NUMERICS.md §5; the patch models the full-precision accumulation the kernels are
specified to.) fp64 and integer dots go to the original, which is right for them.
`fixed_order_dot` is the function; tests/lowering/test_interpreter_patch.py checks it
against layouts and BLAS settings.

Four methods of ``triton.runtime.interpreter.InterpreterBuilder`` are wrapped, nothing else:
- ``create_fp_to_fp``: what ``tl.tensor.to`` calls for any cast to or from an fp8 type.
  Patched when the source is fp32, the target fp8e4nv / fp8e5 and the rounding RTNE (the
  default), and when the source is fp8 and the target fp32 (exact); everything else goes
  to the original.
- ``create_fp_ext``: what ``.to`` calls for bf16 -> fp32. Patched for that (exact) only.
- ``create_fp_trunc``: what ``.to`` calls for fp32 -> bf16 (and fp64/fp32 -> fp16...).
  Patched for fp32 -> bf16 only.
- ``create_dot``: what ``tl.dot`` calls. Patched when both operands are bf16, fp16,
  fp8e4nv, fp8e5 or fp32 and the accumulator fp32 (every dot our kernels write; their fp32
  dots are ``input_precision="ieee"``, and a TF32 dot, which the original interpreter does
  not round to TF32 either, gets the same full-precision sum); everything else goes to the
  original.

The conversions use ``ml_dtypes`` (round to nearest even) after a NaN-keeping clip to the
format's max (``np.clip`` keeps NaN; it also clips ±inf, which is what ``satfinite`` does).
If Triton moves or renames these methods the import raises `InterpreterPatchError`
rather than silently checking nothing; tests/lowering/test_interpreter_patch.py fails too.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import triton.language as tl
from triton.runtime import interpreter as _interp

__all__ = ["PATCHED", "InterpreterPatchError", "apply", "fixed_order_dot", "is_applied"]


class InterpreterPatchError(RuntimeError):
    """The interpreter internals this patch replaces are not where Triton 3.9 had them."""


# Target Triton type -> (ml_dtypes type, largest finite value or None for no saturation).
_FP8 = {
    tl.float8e4nv: (ml_dtypes.float8_e4m3fn, 448.0),
    tl.float8e5: (ml_dtypes.float8_e5m2, 57344.0),
}
# Operand Triton type -> the ml_dtypes type its storage bits (uint8 / uint16) are read as.
_DOT_EXACT = {
    tl.bfloat16: (ml_dtypes.bfloat16, np.uint16),
    tl.float8e4nv: (ml_dtypes.float8_e4m3fn, np.uint8),
    tl.float8e5: (ml_dtypes.float8_e5m2, np.uint8),
}
PATCHED = (
    "InterpreterBuilder.create_fp_to_fp",
    "InterpreterBuilder.create_fp_trunc",
    "InterpreterBuilder.create_fp_ext",
    "InterpreterBuilder.create_dot",
)


def _fp32_to_fp8(data: np.ndarray, np_type, fmt_max: float) -> np.ndarray:
    """fp32 -> fp8 bits (uint8, the interpreter's storage): RNE, saturated, NaN kept."""
    x = np.asarray(data, dtype=np.float32)
    clipped = np.clip(x, -fmt_max, fmt_max)  # NaN stays NaN, ±inf -> ±max
    with np.errstate(invalid="ignore", over="ignore"):
        return clipped.astype(np_type).view(np.uint8)


def _fp32_to_bf16(data: np.ndarray) -> np.ndarray:
    """fp32 -> bf16 bits (uint16, the interpreter's storage): RNE, overflow -> inf."""
    x = np.asarray(data, dtype=np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        return x.astype(ml_dtypes.bfloat16).view(np.uint16)


def _exact_fp32(handle) -> _interp.TensorHandle:
    """A bf16 / FP8 tensor's exact fp32 values (every one is representable: subnormals,
    inf and NaN included, as the GPU's conversion gives them)."""
    return _interp.TensorHandle(_dot_operand_fp32(handle), tl.float32)


def _patched_create_fp_to_fp(original):
    def create_fp_to_fp(self, src, dst_type, rounding_mode):
        dst = dst_type.scalar
        if src.dtype.scalar in _FP8 and dst == tl.float32:
            return _exact_fp32(src)  # Triton 3.9: e4m3 NaN -> 480, e5m2 inf/NaN -> finite
        if (
            src.dtype.scalar == tl.float32
            and dst in _FP8
            and rounding_mode == _interp._ir.ROUNDING_MODE.RTNE
        ):
            np_type, fmt_max = _FP8[dst]
            return _interp.TensorHandle(_fp32_to_fp8(src.data, np_type, fmt_max), dst)
        return original(self, src, dst_type, rounding_mode)

    create_fp_to_fp.scalc_original = original
    return create_fp_to_fp


def _patched_create_fp_trunc(original):
    def create_fp_trunc(self, src, dst_type):
        if src.dtype.scalar == tl.float32 and dst_type.scalar == tl.bfloat16:
            return _interp.TensorHandle(_fp32_to_bf16(src.data), tl.bfloat16)
        return original(self, src, dst_type)

    create_fp_trunc.scalc_original = original
    return create_fp_trunc


def _patched_create_fp_ext(original):
    def create_fp_ext(self, src, dst_type):
        if src.dtype.scalar == tl.bfloat16 and dst_type.scalar == tl.float32:
            return _exact_fp32(src)  # Triton 3.9 reads bf16 subnormals wrongly
        return original(self, src, dst_type)

    create_fp_ext.scalc_original = original
    return create_fp_ext


def _dot_operand_fp32(handle) -> np.ndarray:
    """The exact fp32 values of a bf16 / FP8 operand (the interpreter stores raw bits)."""
    np_type, bits = _DOT_EXACT[handle.dtype.scalar]
    return np.asarray(handle.data).astype(bits, copy=False).view(np_type).astype(np.float32)


def _dot_operand_fp64(handle) -> np.ndarray:
    """The exact float64 values of a dot operand of any type `create_dot` patches."""
    if handle.dtype.scalar in _DOT_EXACT:
        return _dot_operand_fp32(handle).astype(np.float64)
    return np.asarray(handle.data).astype(np.float64)  # fp32 / fp16: stored as themselves


def fixed_order_dot(a: np.ndarray, b: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """``acc + a @ b`` rounded once to fp32, the products summed in float64 in ascending
    ``k`` with elementwise operations only: the bits depend on the values of ``a``, ``b``
    and ``acc``, never on their strides, the CPU or BLAS (module docstring).

    ``a``: [..., M, K], ``b``: [..., K, N], ``acc``: [..., M, N], any float dtypes whose
    values float64 holds exactly."""
    a64 = np.asarray(a, dtype=np.float64)
    b64 = np.asarray(b, dtype=np.float64)
    rows, cols = a64.shape[:-1] + (1,), b64.shape[:-2] + (1, b64.shape[-1])
    total = np.zeros(np.broadcast_shapes(rows, cols))  # [..., M, N]
    for k in range(a64.shape[-1]):
        total += a64[..., :, k, None] * b64[..., None, k, :]
    total += np.asarray(acc, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        return total.astype(np.float32)


_DOT_FLOAT = (*_DOT_EXACT, tl.float16, tl.float32)


def _patched_create_dot(original):
    def create_dot(self, a, b, d, input_precision, max_num_imprecise_acc):
        if (
            a.dtype.scalar in _DOT_FLOAT
            and b.dtype.scalar in _DOT_FLOAT
            and d.dtype.scalar == tl.float32
        ):
            summed = fixed_order_dot(_dot_operand_fp64(a), _dot_operand_fp64(b), d.data)
            return _interp.TensorHandle(summed, tl.float32)
        return original(self, a, b, d, input_precision, max_num_imprecise_acc)

    create_dot.scalc_original = original
    return create_dot


def is_applied() -> bool:
    builder = getattr(_interp, "InterpreterBuilder", None)
    return builder is not None and all(
        hasattr(getattr(builder, name.split(".")[1], None), "scalc_original") for name in PATCHED
    )


def apply() -> None:
    """Patch the four methods (idempotent); `InterpreterPatchError` if any is missing."""
    builder = getattr(_interp, "InterpreterBuilder", None)
    needed = ("TensorHandle", "_ir")
    missing = [n for n in needed if not hasattr(_interp, n)]
    if builder is None:
        missing.append("InterpreterBuilder")
    else:
        missing += [n for n in PATCHED if not callable(getattr(builder, n.split(".")[1], None))]
    if missing:
        raise InterpreterPatchError(
            f"triton.runtime.interpreter lacks {missing} (Triton changed since 3.9?): the "
            "fp32 -> fp8/bf16 rounding and bf16/fp8 dot patch cannot be applied; update "
            "runtime/backends/triton/interpreter_patch.py"
        )
    if is_applied():
        return
    builder.create_fp_to_fp = _patched_create_fp_to_fp(builder.create_fp_to_fp)
    builder.create_fp_trunc = _patched_create_fp_trunc(builder.create_fp_trunc)
    builder.create_fp_ext = _patched_create_fp_ext(builder.create_fp_ext)
    builder.create_dot = _patched_create_dot(builder.create_dot)


apply()
