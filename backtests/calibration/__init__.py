"""Calibration of the synthetic chain model against real Deribit marks (pure: no Django).

:func:`model_ivs` prices real options with the synthetic generator's surface, knowing only what
the model could know then (:class:`IndexHistory`); :func:`calibration_report` compares those
prices with the marks; :func:`fit_params` fits :class:`CalibrationParams` on training snapshots.
"""

from backtests.calibration.fit import FitResult, fit_params
from backtests.calibration.history import (
    IndexHistory,
    index_history_from_file,
    index_history_from_snapshots,
)
from backtests.calibration.model import MODEL_COLUMNS, model_ivs
from backtests.calibration.params import CalibrationError, CalibrationParams
from backtests.calibration.report import DELTA_BUCKETS, DTE_BANDS, EXCLUSIONS, calibration_report

__all__ = [
    "DELTA_BUCKETS",
    "DTE_BANDS",
    "EXCLUSIONS",
    "MODEL_COLUMNS",
    "CalibrationError",
    "CalibrationParams",
    "FitResult",
    "IndexHistory",
    "calibration_report",
    "fit_params",
    "index_history_from_file",
    "index_history_from_snapshots",
    "model_ivs",
]
