"""What the benchmark scripts share: where the real data is, and a median timer."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def real_data_dir() -> Path:
    """``OPTIONSBOT_REAL_DATA``, else the ``shared/deribit_data`` folder beside the repository
    (the same rule as the settings and the test suite)."""
    configured = os.environ.get("OPTIONSBOT_REAL_DATA")
    if configured:
        return Path(configured).expanduser()
    return Path(__file__).resolve().parent.parent.parent / "shared" / "deribit_data"


def median_ms(fn: Callable[[], object], repeat: int = 30) -> float:
    """Median wall-clock milliseconds of ``fn()`` over ``repeat`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)
