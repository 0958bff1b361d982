"""Black-76 pricing, greeks and implied volatility: throughput against budgets and baselines.

Run: ``.venv/bin/python -m benchmarks.bench_quant``. Every figure comes from this one run:
timings are the best of several repeats after a warm-up (numba compilation excluded), on one
thread. Nothing here is asserted; the tests check correctness, this reports speed.

Baselines:

* compiled floor: a numba loop doing only the textbook arithmetic for the same outputs (no input
  checks, no limits, no deep out-of-the-money care): one log, one sqrt and two ``erfc`` per price,
  plus one ``exp`` and a few products for the greeks. It is what one pass of compiled scalar code
  costs on this machine with the system libm.
* ufunc floor: the shortest numpy chain for a call price (``log``, ``sqrt``, two ``ndtr``), to show
  what the numpy path pays for checks, limits and puts.
* brentq: ``scipy.optimize.brentq`` per option (xtol 1e-12) on a plain-Python scalar Black-76
  price (``math.erfc``), timed on a subsample and extrapolated per option.
* py_vollib_vectorized, if it installs and runs here.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable

import numba
import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq
from scipy.special import ndtr

from trading.quant import black76
from trading.quant.implied_vol import IVStatus, implied_vol

FloatArray = npt.NDArray[np.float64]

N_PRICE = 1_000_000
N_IV = 100_000
N_BRENTQ = 2000
PRICE_BUDGET_NS = 100.0
GREEKS_BUDGET_NS = 200.0
IV_TARGET_PER_S = 1e6
BRENTQ_RATIO_TARGET = 40.0

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@numba.njit(cache=True)
def _floor_price(f: FloatArray, k: FloatArray, t: FloatArray, v: FloatArray, out: FloatArray) -> None:
    for i in range(f.size):
        s = v[i] * math.sqrt(t[i])
        d1 = math.log(f[i] / k[i]) / s + 0.5 * s
        d2 = d1 - s
        out[i] = f[i] * 0.5 * math.erfc(-d1 * _INV_SQRT2) - k[i] * 0.5 * math.erfc(-d2 * _INV_SQRT2)


@numba.njit(cache=True)
def _floor_greeks(f: FloatArray, k: FloatArray, t: FloatArray, v: FloatArray, out: FloatArray) -> None:
    for i in range(f.size):
        sqrt_t = math.sqrt(t[i])
        s = v[i] * sqrt_t
        d1 = math.log(f[i] / k[i]) / s + 0.5 * s
        d2 = d1 - s
        n1 = 0.5 * math.erfc(-d1 * _INV_SQRT2)
        n2 = 0.5 * math.erfc(-d2 * _INV_SQRT2)
        pdf = math.exp(-0.5 * d1 * d1) * _INV_SQRT_2PI
        price = f[i] * n1 - k[i] * n2
        out[0, i] = price
        out[1, i] = price / f[i]
        out[2, i] = n1
        out[3, i] = pdf / (f[i] * s)
        out[4, i] = f[i] * pdf * sqrt_t * 0.01
        out[5, i] = max(-f[i] * pdf * v[i] / (2.0 * sqrt_t) / 365.0, -price)
        out[6, i] = k[i] * t[i] * n2 * 0.01


def _scalar_price(f: float, k: float, t: float, v: float, call: bool) -> float:
    s = v * math.sqrt(t)
    d1 = math.log(f / k) / s + 0.5 * s
    d2 = d1 - s
    c = f * 0.5 * math.erfc(-d1 * _INV_SQRT2) - k * 0.5 * math.erfc(-d2 * _INV_SQRT2)
    return c if call else c - f + k


def _ufunc_floor_price(f: FloatArray, k: FloatArray, t: FloatArray, v: FloatArray) -> FloatArray:
    s = v * np.sqrt(t)
    d1 = np.log(f / k) / s + 0.5 * s
    return np.asarray(f * ndtr(d1) - k * ndtr(d1 - s))


def best_seconds(fn: Callable[[], object], repeat: int = 7) -> float:
    fn()
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def realistic_book(
    n: int, seed: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """Crypto-like options: DTE 1-365 days, strikes 0.5-2x the forward, vols 30-150 %."""
    rng = np.random.default_rng(seed)
    f = rng.uniform(2000.0, 120_000.0, n)
    k = f * np.exp(rng.uniform(math.log(0.5), math.log(2.0), n))
    t = rng.uniform(1.0, 365.0, n) / 365.0
    v = rng.uniform(0.3, 1.5, n)
    is_call = rng.random(n) < 0.5
    return f, k, t, v, is_call


def _table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def bench_black76() -> None:
    f, k, t, v, c = realistic_book(N_PRICE, seed=1)
    ns = 1e9 / N_PRICE
    # The floors allocate their outputs inside the timed call, as the library functions do.
    floor_p = best_seconds(lambda: _floor_price(f, k, t, v, np.empty(N_PRICE))) * ns
    floor_g = best_seconds(lambda: _floor_greeks(f, k, t, v, np.empty((7, N_PRICE)))) * ns
    ufunc_p = best_seconds(lambda: _ufunc_floor_price(f, k, t, v)) * ns
    rows = []
    for label, fn, budget, floor in (
        ("price, numpy", lambda: black76.price(f, k, t, v, c), PRICE_BUDGET_NS, floor_p),
        ("price, numba", lambda: black76.price(f, k, t, v, c, backend="numba"), PRICE_BUDGET_NS, floor_p),
        ("price+greeks, numpy", lambda: black76.price_and_greeks(f, k, t, v, c), GREEKS_BUDGET_NS, floor_g),
        (
            "price+greeks, numba",
            lambda: black76.price_and_greeks(f, k, t, v, c, backend="numba"),
            GREEKS_BUDGET_NS,
            floor_g,
        ),
    ):
        per = best_seconds(fn) * ns
        verdict = "ok" if per <= budget else "OVER"
        rows.append(
            (label, f"{per:7.1f}", f"{budget:5.0f}", verdict, f"{floor:6.1f}", f"{per / floor:5.2f}x")
        )
    rows.append(("compiled floor: price", f"{floor_p:7.1f}", "", "", f"{floor_p:6.1f}", "1.00x"))
    rows.append(("compiled floor: greeks", f"{floor_g:7.1f}", "", "", f"{floor_g:6.1f}", "1.00x"))
    rows.append(
        (
            "ufunc floor: call price",
            f"{ufunc_p:7.1f}",
            "",
            "",
            f"{floor_p:6.1f}",
            f"{ufunc_p / floor_p:5.2f}x",
        )
    )
    _table(
        f"Black-76 on {N_PRICE:,} options (ns per option, best of 7)",
        ("path", "ns/opt", "budget", "", "floor", "vs floor"),
        rows,
    )


def _vollib_seconds(
    p: FloatArray, f: FloatArray, k: FloatArray, t: FloatArray, c: npt.NDArray[np.bool_]
) -> str:
    try:
        from py_vollib_vectorized import vectorized_implied_volatility_black
    except Exception as exc:  # any import failure is the answer here
        return f"not available: {type(exc).__name__}: {exc}"
    flags = np.where(c, "c", "p")
    try:

        def run() -> object:
            return vectorized_implied_volatility_black(p, f, k, 0.0, t, flags, return_as="numpy")

        seconds = best_seconds(run, repeat=3)
    except Exception as exc:
        text = "".join(traceback.format_exception_only(type(exc), exc))
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        # numba's typing errors bury the cause: show the line that names it, if there is one.
        cause = next((ln for ln in lines if "Untyped global" in ln or "Cannot determine" in ln), "")
        return f"installed but fails here: {type(exc).__name__}: {lines[0][:120]} {cause[:160]}"
    return f"{seconds / p.size * 1e9:.0f} ns/opt"


def bench_implied_vol() -> None:
    f, k, t, v, c = realistic_book(N_IV, seed=2)
    p = np.asarray(black76.price(f, k, t, v, c))
    res = implied_vol(p, f, k, t, c, unit="usd")
    ok = res.status == IVStatus.OK
    intrinsic = np.maximum(np.where(c, f - k, k - f), 0.0)
    has_tv = p - intrinsic > 1e-8 * f
    err = np.abs(res.iv - v)[has_tv]
    seconds = best_seconds(lambda: implied_vol(p, f, k, t, c, unit="usd"))
    per_ns = seconds / N_IV * 1e9

    idx = np.flatnonzero(has_tv)[:N_BRENTQ]

    args = [(float(f[i]), float(k[i]), float(t[i]), bool(c[i]), float(p[i])) for i in idx]

    def brentq_loop() -> None:
        for fi, ki, ti, ci, pi in args:
            brentq(
                lambda s, fi=fi, ki=ki, ti=ti, ci=ci, pi=pi: _scalar_price(fi, ki, ti, s, ci) - pi,
                1e-4,
                10.0,
                xtol=1e-12,
            )

    brentq_ns = best_seconds(brentq_loop, repeat=2) / idx.size * 1e9
    vollib = _vollib_seconds(p, f, k, t, c)

    rows = [
        ("implied_vol (Let's Be Rational, numba)", f"{per_ns:8.0f}", f"{1e3 / per_ns:6.2f}", "1.0x"),
        (
            f"brentq loop ({idx.size} options, extrapolated)",
            f"{brentq_ns:8.0f}",
            f"{1e3 / brentq_ns:6.3f}",
            f"{brentq_ns / per_ns:.0f}x slower",
        ),
    ]
    _table(
        f"Implied volatility of {N_IV:,} crypto options (DTE 1-365 d, K 0.5-2 F, vol 30-150 %)",
        ("solver", "ns/opt", "M opt/s", "ratio"),
        rows,
    )
    print(f"py_vollib_vectorized: {vollib}")
    verdict = "ok" if 1e9 / per_ns >= IV_TARGET_PER_S else "BELOW TARGET"
    ratio_verdict = "ok" if brentq_ns / per_ns >= BRENTQ_RATIO_TARGET else "BELOW TARGET"
    print(f"throughput {1e9 / per_ns / 1e6:.2f} M/s (target >= 1 M/s): {verdict}")
    speed_up = brentq_ns / per_ns
    print(f"speed-up over brentq {speed_up:.0f}x (target >= {BRENTQ_RATIO_TARGET:.0f}x): {ratio_verdict}")
    print(
        f"accuracy: {int(ok.sum()):,} of {N_IV:,} solved; max |iv - sigma| = {err.max():.1e} over the "
        f"{int(has_tv.sum()):,} with time value > 1e-8 F"
    )


def main() -> None:
    print(f"numpy {np.__version__}, numba {numba.__version__}, single thread")
    bench_black76()
    bench_implied_vol()


if __name__ == "__main__":
    main()
