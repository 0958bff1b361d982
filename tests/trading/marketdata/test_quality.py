"""Quality verdicts a person can read: stale, partial, empty books, expired options, missing marks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from tests.trading.marketdata.test_frame import raw_rows
from trading.marketdata.frame import validate_snapshot_frame
from trading.marketdata.quality import snapshot_quality

TAKEN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def frame() -> pd.DataFrame:
    return validate_snapshot_frame(raw_rows(), source_name="test").assign(dvol=45.0)


def test_fresh_complete_snapshot_is_ok() -> None:
    q = snapshot_quality(frame(), now=TAKEN + timedelta(seconds=3), min_instruments=3)
    assert q.ok and q.problems == []
    assert q.warnings == ["1 option without a bid or an ask"] or q.warnings == []
    assert q.as_dict()["ok"] is True


def test_stale_data_names_both_times_and_the_limit() -> None:
    q = snapshot_quality(frame(), now=TAKEN + timedelta(minutes=10), max_age_s=120, min_instruments=3)
    assert not q.ok
    assert q.problems == [
        "stale: the data is from 2026-01-05 09:00:00 UTC, 600 s before the check at 2026-01-05 09:10:00 UTC "
        "(limit 120 s)"
    ]


def test_data_from_the_future_means_the_clocks_disagree() -> None:
    q = snapshot_quality(frame(), now=TAKEN - timedelta(minutes=1), min_instruments=3)
    assert any("clocks of this machine and the exchange disagree" in p for p in q.problems)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda f: f.assign(index_price=np.nan), "no index price"),
        (lambda f: f.assign(bid_price=np.nan, ask_price=np.nan), "no quotes at all: none of the 3 options"),
        (
            lambda f: f.assign(mark_price=[np.nan, 0.02, np.nan]),
            "2 options with no mark price: BTC-9JAN26-90000-C, BTC-27MAR26-100000-C",
        ),
        (lambda f: f.assign(implied_volatility=np.nan), "3 options with no mark IV"),
        (lambda f: f.assign(underlying=[np.nan, 90100.0, 91500.0]), "1 option with no forward"),
        (
            lambda f: f.assign(timestamp=pd.Timestamp("2026-01-09 08:00:05", tz="UTC")),
            "2 options already expired at the snapshot time: BTC-9JAN26-90000-C, BTC-9JAN26-90000-P",
        ),
        (lambda f: f.head(2), "too few instruments: 2 options in the snapshot, at least 3 expected"),
        (
            lambda f: pd.concat([f, f.assign(timestamp=TAKEN + timedelta(seconds=1))]),
            "mixes 2 snapshot times",
        ),
    ],
)
def test_each_problem_is_reported_in_words(mutate, needle: str) -> None:  # type: ignore[no-untyped-def]
    f = mutate(frame())
    now = pd.Timestamp(f["timestamp"].max()).to_pydatetime() + timedelta(seconds=1)
    q = snapshot_quality(f, now=now, min_instruments=3, index_error="HTTP 500")
    assert not q.ok
    assert any(needle in p for p in q.problems), q.problems


def test_missing_dvol_is_only_a_warning_and_says_why() -> None:
    q = snapshot_quality(frame().assign(dvol=np.nan), now=TAKEN, min_instruments=3, dvol_error="timed out")
    assert q.ok
    assert "no DVOL value (timed out)" in q.warnings


def test_an_empty_chain_is_a_problem_but_the_index_read_apart_still_counts() -> None:
    q = snapshot_quality(frame().head(0), now=TAKEN, index_price=90000.0)
    assert q.problems == [
        "too few instruments: 0 options in the snapshot, at least 20 expected (partial or empty chain)"
    ]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        snapshot_quality(frame(), now=datetime(2026, 1, 5, 9, 0))
