from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.trading.strategies.support import CALM_DAY, real_chain


@pytest.fixture(scope="session")
def calm_chain(real_data_dir: Path) -> pd.DataFrame:
    return real_chain(str(real_data_dir / CALM_DAY))
