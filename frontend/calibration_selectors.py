"""What the Calibration tab needs besides the REST API: the parameters in plain words with their
units and help, the generator's defaults, the policy's rules, where data lives, the schedule."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from backtests.calibration import CalibrationParams
from backtests.calibration_policy import policy_rules
from backtests.calibration_selectors import calibration_schedule
from trading.marketdata.services import chains_dir, harvest_dir
from trading.quant.synthetic import SyntheticChainConfig

# Each fitted parameter as the owner reads it: a label, a unit, and how to show the number.
_WORDS: dict[str, tuple[str, str]] = {
    "vrp_factor": ("Volatility risk premium (30-day ATM IV ÷ realised vol)", "ratio"),
    "dvol_scale": ("30-day ATM IV ÷ DVOL", "ratio"),
    "long_run_vol": ("ATM volatility far out", "%"),
    "term_mean_reversion": ("How fast the term structure reverts", "per year"),
    "long_run_memory_days": ("The far level remembers the ATM level over (half-life)", "days"),
    "long_run_memory_ratio": ("Far ATM vol ÷ that memory", "ratio"),
    "long_run_anchor_weight": ("Weight of today's ATM level in the far level", ""),
    "skew_short": ("Skew of short expiries (normalised)", ""),
    "skew_long": ("Skew of long expiries (normalised)", ""),
    "skew_tau_days": ("Skew moves from short to long over", "days"),
    "skew_momentum_beta": ("Skew change per unit of last week's log return", ""),
    "curvature_short": ("Smile curvature of short expiries (normalised)", ""),
    "curvature_long": ("Smile curvature of long expiries (normalised)", ""),
    "curvature_tau_days": ("Curvature moves from short to long over", "days"),
    "smile_vol_power": ("How much the smile flattens as volatility rises (power)", ""),
    "smile_vol_ref": ("ATM vol at which that flattening is nil", "%"),
}
_NULL_MEANS = {"long_run_vol": "empty: the 180-day realised vol times the volatility risk premium"}


def calibration_param_fields() -> list[dict[str, Any]]:
    """The fitted parameters in the order of their schema: name, label, unit, help."""
    out = []
    described = SyntheticChainConfig.model_fields
    for name in CalibrationParams.model_fields:
        if name == "currency":
            continue
        label, unit = _WORDS.get(name, (name.replace("_", " ").capitalize(), ""))
        info = described.get(name)
        help_text = info.description if info is not None and info.description else ""
        if name in _NULL_MEANS:
            help_text = f"{help_text}; {_NULL_MEANS[name]}"
        out.append({"name": name, "label": label, "unit": unit, "help": help_text})
    return out


def calibration_page_config(*, operator: bool) -> dict[str, Any]:
    """Everything the page's scripts read at start (JSON)."""
    schedule = calibration_schedule()
    if schedule is not None and operator:
        schedule["admin_url"] = reverse("admin:django_celery_beat_periodictask_change", args=[schedule["id"]])
    return {
        "param_fields": calibration_param_fields(),
        "defaults": {c: CalibrationParams.default(c).model_dump(mode="json") for c in ("BTC", "ETH")},
        "policy": policy_rules(),
        "harvest_dir": str(harvest_dir()),
        "chains_dir": str(chains_dir()),
        "schedule": schedule,
    }
