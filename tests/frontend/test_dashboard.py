from __future__ import annotations

import html as html_lib
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.factories import PASSWORD, StrategyFactory
from tests.trading.factories import AgentTickFactory

pytestmark = pytest.mark.django_db


def test_login_with_the_form_lands_on_the_live_agent_tab(client: Any, viewer: Any) -> None:
    response = client.post("/login/", {"username": viewer.username, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert b"<h1>Live Agent</h1>" in response.content


def test_wrong_password_is_told_plainly(client: Any, viewer: Any) -> None:
    response = client.post("/login/", {"username": viewer.username, "password": "nope"})
    assert b"did not match" in response.content


def test_every_tab_is_in_the_navigation(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    html = client.get("/").content.decode()
    for label in (
        "Live Agent",
        "Strategies",
        "Backtesting Lab",
        "Calibration",
        "Research",
        "Chat",
        "Training",
    ):
        assert f">{label}</a>" in html


@pytest.mark.parametrize("page", ["/research/", "/chat/", "/training/"])
def test_unbuilt_tabs_say_so_and_show_no_numbers(client: Any, viewer: Any, page: str) -> None:
    client.force_login(viewer)
    html = client.get(page).content.decode()
    main = html.split("<main>")[1].split("</main>")[0]
    assert "Not built yet." in main
    text = html_lib.unescape(re.sub(r"<[^>]+>", "", main))
    assert not re.search(r"\d", text), "an unbuilt tab must not show figures"


def test_strategies_tab_lists_the_registry(client: Any, viewer: Any) -> None:
    StrategyFactory(name="visible_calls", description="Sells calls")
    client.force_login(viewer)
    html = client.get("/strategies/").content.decode()
    assert "visible_calls" in html and "Sells calls" in html
    assert "/admin/" not in html.split("<main>")[1]  # viewers get no edit links


def test_live_tab_shows_the_last_tick(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    assert b"No tick has run yet." in client.get("/").content
    AgentTickFactory(message="3 strategies, 5 decisions")
    html = client.get("/").content.decode()
    assert "3 strategies, 5 decisions" in html


def test_no_page_loads_anything_from_another_host(client: Any, operator: Any) -> None:
    client.force_login(operator)
    for page in ("/", "/strategies/", "/lab/", "/login/", "/api/docs/"):
        html = client.get(page).content.decode()
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        external = [s for s in sources if s.startswith(("http:", "https:", "//"))]
        assert external == [], f"{page} loads {external}"


def test_static_assets_are_served_by_the_app(client: Any) -> None:
    for asset in (
        "/static/frontend/app.css",
        "/static/frontend/live.js",
        "/static/frontend/ui.js",
        "/static/frontend/agent.js",
        "/static/frontend/lab.js",
    ):
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert b"".join(response.streaming_content if response.streaming else [response.content])


def test_no_template_or_script_references_a_cdn() -> None:
    offenders = []
    for path in Path(REPO_ROOT, "frontend").rglob("*"):
        if path.suffix in {".html", ".js", ".css"}:
            text = path.read_text()
            if re.search(r"https?://(cdn\.|unpkg\.com|cdnjs|jsdelivr)", text):
                offenders.append(str(path))
    assert offenders == []
