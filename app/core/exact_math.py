"""The arithmetic of the per-sample training loop (engine._train) and of the K-run loop (engine_multi), one
definition for both: compiled without fast-math, so that every rounding happens as written whatever the
loop around it, and a run trained in either loop gets the same float64 numbers bit for bit.

exp is glibc's algorithm (2.28+, sysdeps/ieee754/dbl-64/e_exp.c) with one word of its table (within 1 ulp),
written out branch-free so that loops over runs vectorise; math.exp takes the rare arguments outside its
main range (|x| >= 512, NaN). log1p, which the loss needs on [0, 1] only, is a series (within 2 ulp). Each
scalar function here is what both loops call, the K-run loop element by element (exp_main over a whole row,
then math.exp where exp_odd).

numba's cache of the loops that inline these functions is keyed to this file's contents too (jit_cache)."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np

from app.core.network import LEAKY_SLOPE

try:
    from llvmlite import ir
    from numba import njit, types
    from numba.extending import intrinsic
except ImportError:  # pragma: no cover - the torch fallback takes over
    njit = None

if njit is not None:
    from app.core.jit_cache import use_source_keyed_cache

    use_source_keyed_cache()

    @intrinsic
    def fma(typingctx, a, b, c):
        """a * b + c rounded once (llvm.fma)."""
        sig = types.float64(types.float64, types.float64, types.float64)

        def codegen(context, builder, signature, args):
            return builder.fma(*args)

        return sig, codegen

    @intrinsic
    def _bits(typingctx, x):
        """The IEEE bits of a float64 as an int64."""

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir.IntType(64))

        return types.int64(types.float64), codegen

    @intrinsic
    def _from_bits(typingctx, i):
        """The float64 with these IEEE bits."""

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir.DoubleType())

        return types.float64(types.int64), codegen

    def jit_exact(fn, **options):
        """numba's njit without fast-math (no reassociation, contraction or reciprocals: every rounding as
        written), GIL released, cached; numpy's error model (x/0 is inf or NaN, no check that keeps LLVM
        from vectorising)."""
        return njit(nogil=True, cache=True, error_model="numpy", **options)(fn)

else:  # pragma: no cover - without numba nothing here is called

    def jit_exact(fn, **options):
        return fn


# --- exp: glibc's algorithm (2.28+), with one word of its 2^(i/128) table --------------------------------
EXP_BITS = 7
INV_LN2_N = float.fromhex("0x1.71547652b82fep7")
NEG_LN2_HI_N = float.fromhex("-0x1.62e42fefa0000p-8")
NEG_LN2_LO_N = float.fromhex("-0x1.cf79abc9e3b3ap-47")
EXP_C2, EXP_C3 = float.fromhex("0x1.ffffffffffdbdp-2"), float.fromhex("0x1.555555555543cp-3")
EXP_C4, EXP_C5 = float.fromhex("0x1.55555cf172b91p-5"), float.fromhex("0x1.1111167a4d017p-7")
EXP_SHIFT = float.fromhex("0x1.8p52")


def _exp_table() -> np.ndarray:
    """The bits of H_i, the double nearest 2^(i/128), less i << 45, to which the shifted k is added to make
    the scale 2^(k/128). glibc also keeps H_i's relative error as a second word; without it, and its
    second gather in a vectorised loop, exp is within 1 ulp."""
    sbits = np.empty(1 << EXP_BITS, np.int64)
    with localcontext() as context:
        context.prec = 60
        for i in range(1 << EXP_BITS):
            high = float(Decimal(2) ** (Decimal(i) / (1 << EXP_BITS)))
            sbits[i] = int(np.float64(high).view(np.int64)) - (i << (52 - EXP_BITS))
    return sbits


EXP_SBITS = _exp_table()


@jit_exact
def exp_main(x):
    """exp(x) for |x| < 512 (see exp_odd), within 1 ulp, branch-free so that loops over it vectorise."""
    kd = fma(x, INV_LN2_N, EXP_SHIFT)
    ki = _bits(kd)
    kd = kd - EXP_SHIFT
    r = fma(kd, NEG_LN2_HI_N, x)
    r = fma(kd, NEG_LN2_LO_N, r)
    scale = _from_bits(EXP_SBITS[ki & ((1 << EXP_BITS) - 1)] + (ki << (52 - EXP_BITS)))
    r2 = r * r
    tmp = fma(fma(r, EXP_C3, EXP_C2), r2, r)
    tmp = fma(r2 * r2, fma(r, EXP_C5, EXP_C4), tmp)
    return fma(scale, tmp, scale)


@jit_exact
def exp_odd(x):
    """Whether x is outside exp_main's range (huge or NaN): math.exp computes it."""
    return not abs(x) < 512.0


@jit_exact
def exp(x):
    """exp(x) as both loops compute it: exp_main, or math.exp where exp_odd."""
    return math.exp(x) if exp_odd(x) else exp_main(x)


# --- what the loops compute from an exp -----------------------------------------------------------------
@jit_exact
def tanh_of(z, e):
    """tanh(z) given e = exp(2 z): (e - 1) / (e + 1), +-1 beyond +-20 (where tanh rounds to +-1)."""
    if z > 20.0:
        return 1.0
    if z < -20.0:
        return -1.0
    return (e - 1.0) / (e + 1.0)


@jit_exact
def tanh(z):
    """tanh_of(z, exp(2 z)), by exp_main alone: its value counts only for |z| <= 20, where 2 z is within
    exp_main's range (and NaN stays NaN), so that a loop over it needs no fallback."""
    return tanh_of(z, exp_main(2.0 * z))


@jit_exact
def sigmoid_of(z, e):
    """sigmoid(z) given e = exp(-|z|): 1 / (1 + e) for z >= 0, else e / (1 + e)."""
    return 1.0 / (1.0 + e) if z >= 0.0 else e / (1.0 + e)


# atanh(s) = s + s z (1/3 + z/5 + z^2/7 + ...), z = s^2: to below 2^-56 of s for |s| <= 1/3 with 17 terms.
_A3, _A5, _A7, _A9, _A11, _A13, _A15, _A17, _A19 = (1.0 / n for n in range(3, 20, 2))
_A21, _A23, _A25, _A27, _A29, _A31, _A33, _A35 = (1.0 / n for n in range(21, 36, 2))


@jit_exact
def log1p_unit(e):
    """log1p(e) for 0 <= e <= 1 (within 2 ulp), branch-free: 2 atanh(s) with s = e / (2 + e) <= 1/3."""
    s = e / (2.0 + e)
    z = s * s
    p = _A27 + z * (_A29 + z * (_A31 + z * (_A33 + z * _A35)))
    p = _A17 + z * (_A19 + z * (_A21 + z * (_A23 + z * (_A25 + z * p))))
    p = _A3 + z * (_A5 + z * (_A7 + z * (_A9 + z * (_A11 + z * (_A13 + z * (_A15 + z * p))))))
    return 2.0 * s + (2.0 * s) * (z * p)


@jit_exact
def loss_of(logit, target, e):
    """Binary cross-entropy of a logit, given e = exp(-|logit|): max(l, 0) - l y + log1p(e)."""
    return max(logit, 0.0) - logit * target + log1p_unit(e)


@jit_exact
def sigmoid(z):
    return sigmoid_of(z, exp(-abs(z)))


@jit_exact
def act(code, z):
    """The activation (engine.ACTIVATION_CODES: tanh, relu, sigmoid, leaky ReLU) of z."""
    if code == 0:
        return tanh(z)
    if code == 1:
        return z if z > 0.0 else 0.0
    if code == 2:
        return sigmoid(z)
    return z if z > 0.0 else LEAKY_SLOPE * z


@jit_exact
def act_slope(code, z, a):
    """Derivative of the activation, given the pre-activation z and its value a."""
    if code == 0:
        return 1.0 - a * a
    if code == 1:
        return 1.0 if z > 0.0 else 0.0
    if code == 2:
        return a * (1.0 - a)
    return 1.0 if z > 0.0 else LEAKY_SLOPE


@jit_exact
def sample_loss(logit, target):
    return loss_of(logit, target, exp(-abs(logit)))


@jit_exact
def softmax(z, k, out):
    """out[:k] = softmax(z[:k]); returns log(sum(exp(z[:k]))), computed from the largest logit's side."""
    top = z[0]
    for c in range(1, k):
        top = max(top, z[c])
    total = 0.0
    for c in range(k):
        e = exp(z[c] - top)
        out[c] = e
        total += e
    for c in range(k):
        out[c] /= total
    return top + math.log(total)
