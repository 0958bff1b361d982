"""The Backtesting Lab in a real browser, against the app as `make run` starts it (its Celery worker
runs the backtests): a bad value is refused next to its field, a small synthetic run shows its
progress and then its charts, metrics and trades without a reload, two runs are compared, the page
keeps up by polling when the live feed is down, a viewer gets no write controls, and the fill
options reach the stored run. Sweeps: test_lab_sweeps.py."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from tests.browser.conftest import LiveApp, artifact, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_TIMEOUT_MS = 120_000
STRATEGY = "covered_call_conservative"

# Records, from the first paint, whether the progress bar was ever shown and how far it got: a
# short run may finish between two checks of the test.
WATCH_PROGRESS = """
window.__progress = { shown: false, max: 0 };
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("run-progress");
  if (!box) return;
  new MutationObserver(() => {
    if (!box.hidden) window.__progress.shown = true;
    window.__progress.max = Math.max(window.__progress.max, Number(box.dataset.fraction || 0));
  }).observe(box, { attributes: true, subtree: true, childList: true, characterData: true });
});
"""

# A WebSocket that never connects: the live feed is down for this page.
NO_WEBSOCKET = """
window.WebSocket = class {
  constructor() { setTimeout(() => this.onclose && this.onclose({ code: 1006 }), 10); }
  send() {}
  close() {}
};
"""

# Counts the canvas pixels a chart has painted.
PAINTED = """
canvas => {
  const ctx = canvas.getContext("2d");
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
  return painted;
}
"""


def _open_lab(page: Any, app: LiveApp, user: str, password: str, query: str = "") -> None:
    log_in(page, app, user, password)
    page.goto(app.base_url + "/lab/" + query)
    page.wait_for_selector("#lab-updated:has-text('Runs as of')")


def _wait_params(page: Any) -> None:
    page.wait_for_selector("#param-delta_max")


def _fill_period(page: Any, start: str, end: str, step: str = "1h") -> None:
    page.locator("#lab-start").fill(start)
    page.locator("#lab-end").fill(end)
    page.locator("#lab-step").select_option(step)


def _api_run(page: Any, app: LiveApp, body: dict[str, Any]) -> int:
    """Start a run through the API with the page's session, as the page's own script does."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        app.base_url + "/api/backtests/",
        data=json.dumps(body),
        headers={"Content-Type": "application/json", "X-CSRFToken": token, "Referer": app.base_url + "/lab/"},
    )
    assert response.status == 201, response.text()
    return int(response.json()["id"])


def _wait_finished(page: Any, app: LiveApp, run_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        run = page.request.get(f"{app.base_url}/api/backtests/{run_id}/").json()
        if run["status"] in ("succeeded", "failed", "cancelled"):
            return dict(run)
        time.sleep(0.5)
    raise AssertionError(f"backtest {run_id} did not finish in time:\n{app.log_tail()}")


def _small_run(seed: int, delta_max: float) -> dict[str, Any]:
    return {
        "name": f"browser seed {seed}",
        "strategy": STRATEGY,
        "parameters": {"delta_max": delta_max},
        "source": {
            "kind": "synthetic",
            "history": "generator",
            "start": "2025-03-01T00:00:00Z",
            "end": "2025-03-04T00:00:00Z",
            "step": "1h",
            "currencies": ["BTC"],
            "seed": seed,
        },
    }


def test_a_bad_value_is_refused_next_to_its_field(browser: Any, live_app: LiveApp, new_page: Any) -> None:
    page = new_page()
    _open_lab(page, live_app, live_app.admin_username, live_app.admin_password)
    _wait_params(page)
    # The strategy's current parameters are shown, ready to change.
    assert page.locator("#lab-strategy").input_value() == "covered_call_aggressive"
    page.locator("#lab-strategy").select_option(STRATEGY)
    page.wait_for_function("() => document.getElementById('param-delta_max').value === '0.2'")
    page.locator("#param-delta_max").fill("2")
    assert "Changed for this backtest" in page.locator('[data-field="parameters.delta_max"]').inner_text()
    _fill_period(page, "2025-03-04", "2025-03-01")  # the end before the start
    page.get_by_role("button", name="Start backtest").click()

    delta_error = page.locator('[data-field="parameters.delta_max"] > .field-error')
    delta_error.wait_for()
    assert "1" in delta_error.inner_text()  # "less than or equal to 1"
    assert page.locator("#param-delta_max").get_attribute("aria-invalid") == "true"
    end_error = page.locator('[data-field="source.end"] > .field-error')
    assert end_error.is_visible() and "after" in end_error.inner_text()
    top = page.locator("#lab-form-errors")
    assert top.is_visible() and "not started" in top.inner_text()
    assert page.locator("#run-panel").is_hidden()
    page.screenshot(path=str(artifact("lab-field-errors.png")), full_page=True)

    # Corrected, the errors go away and the run starts.
    page.locator("#param-delta_max").fill("0.25")
    _fill_period(page, "2025-03-01", "2025-03-02")
    page.get_by_role("button", name="Start backtest").click()
    page.wait_for_selector("#run-panel:not([hidden])")
    assert delta_error.is_hidden() and end_error.is_hidden() and top.is_hidden()


def test_a_synthetic_run_shows_progress_then_charts_metrics_and_trades(
    browser: Any, live_app: LiveApp, new_page: Any
) -> None:
    page = new_page()
    page.add_init_script(WATCH_PROGRESS)
    _open_lab(page, live_app, live_app.admin_username, live_app.admin_password)
    _wait_params(page)
    page.evaluate("window.__notReloaded = true")
    page.locator("#lab-strategy").select_option(STRATEGY)
    _fill_period(page, "2025-03-01", "2025-03-06")
    page.locator("#lab-name").fill("five days")
    page.get_by_role("button", name="Start backtest").click()

    page.wait_for_selector("#run-panel:not([hidden])")
    assert "five days" in page.locator("#run-title").inner_text()
    assert re.search(r"[?&]run=\d+", page.url)
    page.wait_for_function("() => window.__progress.shown", timeout=RUN_TIMEOUT_MS)
    page.wait_for_selector("#run-status[data-status='succeeded']", timeout=RUN_TIMEOUT_MS)
    assert page.evaluate("window.__notReloaded") is True, "the page was reloaded instead of updated"

    # Charts: equity in BTC, in USD, and the drawdown, each painted.
    page.wait_for_selector("#run-results:not([hidden])")
    figures = page.locator("#run-charts figure.chart")
    assert figures.count() == 3
    captions = figures.locator("figcaption").all_inner_texts()
    assert captions[0] == "Equity in BTC" and captions[1].startswith("Equity in US dollars")
    assert captions[2].startswith("Drawdown")
    for canvas in page.locator("#run-charts canvas").all():
        assert canvas.evaluate(PAINTED) > 500
    legend = page.locator("#run-charts").inner_text()
    assert "Buy & hold (BTC)" in legend and "Buy & hold (USD)" in legend and "UTC" in legend

    # Metrics: grouped, in coin and in dollars, with help on hover.
    metrics = page.locator("#run-metrics")
    heads = metrics.locator("thead th").all_inner_texts()
    assert heads == ["Metric", "BTC, in BTC", "BTC, in USD"]
    groups = metrics.locator("tr.group").all_inner_texts()
    assert [g.strip().lower() for g in groups] == [
        "overview",
        "performance",
        "trades analysis",
        "risk",
        "options",
    ]
    net = metrics.locator("tr[data-metric='net_profit']")
    assert "BTC" in net.locator("td").nth(0).inner_text() and "$" in net.locator("td").nth(1).inner_text()
    assert net.locator(".has-help").get_attribute("title")
    assert "Traceback" not in page.content() and "{&quot;" not in page.inner_text("main")

    # Trades and fills, each fill with where its price came from.
    trades = page.locator("#run-trades")
    assert trades.locator("table").count() == 1 or "No closed trades" in trades.inner_text()
    fills = page.locator("#run-fills-table tbody tr")
    assert fills.count() > 0, "the conservative covered call sold at least one call in five days"
    sources = set(fills.evaluate_all("rows => rows.map(r => r.dataset.provenance)"))
    assert sources <= {"Synthetic price", "Settlement"} and "Synthetic price" in sources
    assert "Prices:" in page.locator("[data-testid='provenance-summary']").inner_text()
    assert page.locator("#run-cancel").is_hidden()

    # What was proposed and refused, counted: at least the opens that filled were approved.
    outcomes = page.locator("[data-testid='run-outcomes']").inner_text()
    assert "Opens approved" in outcomes and "Held" in outcomes
    assert page.locator("[data-testid='run-reasons'] tbody tr").count() > 0

    # The new run is in the list of past runs, with its figures.
    run_id = re.search(r"run=(\d+)", page.url).group(1)  # type: ignore[union-attr]
    row = page.locator(f"#runs tr[data-run='{run_id}']")
    row.wait_for()
    assert "Finished" in row.inner_text() and "BTC" in row.inner_text()
    page.screenshot(path=str(artifact("lab-finished-run.png")), full_page=True)


def test_an_operator_cancels_a_running_backtest(browser: Any, live_app: LiveApp, new_page: Any) -> None:
    page = new_page()
    _open_lab(page, live_app, live_app.admin_username, live_app.admin_password)
    _wait_params(page)
    # The defaults: the last 365 days at one step an hour, synthetic prices, BTC, 1 coin, touch fills.
    assert page.locator("#lab-step").input_value() == "1h"
    assert page.locator("#lab-source-kind").input_value() == "synthetic"
    assert page.locator("#lab-history").input_value() == "generator"
    coins = page.locator("input[name=currencies]:checked").evaluate_all("boxes => boxes.map(b => b.value)")
    assert coins == ["BTC"]
    assert page.locator("#lab-initial-BTC").input_value() == "1"
    assert page.locator("#lab-fill-price").input_value() == "touch"
    days = page.evaluate(
        "() => (new Date(document.getElementById('lab-end').value) - "
        "new Date(document.getElementById('lab-start').value)) / 86400000"
    )
    assert days == 365
    page.get_by_role("button", name="Start backtest").click()
    page.wait_for_selector("#run-status[data-status='running']", timeout=RUN_TIMEOUT_MS)
    page.wait_for_function("() => Number(document.getElementById('run-progress').dataset.fraction) > 0")
    assert re.search(r"Step [\d,]+ of [\d,]+ \(\d+ %\)", page.locator("#run-progress-text").inner_text())
    page.get_by_role("button", name="Cancel this backtest").click()
    page.wait_for_selector("#run-status[data-status='cancelled']", timeout=RUN_TIMEOUT_MS)
    assert "cancelled after" in page.locator("#run-error").inner_text()
    assert page.locator("#run-cancel").is_hidden() and page.locator("#run-progress").is_hidden()


def test_two_runs_compared_side_by_side(browser: Any, live_app: LiveApp, new_page: Any) -> None:
    page = new_page()
    _open_lab(page, live_app, live_app.viewer_username, live_app.viewer_password)
    operator = new_page()
    log_in(operator, live_app, live_app.admin_username, live_app.admin_password)
    first = _api_run(operator, live_app, _small_run(seed=1, delta_max=0.15))
    second = _api_run(operator, live_app, _small_run(seed=2, delta_max=0.2))
    for run_id in (first, second):
        assert _wait_finished(operator, live_app, run_id)["status"] == "succeeded"

    # The viewer's list picks both runs up by itself.
    for run_id in (first, second):
        page.wait_for_selector(f"#runs tr[data-run='{run_id}']", timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(
        "ids => ids.every(id => document.querySelector(`#runs tr[data-run='${id}']`)"
        ".textContent.includes('Finished'))",
        arg=[first, second],
        timeout=RUN_TIMEOUT_MS,
    )
    compare = page.get_by_role("button", name="Compare selected")
    assert compare.is_disabled()
    page.get_by_label(f"Compare backtest {first}").check()
    page.get_by_label(f"Compare backtest {second}").check()
    compare.click()

    table = page.locator("#compare")
    table.locator("tr[data-metric='net_profit']").wait_for()
    heads = table.locator("thead th").all_inner_texts()
    assert any(f"#{first}" in h for h in heads) and any(f"#{second}" in h for h in heads)
    assert page.locator("#compare-basis").input_value() == "BTC:coin"
    # Settings that differ are marked; the parameter is shown with its label.
    differing = table.locator("tr.differs").all_inner_texts()
    assert any("Max delta" in d for d in differing) and any("seed" in d for d in differing)
    # Where one run is better, its cell is highlighted; rows without a better side never are.
    best = table.locator("td.best")
    assert best.count() >= 1
    for metric in ("total_trades", "months"):
        assert table.locator(f"tr[data-metric='{metric}'] td.best").count() == 0
    page.locator("#compare-basis").select_option("total")
    table.locator("tr.group:has-text('Whole run, in USD')").first.wait_for()
    page.screenshot(path=str(artifact("lab-compare.png")), full_page=True)


def test_with_the_live_feed_down_the_page_polls_the_run(
    browser: Any, live_app: LiveApp, new_page: Any
) -> None:
    page = new_page()
    page.add_init_script(NO_WEBSOCKET)
    _open_lab(page, live_app, live_app.admin_username, live_app.admin_password)
    assert page.locator("#live-status").get_attribute("data-state") != "open"
    _wait_params(page)
    page.locator("#lab-strategy").select_option(STRATEGY)
    _fill_period(page, "2025-04-01", "2025-04-03")
    page.get_by_role("button", name="Start backtest").click()
    page.wait_for_selector("#run-status[data-status='succeeded']", timeout=RUN_TIMEOUT_MS)
    page.wait_for_selector("#run-metrics tr[data-metric='net_profit']")


def test_a_viewer_sees_a_run_but_no_form_or_cancel_button(
    browser: Any, live_app: LiveApp, new_page: Any
) -> None:
    operator = new_page()
    log_in(operator, live_app, live_app.admin_username, live_app.admin_password)
    run_id = _api_run(operator, live_app, _small_run(seed=3, delta_max=0.2))
    _wait_finished(operator, live_app, run_id)

    page = new_page()
    _open_lab(page, live_app, live_app.viewer_username, live_app.viewer_password, query=f"?run={run_id}")
    page.wait_for_selector("#run-results:not([hidden])", timeout=RUN_TIMEOUT_MS)
    assert page.locator("#lab-form").count() == 0
    assert page.get_by_role("button", name=re.compile("Start backtest|Cancel")).count() == 0
    assert page.locator("#run-cancel, #lab-submit").count() == 0
    assert page.get_by_text("Only operators can start or cancel backtests").is_visible()
    assert page.locator("#run-charts canvas").count() >= 3
    page.screenshot(path=str(artifact("lab-viewer.png")), full_page=True)


# --- Fill options -------------------------------------------------------------------------------


def test_the_fill_options_reach_the_stored_run(browser: Any, live_app: LiveApp, new_page: Any) -> None:
    page = new_page()
    _open_lab(page, live_app, live_app.admin_username, live_app.admin_password)
    _wait_params(page)
    # The defaults are the API's: fill only at the limit or better, whole orders.
    assert page.get_by_label("Fill only at the limit price or better").is_checked()
    assert page.locator("#lab-max-oi").input_value() == ""
    page.locator("#lab-strategy").select_option(STRATEGY)
    _fill_period(page, "2025-03-01", "2025-03-02")
    page.get_by_label("Fill only at the limit price or better").uncheck()
    page.locator("#lab-max-oi").fill("0")
    page.get_by_role("button", name="Start backtest").click()
    error = page.locator('[data-field="fill.max_oi_pct"] > .field-error')
    error.wait_for()
    assert "greater than 0" in error.inner_text()
    assert page.locator("#lab-max-oi").get_attribute("aria-invalid") == "true"
    assert page.locator("#run-panel").is_hidden()

    page.locator("#lab-max-oi").fill("25")
    page.get_by_role("button", name="Start backtest").click()
    page.wait_for_selector("#run-panel:not([hidden])")
    summary = page.locator("[data-testid='run-summary']")
    summary.wait_for()
    assert "whatever their limit" in summary.inner_text()
    assert "At most 25 % of the option's open interest per step" in summary.inner_text()
    run_id = int(re.search(r"run=(\d+)", page.url).group(1))  # type: ignore[union-attr]
    stored = page.request.get(f"{live_app.base_url}/api/backtests/{run_id}/").json()
    assert stored["fill"] == {
        "price": "touch",
        "slippage_pct": 0.0,
        "respect_limit": False,
        "max_oi_pct": 25.0,
    }


def test_a_trend_for_the_generated_market(browser: Any, live_app: LiveApp, new_page: Any) -> None:
    """Trend and volatility show for generated prices only, are checked next to the field, and
    reach the stored run's market description."""
    page = new_page()
    _open_lab(page, live_app, live_app.admin_username, live_app.admin_password)
    _wait_params(page)
    page.locator("#lab-strategy").select_option(STRATEGY)
    _fill_period(page, "2025-03-01", "2025-03-02")
    assert page.locator("#lab-drift").is_visible()
    page.locator("#lab-drift").fill("500")
    page.get_by_role("button", name="Start backtest").click()
    error = page.locator('[data-field="source.drift_pct"] > .field-error')
    error.wait_for()
    assert "200" in error.inner_text()

    page.locator("#lab-drift").fill("30")
    page.locator("#lab-vol").fill("60")
    page.get_by_role("button", name="Start backtest").click()
    page.wait_for_selector("#run-panel:not([hidden])")
    run_id = int(re.search(r"run=(\d+)", page.url).group(1))  # type: ignore[union-attr]
    stored = page.request.get(f"{live_app.base_url}/api/backtests/{run_id}/").json()
    assert (stored["source"]["drift_pct"], stored["source"]["vol_pct"]) == (30.0, 60.0)
    summary = page.locator("[data-testid='run-summary']")
    summary.wait_for()
    assert "+30 % a year trend" in summary.inner_text() and "60 % volatility" in summary.inner_text()
    page.locator("#lab-source-kind").select_option("files")
    assert page.locator("#lab-drift").is_hidden()
