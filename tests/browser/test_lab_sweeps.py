"""Parameter sweeps in the Lab, in a real browser: an operator varies one or two fields, follows
the runs live (or by polling), compares them in one table, cancels; bad values are refused next to
their field; a viewer opens a sweep but gets no sweep controls."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.browser.conftest import LiveApp, artifact, log_in
from tests.browser.test_lab import (
    NO_WEBSOCKET,
    RUN_TIMEOUT_MS,
    STRATEGY,
    _fill_period,
    _open_lab,
    _small_run,
    _wait_finished,
    _wait_params,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Records, from the first paint, every status a sweep's backtest showed in the sweep panel, and
# whether the sweep's progress bar was ever shown.
WATCH_SWEEP = """
window.__sweep = { statuses: [], progress: false };
document.addEventListener("DOMContentLoaded", () => {
  const panel = document.getElementById("sweep-panel");
  if (!panel) return;
  new MutationObserver(() => {
    if (!document.getElementById("sweep-progress").hidden) window.__sweep.progress = true;
    panel.querySelectorAll("#sweep-runs tr[data-status]").forEach((row) => {
      const seen = window.__sweep.statuses;
      if (!seen.includes(row.dataset.status)) seen.push(row.dataset.status);
    });
  }).observe(panel, { attributes: true, subtree: true, childList: true });
});
"""


TIMES = "\N{MULTIPLICATION SIGN}"  # the page writes "2 values TIMES 1 value"


def _choose_sweep(page: Any, row: int, field: str, values: str) -> None:
    page.locator(f"#lab-sweep-param-{row}").select_option(field)
    page.locator(f"#lab-sweep-values-{row}").fill(values)


def test_an_operator_sweeps_two_values_and_compares_the_runs(
    browser: Any, live_app: LiveApp, new_page: Any
) -> None:
    page = new_page()
    page.add_init_script(WATCH_SWEEP)
    _open_lab(page, live_app, live_app.admin_username, live_app.admin_password)
    _wait_params(page)
    page.locator("#lab-strategy").select_option(STRATEGY)
    _fill_period(page, "2025-03-01", "2025-03-04")
    assert page.locator("#lab-sweep-submit").is_hidden(), "no sweep until a parameter is chosen"
    _choose_sweep(page, 1, "delta_max", "0.15, 0.2")
    _choose_sweep(page, 2, "source.seed", "7")
    assert page.locator("#lab-sweep-count").inner_text() == f"2 values {TIMES} 1 value = 2 backtests."
    # Where the value would be typed for one backtest, the form says the sweep replaces it.
    assert "Varied by the sweep" in page.locator('[data-field="parameters.delta_max"]').inner_text()
    page.locator("#lab-name").fill("delta sweep")
    page.get_by_role("button", name="Start sweep (2 backtests)").click()

    panel = page.locator("#sweep-panel")
    panel.wait_for()
    assert re.search(r"[?&]sweep=\d+", page.url)
    assert "delta sweep" in page.locator("#sweep-title").inner_text()
    summary = page.locator("[data-testid='sweep-summary']")
    summary.wait_for()
    assert f"Max delta: 0.15, 0.2 {TIMES} Seed: 7" in summary.inner_text()
    rows = page.locator("#sweep-runs tbody tr[data-run]")
    rows.first.wait_for()
    assert rows.count() == 2
    page.wait_for_selector("#sweep-status[data-status='finished']", timeout=RUN_TIMEOUT_MS)
    seen = page.evaluate("window.__sweep")
    assert seen["progress"] and set(seen["statuses"]) & {"queued", "running"}, seen
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.status)") == ["succeeded", "succeeded"]
    assert "All 2 finished" in summary.inner_text()

    # One comparison of both runs: the values tried first, the best of each metric highlighted.
    table = page.locator("#sweep-compare")
    table.locator("tr[data-metric='net_profit']").wait_for()
    first_rows = table.locator("tbody tr").all_inner_texts()
    assert first_rows[0].strip().lower() == "values tried"
    assert re.match(r"Max delta\s+0\.15\s+0\.2", first_rows[1].strip())
    assert re.match(r"Seed\s+7\s+7", first_rows[2].strip())
    heads = table.locator("thead th").all_inner_texts()
    assert any("Max delta 0.15 · Seed 7" in h for h in heads)
    assert table.locator("td.best").count() >= 1

    # The API stored what the form asked for.
    sweep_id = int(re.search(r"sweep=(\d+)", page.url).group(1))  # type: ignore[union-attr]
    stored = page.request.get(f"{live_app.base_url}/api/backtests/sweeps/{sweep_id}/").json()
    assert stored["grid"] == {"delta_max": [0.15, 0.2], "source.seed": [7]}
    assert [r["parameters"]["delta_max"] for r in stored["runs"]] == [0.15, 0.2]
    assert {r["source"]["seed"] for r in stored["runs"]} == {7}

    # Listed among past sweeps; a run opens from the sweep.
    page.locator(f"#sweeps tr[data-sweep='{sweep_id}']:has-text('All 2 finished')").wait_for()
    panel.screenshot(path=str(artifact("lab-sweep.png")))
    rows.first.get_by_role("button").click()
    page.wait_for_selector("#run-results:not([hidden])", timeout=RUN_TIMEOUT_MS)
    assert f"sweep #{sweep_id}" in page.locator("[data-testid='run-summary']").inner_text()


def test_a_bad_sweep_value_is_refused_next_to_its_field(
    browser: Any, live_app: LiveApp, new_page: Any
) -> None:
    page = new_page()
    _open_lab(page, live_app, live_app.admin_username, live_app.admin_password)
    _wait_params(page)
    page.locator("#lab-strategy").select_option(STRATEGY)
    _fill_period(page, "2025-03-01", "2025-03-02")
    values_error = page.locator('[data-field="grid.delta_max"] > .field-error')
    top = page.locator("#lab-form-errors")
    sweeps_before = page.request.get(f"{live_app.base_url}/api/backtests/sweeps/").json()["count"]

    # Out of the parameter's bounds: refused before anything is sent.
    _choose_sweep(page, 1, "delta_max", "0.2, 2")
    assert "at most 1" in page.locator('[data-field="grid.delta_max"] .hint').inner_text().lower()
    page.get_by_role("button", name=re.compile("Start sweep")).click()
    values_error.wait_for()
    assert "2 is too high: the most is 1." in values_error.inner_text()
    assert page.locator("#lab-sweep-values-1").get_attribute("aria-invalid") == "true"
    assert "sweep was not started" in top.inner_text()

    # Within its bounds but not with the others (the API checks every combination).
    page.locator("#lab-sweep-values-1").fill("0.2, 0.6")
    page.get_by_role("button", name=re.compile("Start sweep")).click()
    grid_error = page.locator('[data-field="grid"] > .field-error')
    grid_error.wait_for()
    assert values_error.is_hidden()
    assert "With max delta 0.6: roll delta (0.45) must be above max delta (0.6)" in grid_error.inner_text()

    # Too many combinations: said as the values are typed, and refused.
    page.locator("#lab-sweep-values-1").fill(", ".join(f"0.{i:02d}" for i in range(1, 21)))
    _choose_sweep(page, 2, "source.seed", ", ".join(str(i) for i in range(11)))
    count = page.locator("#lab-sweep-count")
    assert f"20 values {TIMES} 11 values = 220 backtests: more than 200" in count.inner_text()
    page.get_by_role("button", name="Start sweep (220 backtests)").click()
    page.locator('[data-field="grid"] > .field-error:has-text("220")').wait_for()
    assert "at most 200" in grid_error.inner_text()
    assert page.locator("#sweep-panel").is_hidden()
    page.screenshot(path=str(artifact("lab-sweep-errors.png")), full_page=True)
    assert page.request.get(f"{live_app.base_url}/api/backtests/sweeps/").json()["count"] == sweeps_before


def test_a_viewer_opens_a_sweep_but_gets_no_sweep_controls(
    browser: Any, live_app: LiveApp, new_page: Any
) -> None:
    operator = new_page()
    log_in(operator, live_app, live_app.admin_username, live_app.admin_password)
    token = next(c["value"] for c in operator.context.cookies() if c["name"] == "csrftoken")
    base = _small_run(seed=4, delta_max=0.2)
    base["source"]["end"] = "2025-03-02T00:00:00Z"
    response = operator.request.post(
        live_app.base_url + "/api/backtests/sweeps/",
        data=json.dumps({"name": "viewer sweep", "base": base, "grid": {"source.seed": [4, 5]}}),
        headers={
            "Content-Type": "application/json",
            "X-CSRFToken": token,
            "Referer": live_app.base_url + "/lab/",
        },
    )
    assert response.status == 201, response.text()
    created = response.json()
    for run_id in created["runs"]:
        _wait_finished(operator, live_app, run_id)

    page = new_page()
    _open_lab(page, live_app, live_app.viewer_username, live_app.viewer_password)
    page.locator(f"#sweeps tr[data-sweep='{created['id']}'] button").click()
    page.locator("#sweep-compare tr[data-metric='net_profit']").wait_for(timeout=RUN_TIMEOUT_MS)
    assert "Seed: 4, 5" in page.locator("[data-testid='sweep-summary']").inner_text()
    assert page.locator("#lab-sweep, #lab-sweep-submit, #sweep-cancel").count() == 0
    assert page.get_by_role("button", name=re.compile("Start sweep|Cancel")).count() == 0


def test_with_the_live_feed_down_the_page_polls_the_sweep(
    browser: Any, live_app: LiveApp, new_page: Any
) -> None:
    page = new_page()
    page.add_init_script(NO_WEBSOCKET)
    _open_lab(page, live_app, live_app.admin_username, live_app.admin_password)
    assert page.locator("#live-status").get_attribute("data-state") != "open"
    _wait_params(page)
    page.locator("#lab-strategy").select_option(STRATEGY)
    _fill_period(page, "2025-04-01", "2025-04-02")
    _choose_sweep(page, 1, "source.seed", "1 2")
    page.locator("#lab-sweep-values-1").press("Enter")  # Enter in a sweep field starts the sweep
    page.wait_for_selector("#sweep-status[data-status='finished']", timeout=RUN_TIMEOUT_MS)
    page.locator("#sweep-compare tr[data-metric='net_profit']").wait_for()
    assert page.locator("#sweep-runs tbody tr[data-run]").count() == 2
    assert page.locator("#run-panel").is_hidden(), "no single backtest was started"


def test_an_operator_cancels_a_sweep(browser: Any, live_app: LiveApp, new_page: Any) -> None:
    page = new_page()
    _open_lab(page, live_app, live_app.admin_username, live_app.admin_password)
    _wait_params(page)
    page.locator("#lab-strategy").select_option(STRATEGY)
    _choose_sweep(page, 1, "source.seed", "11, 12")  # over the default year: long enough to cancel
    page.get_by_role("button", name="Start sweep (2 backtests)").click()
    page.wait_for_selector("#sweep-panel:not([hidden]) #sweep-runs tr[data-status]")
    page.get_by_role("button", name="Cancel its unfinished backtests").click()
    page.wait_for_selector("#sweep-status[data-status='finished']", timeout=RUN_TIMEOUT_MS)
    statuses = page.locator("#sweep-runs tbody tr[data-run]").evaluate_all(
        "rows => rows.map(r => r.dataset.status)"
    )
    assert statuses == ["cancelled", "cancelled"]
    assert "2 cancelled" in page.locator("#sweep-status").inner_text()
    assert page.locator("#sweep-cancel").is_hidden()
