"""The Live Agent tab in a real browser: log in through the form, watch a tick arrive without
reloading, stop and resume trading from the page, and what a viewer may not do."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import LiveApp, artifact, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TICK_TIMEOUT_MS = 60_000


def _mark_page(page: Any) -> None:
    """A flag that survives only as long as the page is not reloaded."""
    page.evaluate("window.__notReloaded = true")


def _not_reloaded(page: Any) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))


def _wait_live(page: Any) -> None:
    page.wait_for_selector("#live-status[data-state='open']")
    page.wait_for_selector("#agent-updated:has-text('Figures as of')")


def test_login_form_leads_to_the_agent_status(browser: Any, live_app: LiveApp, new_page: Any) -> None:
    page = new_page()
    log_in(page, live_app, live_app.admin_username, live_app.admin_password)
    assert page.locator("h1").inner_text() == "Live Agent"
    _wait_live(page)
    assert "Simulated" in page.locator("#agent-mode").inner_text()
    assert "Deribit emulator" in page.locator("#agent-exchange").inner_text()
    assert page.locator("#kill-switch-state").inner_text() == "Off: the agent may trade"
    assert page.locator("#strategy-status tbody tr[data-strategy='covered_call_conservative']").count() == 1
    assert page.locator("#account-body").inner_text()  # an account table or "Not available yet"
    page.screenshot(path=str(artifact("live-agent-after-login.png")), full_page=True)


def test_a_tick_appears_on_the_page_without_reloading(browser: Any, live_app: LiveApp, new_page: Any) -> None:
    page = new_page()
    log_in(page, live_app, live_app.admin_username, live_app.admin_password)
    _wait_live(page)
    _mark_page(page)
    before = page.locator("#last-tick").get_attribute("data-tick-id") or "0"

    # One tick by hand, in a process of its own, as the scheduler's worker would run it.
    done = live_app.manage("run_agent", "--once", timeout=180, check=False)
    match = re.search(r"^tick (\d+) (\w+)", done.stdout, re.M)
    assert match, f"run_agent printed no tick:\n{done.stdout}\n{done.stderr}"
    tick_id = int(match.group(1))
    assert tick_id > int(before)

    page.wait_for_function(
        "id => Number(document.getElementById('last-tick').dataset.tickId || 0) >= id",
        arg=tick_id,
        timeout=TICK_TIMEOUT_MS,
    )
    assert _not_reloaded(page), "the page was reloaded instead of updated"
    shown = page.locator("#last-tick").inner_text()
    assert "UTC" in shown and page.locator("#last-tick-duration").inner_text() not in ("", "…", "—")
    assert page.locator("#last-tick-message").inner_text() not in ("", "…", "—")
    page.screenshot(path=str(artifact("live-agent-after-tick.png")), full_page=True)


def test_an_operator_stops_and_resumes_trading_from_the_page(
    browser: Any, live_app: LiveApp, new_page: Any
) -> None:
    operator = new_page()
    log_in(operator, live_app, live_app.admin_username, live_app.admin_password)
    watcher = new_page()  # a viewer's page, open at the same time, sees the change live
    log_in(watcher, live_app, live_app.viewer_username, live_app.viewer_password)
    for page in (operator, watcher):
        _wait_live(page)
        _mark_page(page)

    operator.get_by_role("button", name="Stop trading…").click()
    dialog = operator.locator("#engage-dialog")
    assert dialog.is_visible()
    dialog.get_by_role("button", name="Stop trading").click()  # no reason yet: refused in place
    assert dialog.is_visible()
    dialog.get_by_label("Why are you stopping it?").fill("exchange maintenance tonight")
    operator.screenshot(path=str(artifact("kill-switch-dialog.png")))
    dialog.get_by_role("button", name="Stop trading").click()
    dialog.wait_for(state="hidden")

    for page in (operator, watcher):
        page.wait_for_selector("#kill-switch-state[data-engaged='true']")
        assert page.locator("#kill-switch-state").inner_text() == "ON: trading is stopped"
        details = page.locator("#kill-switch-details").inner_text()
        assert "exchange maintenance tonight" in details and live_app.admin_username in details
        page.wait_for_selector("#agent-log td:has-text('Kill switch engaged by')")
        assert _not_reloaded(page)
    assert operator.get_by_role("button", name="Resume trading…").is_visible()
    assert operator.get_by_role("button", name="Stop trading…").is_hidden()
    operator.screenshot(path=str(artifact("kill-switch-engaged.png")), full_page=True)

    operator.get_by_role("button", name="Resume trading…").click()
    operator.locator("#reset-dialog").get_by_role("button", name="Resume trading").click()
    for page in (operator, watcher):
        page.wait_for_selector("#kill-switch-state[data-engaged='false']")
        assert page.locator("#kill-switch-state").inner_text() == "Off: the agent may trade"
        assert _not_reloaded(page)


def test_a_viewer_sees_the_state_but_no_kill_switch_button(
    browser: Any, live_app: LiveApp, new_page: Any
) -> None:
    page = new_page()
    log_in(page, live_app, live_app.viewer_username, live_app.viewer_password)
    _wait_live(page)
    assert page.locator("#kill-switch-state").is_visible()
    assert page.get_by_role("button", name=re.compile("Stop trading|Resume trading")).count() == 0
    assert page.locator("#kill-switch-engage, #kill-switch-reset, #engage-dialog").count() == 0
    assert page.get_by_text("Only operators can stop or resume trading.").is_visible()
    assert "viewer" in page.locator(".topbar .user").inner_text()
    page.screenshot(path=str(artifact("live-agent-viewer.png")), full_page=True)


DECISION_SCRIPT = """
from django.utils import timezone
from trading.models import Decision, Strategy
Decision.objects.create(
    strategy=Strategy.objects.get(name="puts_experimental"), proposal_id="browser-test",
    created_at=timezone.now(), action="open", currency="BTC", verdict="rejected", mode="llm",
    decided_by="rules", reason="Best premium for a delta under 0.2.",
    risk_reasons=["margin: 0.4 BTC needed, 0.1 free"],
    legs=[{"instrument_name": "BTC-27MAR26-80000-P", "currency": "BTC", "side": "sell", "intent": "open",
           "size_contracts": 0.5, "limit_price_coin": 0.0125}],
    candidates=[{"instrument_name": "BTC-27MAR26-80000-P", "size_contracts": 0.5, "limit_price_coin": 0.0125,
                 "score": 0.71, "score_parts": {"yield": 0.4}, "facts": {"dte_days": 25}}],
    llm_choice="rejected: not among the candidates", llm_raw='{"choice": "BTC-27MAR26-60000-P"}',
    fallback_reason="the LLM picked an option that was not offered",
)
"""


def test_decisions_filter_and_open_in_detail(browser: Any, live_app: LiveApp, new_page: Any) -> None:
    live_app.manage("shell", "-c", DECISION_SCRIPT)
    page = new_page()
    log_in(page, live_app, live_app.viewer_username, live_app.viewer_password)
    _wait_live(page)
    filters = page.locator("#decision-filters")
    filters.get_by_label("Strategy").select_option("puts_experimental")
    filters.get_by_label("Risk verdict").select_option("rejected")
    row = page.locator("#decisions tbody tr[data-decision]")
    row.first.wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#decisions tbody tr[data-decision]')]"
        ".every(r => r.textContent.includes('puts_experimental'))"
    )
    assert "Refused: margin: 0.4 BTC needed, 0.1 free" in row.first.inner_text()

    row.first.get_by_role("button", name="Details").click()
    dialog = page.locator("#decision-dialog")
    dialog.get_by_role("heading", name="Candidates").wait_for()
    text = dialog.inner_text()
    for shown in (
        "BTC-27MAR26-80000-P",
        "0.0125 BTC",
        "0.71",
        "margin: 0.4 BTC needed, 0.1 free",
        "rejected: not among the candidates",
        "the LLM picked an option that was not offered",
    ):
        assert shown in text, shown
    dialog.get_by_text("Raw reply").click()
    assert "BTC-27MAR26-60000-P" in dialog.inner_text()
    page.screenshot(path=str(artifact("decision-detail.png")))
    dialog.get_by_role("button", name="Close").click()
    dialog.wait_for(state="hidden")

    filters.get_by_label("Action").select_option("roll")
    page.get_by_text("No decisions match these filters.").wait_for()
