"""The Calibration tab in a real browser, against the app as `make run` starts it (its backtest
worker runs the calibrations): an operator measures the synthetic prices against a live snapshot of
the simulated exchange and sees the progress, the smiles and the error table without a reload; a
fit on a small hand-made snapshot set proposes parameters the operator approves, and backtests are
priced with them from then on; a viewer sees everything but no button."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from tests.browser.conftest import LiveApp, artifact, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_TIMEOUT_MS = 120_000

WATCH_PROGRESS = """
window.__progress = { shown: false };
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("cal-run-progress");
  if (!box) return;
  new MutationObserver(() => { if (!box.hidden) window.__progress.shown = true; })
    .observe(box, { attributes: true, subtree: true, childList: true, characterData: true });
});
"""

PAINTED = """
canvas => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
  return painted;
}
"""


def _open(page: Any, app: LiveApp, user: str, password: str, query: str = "") -> None:
    log_in(page, app, user, password)
    page.goto(app.base_url + "/calibration/" + query)
    page.wait_for_selector("#cal-updated:has-text('As of')")


def _post(page: Any, app: LiveApp, path: str, body: dict[str, Any]) -> dict[str, Any]:
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        app.base_url + path,
        data=json.dumps(body),
        headers={"Content-Type": "application/json", "X-CSRFToken": token, "Referer": app.base_url + "/"},
    )
    assert response.status == 201, response.text()
    return dict(response.json())


def _wait_finished(page: Any, app: LiveApp, run_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        run = page.request.get(f"{app.base_url}/api/calibration/runs/{run_id}/").json()
        if run["status"] in ("succeeded", "failed", "cancelled"):
            return dict(run)
        time.sleep(0.5)
    raise AssertionError(f"calibration {run_id} did not finish in time:\n{app.log_tail()}")


def _market_files(app: LiveApp) -> str:
    """A small hand-made snapshot set (28 hourly BTC chains) in the app's data folder."""
    folder = app.data_dir / "test-market"
    if not folder.exists():
        app.manage(
            "shell",
            "-c",
            "from pathlib import Path; from tests.backtests.calibration_data import write_market; "
            f"write_market(Path({str(folder)!r}))",
        )
    return str(folder)


def test_an_operator_measures_a_live_snapshot_and_sees_smiles_and_errors(
    browser: Any, live_app: LiveApp, new_page: Any
) -> None:
    page = new_page()
    page.add_init_script(WATCH_PROGRESS)
    _open(page, live_app, live_app.admin_username, live_app.admin_password)
    page.evaluate("window.__notReloaded = true")
    # Nothing calibrated yet: the page says what is used instead, and why.
    page.wait_for_selector("#params-in-use [data-currency='BTC']")
    assert (
        "generator's default parameters" in page.locator("#params-in-use [data-currency='BTC']").inner_text()
    )
    assert "No proposals waiting" in page.locator("#params-proposed").inner_text()
    assert "2,000 option prices over at least 20 snapshots" in page.locator("#cal-policy").inner_text()

    page.locator("#cal-source").select_option("live")
    assert page.locator("#cal-data-path").is_hidden() and page.locator("#cal-fit-start").is_hidden()
    page.get_by_role("button", name="Start calibration").click()
    page.wait_for_selector("#cal-run-panel:not([hidden])")
    assert re.search(r"[?&]run=\d+", page.url)
    page.wait_for_selector("#cal-run-status[data-status='succeeded']", timeout=RUN_TIMEOUT_MS)
    assert page.evaluate("window.__progress.shown"), "the progress was never shown"
    assert page.evaluate("window.__notReloaded") is True

    results = page.locator("#cal-run-results")
    results.locator("section[data-currency='BTC']").wait_for()
    headline = results.locator("[data-testid='cal-headline']").inner_text()
    assert (
        "the parameters in use (the generator's defaults) miss the market's implied volatility by" in headline
    )
    assert "vol pts" in headline and "$" in headline
    # The smiles: one chart per expiry, each painted, with the market's band and the model.
    figures = results.locator("[data-testid='cal-smiles'] figure.chart")
    assert figures.count() >= 2
    assert "days" in figures.first.locator("figcaption").inner_text()
    for canvas in results.locator("[data-testid='cal-smiles'] canvas").all():
        assert canvas.evaluate(PAINTED) > 500
    legend = results.locator("[data-testid='cal-smiles']").first.inner_text()
    assert "Market (mark IV)" in legend and "Bid IV" in legend and "Synthetic model" in legend
    # The errors by bucket, with units and help.
    table = results.locator("[data-testid='cal-errors']")
    heads = table.locator("thead th").all_inner_texts()
    assert heads[:4] == ["Which options", "Options", "Mean price error", "Mean price error, % of price"]
    assert table.locator("th[data-col='bias_vol_pts'] .has-help").get_attribute("title")
    overall = table.locator("tr.overall").inner_text()
    assert "$" in overall and "vol pts" in overall and "%" in overall
    for bucket in ("0 to 2 days", "|delta| 0.00 to 0.10", "Calls", "Puts"):
        assert table.locator(f"tr[data-bucket='{bucket}']").count() == 1, bucket
    main = page.inner_text("main")
    assert "Traceback" not in main and "{&quot;" not in page.content() and '{"' not in main

    # The run is listed, and the history has its first point.
    row = page.locator("#cal-runs tbody tr").first
    assert "Finished" in row.inner_text() and "vol pts" in row.inner_text()
    page.wait_for_selector("#cal-history canvas")
    page.screenshot(path=str(artifact("calibration-live.png")), full_page=True)


def test_a_fit_is_proposed_approved_and_then_prices_backtests(
    browser: Any, live_app: LiveApp, new_page: Any
) -> None:
    data = _market_files(live_app)
    page = new_page()
    _open(page, live_app, live_app.admin_username, live_app.admin_password)
    page.locator("#cal-source").select_option("files")
    page.locator("#cal-data-path").fill(data)
    # A fit on 15 snapshots is better, but too little evidence for the policy: it waits for approval.
    page.locator("#cal-fit-start").fill("2026-01-05")
    page.locator("#cal-fit-end").fill("2026-01-06")
    page.locator("#cal-test-start").fill("2026-01-06")
    page.locator("#cal-test-end").fill("2026-01-07")
    page.locator("#cal-name").fill("hand-made market")
    page.get_by_role("button", name="Start calibration").click()
    page.wait_for_selector("#cal-run-status[data-status='succeeded']", timeout=RUN_TIMEOUT_MS)
    results = page.locator("#cal-run-results")
    verdict = results.locator("[data-testid='cal-verdict']")
    verdict.wait_for()
    assert "Not put in use automatically: the fit saw too few prices" in verdict.inner_text()
    assert "waits for an operator's approval" in verdict.inner_text()
    assert "newly fitted parameters miss the market's implied volatility by" in results.inner_text()
    assert "Parameters in use" in results.locator("[data-testid='cal-smiles']").first.inner_text()
    assert results.locator("select[aria-label='Errors of'] option").count() == 3

    proposal = page.locator("#params-proposed .proposal[data-currency='BTC']")
    proposal.wait_for()
    set_id = proposal.get_attribute("data-set")
    assert proposal.locator("tr.differs").count() >= 1  # what would change is marked
    page.screenshot(path=str(artifact("calibration-proposal.png")), full_page=True)
    proposal.get_by_role("button", name=f"Use set #{set_id} for BTC backtests").click()
    card = page.locator(f"#params-in-use [data-currency='BTC'][data-set='{set_id}']")
    card.wait_for()
    assert "In use" in card.inner_text() and "Approved by admin" in card.inner_text()
    page.wait_for_function(
        "() => document.querySelector('#params-proposed').innerText.includes('No proposals')"
    )

    # A synthetic backtest started now is priced with the approved set, and says so.
    body = {
        "strategy": "covered_call_conservative",
        "source": {"kind": "synthetic", "start": "2025-03-01T00:00:00Z", "end": "2025-03-02T00:00:00Z"},
    }
    run = _post(page, live_app, "/api/backtests/", body)
    assert run["calibration"]["BTC"]["set_id"] == int(set_id or 0)
    page.goto(f"{live_app.base_url}/lab/?run={run['id']}")
    page.wait_for_selector("#run-summary dl")
    assert f"BTC: calibrated set #{set_id}" in page.locator("#run-summary").inner_text()


def test_a_viewer_sees_the_results_but_no_button(browser: Any, live_app: LiveApp, new_page: Any) -> None:
    operator = new_page()
    log_in(operator, live_app, live_app.admin_username, live_app.admin_password)
    created = _post(operator, live_app, "/api/calibration/runs/", {"source": "live", "currencies": ["ETH"]})
    assert _wait_finished(operator, live_app, created["id"])["status"] == "succeeded"

    page = new_page()
    _open(page, live_app, live_app.viewer_username, live_app.viewer_password, query=f"?run={created['id']}")
    page.wait_for_selector("#cal-run-results section[data-currency='ETH']", timeout=RUN_TIMEOUT_MS)
    assert page.locator("#cal-run-results [data-testid='cal-smiles'] canvas").count() >= 1
    assert page.locator("#cal-form, #cal-run-cancel, [data-approve]").count() == 0
    assert page.get_by_role("button", name=re.compile("Start|Cancel|Use set|Use again")).count() == 0
    assert page.get_by_text("Only operators can start calibrations or approve parameters").is_visible()
    page.screenshot(path=str(artifact("calibration-viewer.png")), full_page=True)
