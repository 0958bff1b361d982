"""The Live Agent page as the server renders it; its script's behaviour is tested in tests/browser."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.trading.factories import AgentTickFactory
from trading.agent.state import kill_switch_engage
from trading.models import AgentState

pytestmark = pytest.mark.django_db

PANELS = (
    "agent-mode",
    "last-tick",
    "kill-switch-state",
    "account-body",
    "strategy-status",
    "open-positions",
    "decisions",
    "agent-log",
    "decision-filters",
)


def _main(html: str) -> str:
    return html.split("<main>")[1].split("</main>")[0]


def test_the_page_has_every_panel_and_loads_its_script(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    html = client.get("/").content.decode()
    for panel in PANELS:
        assert f'id="{panel}"' in html, panel
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts == ["/static/frontend/live.js", "/static/frontend/ui.js", "/static/frontend/agent.js"]
    assert "realised" in html and "not included" in html  # realised vs not, said plainly


def test_the_last_tick_and_kill_switch_are_rendered_before_the_script_runs(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    html = client.get("/").content.decode()
    assert "No tick has run yet." in html and "Off: the agent may trade" in html
    tick = AgentTickFactory(message="2 strategies, 3 decisions, 1 order sent.")
    kill_switch_engage(reason="exchange maintenance", by="otto", now=tick.started_at)
    html = client.get("/").content.decode()
    assert f'data-tick-id="{tick.pk}"' in html
    assert "2026-03-02 09:00:00 UTC" in html and "2 strategies, 3 decisions, 1 order sent." in html
    assert 'data-engaged="true"' in html and "ON: trading is stopped" in html


def test_operators_get_the_kill_switch_controls_behind_a_dialog(client: Any, operator: Any) -> None:
    client.force_login(operator)
    html = client.get("/").content.decode()
    assert 'id="kill-switch-engage"' in html and 'id="kill-switch-reset"' in html
    dialog = re.search(r'<dialog id="engage-dialog".*?</dialog>', html, re.S)
    assert dialog is not None
    assert re.search(r"<textarea[^>]*name=\"reason\"[^>]*required", dialog.group(0))
    assert "csrfmiddlewaretoken" in dialog.group(0)


def test_viewers_see_the_state_but_no_kill_switch_controls(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    main = _main(client.get("/").content.decode())
    assert 'id="kill-switch-state"' in main
    for control in ("kill-switch-engage", "kill-switch-reset", "engage-dialog", "reset-dialog"):
        assert control not in main, control
    assert "Only operators can stop or resume trading." in main


def test_the_filters_offer_every_action_and_verdict_and_strategy(client: Any, viewer: Any) -> None:
    from tests.factories import StrategyFactory

    StrategyFactory(name="filter_me")
    client.force_login(viewer)
    html = client.get("/").content.decode()
    form = re.search(r'<form id="decision-filters".*?</form>', html, re.S)
    assert form is not None
    for value in ("filter_me", "open", "close", "roll", "hold", "approved", "rejected", "not_reviewed"):
        assert f'value="{value}"' in form.group(0), value


def test_reading_the_page_writes_nothing(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    client.get("/")
    assert not AgentState.objects.exists()
