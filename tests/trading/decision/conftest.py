from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.trading.decision.openai_server import ChatServer, serve
from tests.trading.strategies.support import CALM_DAY, real_chain


@pytest.fixture(scope="session")
def calm_chain(real_data_dir: Path) -> pd.DataFrame:
    return real_chain(str(real_data_dir / CALM_DAY))


@pytest.fixture(scope="module")
def _chat_server() -> Iterator[tuple[ChatServer, str]]:
    yield from serve()


@pytest.fixture
def chat(_chat_server: tuple[ChatServer, str]) -> tuple[ChatServer, str]:
    server, url = _chat_server
    server.reset()
    return server, url
