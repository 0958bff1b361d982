"""When newly fitted synthetic-price parameters replace the ones in use, without anyone approving.

Both conditions must hold:

1. **Enough evidence**: the fit saw at least :data:`MIN_OPTIONS` option prices over at least
   :data:`MIN_SNAPSHOTS` snapshots in its fit window.
2. **Better out of sample**: on the test window (data the fit never saw), the new parameters'
   mean absolute error in implied volatility (:data:`METRIC`, vol points) is lower than that of the
   parameters in use, measured on the same snapshots.

Otherwise the parameters stay proposed, and an operator may still approve them. Pure: no Django.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MIN_OPTIONS = 2000
MIN_SNAPSHOTS = 20
METRIC = "mae_vol_pts"
"""The error the test-window comparison uses: mean |model IV - market IV|, vol points."""


def policy_rules() -> dict[str, Any]:
    """The thresholds, for the page and the API."""
    return {
        "min_options": MIN_OPTIONS,
        "min_snapshots": MIN_SNAPSHOTS,
        "metric": METRIC,
        "text": (
            f"New parameters are put in use automatically only when they were fitted on at least "
            f"{MIN_OPTIONS:,} option prices over at least {MIN_SNAPSHOTS} snapshots, and they miss the "
            "market's implied volatility by less than the parameters in use on the test window, which "
            "the fit never saw. Otherwise they wait for an operator's approval."
        ),
    }


@dataclass(frozen=True)
class PolicyVerdict:
    passed: bool
    checks: list[dict[str, Any]]
    summary: str

    def as_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "checks": self.checks, "summary": self.summary}


def _known(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def policy_verdict(
    *,
    fit_options: int,
    fit_snapshots: int,
    new_error: float | None,
    in_use_error: float | None,
    in_use_label: str,
) -> PolicyVerdict:
    """Judge a fit: ``fit_options``/``fit_snapshots`` counted in the fit window; the errors are
    :data:`METRIC` on the test window (vol points) of the new parameters and of those in use."""
    enough = fit_options >= MIN_OPTIONS and fit_snapshots >= MIN_SNAPSHOTS
    evidence = (
        f"Fitted on {fit_options:,} option prices over {fit_snapshots} snapshots "
        f"(at least {MIN_OPTIONS:,} over {MIN_SNAPSHOTS} are needed)."
    )
    if _known(new_error) and _known(in_use_error):
        assert new_error is not None and in_use_error is not None
        better = new_error < in_use_error
        gap = abs(in_use_error - new_error)
        comparison = (
            f"On the test window the new parameters miss the market's implied volatility by "
            f"{new_error:.2f} vol points on average, against {in_use_error:.2f} for the parameters in use "
            f"({in_use_label}): {gap:.2f} points {'better' if better else 'worse' if gap else 'the same'}."
        )
    else:
        better = False
        comparison = "The test window had no option the errors could be measured on, so nothing was compared."
    checks = [
        {"name": "evidence", "passed": enough, "text": evidence},
        {"name": "out_of_sample", "passed": better, "text": comparison},
    ]
    passed = enough and better
    if passed:
        summary = "Put in use automatically: the fit saw enough prices and beats the parameters in use."
    else:
        failed = []
        if not enough:
            failed.append("the fit saw too few prices")
        if not better:
            failed.append("it does not beat the parameters in use on the test window")
        summary = f"Not put in use automatically: {' and '.join(failed)}. An operator may still approve it."
    return PolicyVerdict(passed=passed, checks=checks, summary=summary)
