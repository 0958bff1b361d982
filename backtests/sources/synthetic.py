"""Synthetic chains along an underlying history (``kind="synthetic"``).

The history (generator, ``fetch_history`` file or CSV) is sampled every ``step`` from a warm-up of
``rv_window_days`` (30 days) before ``start`` to the last step before ``end``, and
:func:`trading.quant.synthetic.iter_synthetic_chains` prices Deribit-like chains on it, one listing
day at a time. A file history warms up with what it holds before ``start`` (``notes`` say when that
is too little for realised vol at the start). With DVOL in the history, DVOL sets the 30-day ATM
level; otherwise realised vol times the volatility risk premium does.

Per step and currency: ``rv`` is the chain's trailing realised vol, ``dvol`` the DVOL of the
history or else the 30-day ATM vol the chain was priced on (vol points). Bid and ask IVs are left
NaN (no strategy, decision mode or risk rule reads them), which halves the pricing time.
Deterministic: the same spec gives the same steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import datetime

import numpy as np
import pandas as pd

from backtests.engine.fills import SYNTHETIC_PRICE
from backtests.engine.market import DVOL_LOOKBACK, HIGH_WINDOW, StepChain
from backtests.sources.base import (
    MarketSource,
    SourceError,
    SourceStep,
    currency_list,
    existing_path,
    finite_or_none,
    index_frame,
    span,
    when,
)
from backtests.sources.generator import (
    GENERATOR_ATM_VOL,
    GENERATOR_PATH_VOL,
    derived_seed,
    generator_bar,
    generator_history,
)
from backtests.sources.history import (
    MAX_GAP,
    FloatArray,
    IntArray,
    PriceHistory,
    csv_history,
    deribit_history,
    history_file,
    sample,
)
from backtests.sources.spec import HistoryOrigin, SourceSpec
from trading.quant.synthetic import SyntheticChainConfig, iter_synthetic_chains, trailing_realized_vol

_DEFAULTS = SyntheticChainConfig()


def chain_config(
    currency: str, step: pd.Timedelta, *, generated: bool, base: SyntheticChainConfig | None = None
) -> SyntheticChainConfig:
    """The chain model of ``currency`` at this step, from ``base`` (the calibrated parameters in use,
    else the generator's defaults): realised vol needs fewer returns when the 30-day window holds
    few steps (weekly steps: 3 returns); a generated coin gets the emulator's volatility risk
    premium (ATM vol / path vol), as its path has no market of its own to be calibrated against."""
    start = base if base is not None else _DEFAULTS
    window_steps = pd.Timedelta(days=start.rv_window_days) / step
    min_returns = max(2, min(_DEFAULTS.rv_min_returns, int(0.8 * window_steps)))
    update: dict[str, object] = {"currency": currency, "rv_min_returns": min_returns}
    if generated:
        update["vrp_factor"] = GENERATOR_ATM_VOL[currency] / GENERATOR_PATH_VOL[currency]
    return SyntheticChainConfig.model_validate({**start.model_dump(), **update})


def _utc(ns: int | np.integer) -> pd.Timestamp:
    return pd.Timestamp(int(ns), tz="UTC")


def _duration(td: pd.Timedelta) -> str:
    days = td / pd.Timedelta(days=1)
    return f"{days:.0f} days" if days >= 2 else f"{td / pd.Timedelta(hours=1):.0f} hours"


class SyntheticMarket(MarketSource):
    """Synthetic chains of ``spec.currencies`` every ``spec.step`` (see the module docstring)."""

    def __init__(
        self,
        spec: SourceSpec,
        *,
        max_dte_days: float | None = None,
        chain_bases: Mapping[str, SyntheticChainConfig] | None = None,
    ) -> None:
        self.spec = spec
        self._max_dte_days = max_dte_days
        self.provenance = SYNTHETIC_PRICE
        step = pd.Timedelta(spec.step_timedelta)
        start, end = pd.Timestamp(spec.start), pd.Timestamp(spec.end)
        n_main = math.ceil((end - start) / step)
        warm_want = math.ceil(pd.Timedelta(days=_DEFAULTS.rv_window_days) / step)
        notes: list[str] = []
        generated = spec.history is HistoryOrigin.GENERATOR

        histories: dict[str, PriceHistory] = {}
        for c in spec.currencies:
            if generated:
                histories[c] = generator_history(
                    currency=c,
                    seed=spec.seed,
                    first=start - warm_want * step,
                    last=start + (n_main - 1) * step,
                    bar=generator_bar(step),
                    drift=spec.drift_pct / 100.0,
                    vol=spec.vol_pct / 100.0 if spec.vol_pct is not None else None,
                )
            else:
                path = history_file(existing_path(spec), c, spec.currencies)
                load = deribit_history if spec.history is HistoryOrigin.DERIBIT else csv_history
                histories[c] = load(path, c)
        n_warm = warm_want
        for h in histories.values():
            self._check_range(h, start, start + (n_main - 1) * step, step)
            n_warm = min(n_warm, int((start - h.first) // step))
        grid_ns: IntArray = start.value + np.arange(-n_warm, n_main, dtype=np.int64) * step.value

        bases = chain_bases or {}
        self._configs = {
            c: chain_config(c, step, generated=generated, base=bases.get(c)) for c in spec.currencies
        }
        self._prices: dict[str, FloatArray] = {}
        self._dvol: dict[str, FloatArray | None] = {}
        for c, h in histories.items():
            self._prices[c] = self._sampled_price(h, grid_ns)
            self._dvol[c] = self._sampled_dvol(h, grid_ns, n_warm, notes)
            self._note_warmup(c, h, grid_ns, (n_warm, warm_want), notes)

        # the regime's history from the warm-up too: the 30-day high of the index (steps up to now)
        window = max(1, round(HIGH_WINDOW / step))
        self._high = {
            c: pd.Series(p).rolling(window, min_periods=1).max().to_numpy() for c, p in self._prices.items()
        }
        self._day_back = max(1, math.ceil(DVOL_LOOKBACK / step))
        self._grid = pd.DatetimeIndex(grid_ns, tz="UTC").as_unit("ns")
        self._n_warm = n_warm
        self.n_steps = n_main
        self.index_path = index_frame(self._grid[n_warm:], {c: p[n_warm:] for c, p in self._prices.items()})
        self.notes = tuple(notes)
        self.description = (
            f"synthetic {currency_list(spec.currencies)} chains every {spec.step} from "
            f"{self._origin(histories)}, {span(start, end)}"
        )

    # ------------------------------------------------------------------ opening

    def _origin(self, histories: dict[str, PriceHistory]) -> str:
        if self.spec.history is HistoryOrigin.GENERATOR:
            shape = []
            if self.spec.drift_pct:
                shape.append(f"{self.spec.drift_pct:+g} % a year expected return")
            if self.spec.vol_pct is not None:
                shape.append(f"{self.spec.vol_pct:g} % volatility")
            extra = f", {', '.join(shape)}" if shape else ""
            return f"a seeded generator (seed {self.spec.seed}{extra})"
        files = ", ".join(h.label for h in histories.values())
        if self.spec.history is HistoryOrigin.DERIBIT:
            dvol = " and DVOL" if any(d is not None for d in self._dvol.values()) else ""
            return f"Deribit's index{dvol} history ({files})"
        dvol = " with DVOL" if any(d is not None for d in self._dvol.values()) else ""
        return f"the price history{dvol} in {files}"

    @staticmethod
    def _check_range(
        h: PriceHistory, first_step: pd.Timestamp, last_step: pd.Timestamp, step: pd.Timedelta
    ) -> None:
        covers = f"the {h.currency} history in {h.label} covers {span(h.first, h.last)}"
        if h.first > first_step:
            raise SourceError(f"{covers}: choose a start at or after {when(h.first)}", field="start")
        if last_step > h.last + h.bar:
            raise SourceError(
                f"{covers}: the last step would be at {when(last_step)}; choose an end no later than "
                f"{when(h.last + h.bar)}",
                field="end",
            )
        if step < h.bar * 0.999:
            raise SourceError(
                f"the {h.currency} history in {h.label} has a price every {h.bar}: choose a step of at least "
                "that, or a finer history (fetch_history --resolution 60 or 1)",
                field="step",
            )

    @staticmethod
    def _sampled_price(h: PriceHistory, grid_ns: IntArray) -> FloatArray:
        price = sample(h.times_ns, h.price_usd, grid_ns)
        pos = np.searchsorted(h.times_ns, grid_ns, side="right") - 1
        age = grid_ns - h.times_ns[np.maximum(pos, 0)]
        worst = int(np.argmax(age))
        if age[worst] > MAX_GAP.value:
            i = int(pos[worst])
            nxt = min(i + 1, len(h.times_ns) - 1)
            raise SourceError(
                f"{h.label} has no {h.currency} price between {h.where(i)} and {h.where(nxt)} "
                f"({span(_utc(h.times_ns[i]), _utc(h.times_ns[nxt]))}): "
                "fill the gap or choose a range that avoids it",
                field="data_path",
            )
        return price

    @staticmethod
    def _sampled_dvol(h: PriceHistory, grid_ns: IntArray, n_warm: int, notes: list[str]) -> FloatArray | None:
        if h.dvol_times_ns is None or h.dvol is None:
            return None
        dvol = sample(h.dvol_times_ns, h.dvol, grid_ns)
        pos = np.searchsorted(h.dvol_times_ns, grid_ns[n_warm:], side="right") - 1
        stale = pos < 0
        stale |= grid_ns[n_warm:] - h.dvol_times_ns[np.maximum(pos, 0)] > MAX_GAP.value
        if stale.any():
            notes.append(
                f"{h.currency}: the DVOL in {h.label} does not cover every step (missing around "
                f"{when(_utc(grid_ns[n_warm + int(np.argmax(stale))]))}); the chains "
                "are priced on realised vol instead"
            )
            return None
        first = np.flatnonzero(np.isfinite(dvol))[0]
        dvol[:first] = dvol[first]  # warm-up steps before the first DVOL (never emitted)
        return dvol

    def _note_warmup(
        self, c: str, h: PriceHistory, grid_ns: IntArray, warm: tuple[int, int], notes: list[str]
    ) -> None:
        """A note when the history holds less than the realised-vol window before the start."""
        n_warm, warm_want = warm
        if n_warm >= warm_want:
            return
        cfg = self._configs[c]
        rv = trailing_realized_vol(
            grid_ns, self._prices[c], window_days=cfg.rv_window_days, min_returns=cfg.rv_min_returns
        )
        known = np.flatnonzero(np.isfinite(rv[n_warm:]))
        before = _duration(pd.Timedelta(int(grid_ns[n_warm] - grid_ns[0]), unit="ns"))
        note = (
            f"{c}: {h.label} holds only {before} before the start, less than the {cfg.rv_window_days:g}-day "
            "realised-vol window"
        )
        if len(known) and known[0] == 0:
            note += ", so realised vol rests on less history at first"
        else:
            until = when(_utc(grid_ns[n_warm + known[0]])) if len(known) else "the end"
            priced = (
                "the IV/RV filters see no realised vol until then"
                if self._dvol[c] is not None
                else f"until then the chains are priced at the fallback ATM vol of {cfg.fallback_vol:.0%}"
            )
            note += f"; realised vol is unknown until {until}, and {priced}"
        notes.append(note)

    # ------------------------------------------------------------------ steps

    def __iter__(self) -> Iterator[SourceStep]:
        currencies = self.spec.currencies
        streams = [
            iter_synthetic_chains(
                self._grid,
                self._prices[c],
                config=self._configs[c],
                dvol=self._dvol[c],
                seed=derived_seed(self.spec.seed, c, "chain"),
                quote_ivs=False,
                max_dte_days=self._max_dte_days,
                first_step=self._n_warm,
            )
            for c in currencies
        ]
        first = self._n_warm
        for batches in zip(*streams, strict=True):
            lo, hi = int(batches[0].step[0]), int(batches[0].step[-1]) + 1
            if hi <= first:
                continue  # warm-up
            lo = max(lo, first)
            times: list[datetime] = list(self._grid[lo:hi].to_pydatetime())
            dvols = [self._dvol[c] for c in currencies]
            for i, now in zip(range(lo, hi), times, strict=True):
                step: dict[str, StepChain] = {}
                k = i - self._day_back
                for c, b, d in zip(currencies, batches, dvols, strict=True):
                    dvol_at = d if d is not None else 100.0 * b.atm_anchor_vol
                    step[c] = StepChain(
                        chain=b.step_arrays(i),
                        rv=finite_or_none(b.realized_vol[i]),
                        dvol=finite_or_none(dvol_at[i]),
                        provenance=SYNTHETIC_PRICE,
                        dvol_before=finite_or_none(dvol_at[k]) if k >= 0 else None,
                        index_high_usd=finite_or_none(self._high[c][i]),
                    )
                yield now, step
