"""The Calibration page as the server renders it: who gets which controls, the configuration its
scripts read (parameter labels, defaults, the policy, the schedule) and its assets. Its scripts'
behaviour is tested in tests/browser/test_calibration.py."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.staticfiles import finders

from backtests.calibration import CalibrationParams
from backtests.calibration_policy import MIN_OPTIONS, MIN_SNAPSHOTS
from optionsbot.services import seed_run

pytestmark = pytest.mark.django_db

SCRIPTS = [
    "/static/frontend/live.js",
    "/static/vendor/uplot/uPlot.iife.min.js",
    "/static/frontend/ui.js",
    "/static/frontend/jobs.js",
    "/static/frontend/calibration-format.js",
    "/static/frontend/calibration-charts.js",
    "/static/frontend/calibration-report.js",
    "/static/frontend/calibration.js",
    "/static/frontend/calibration-form.js",
]


def _main(html: str) -> str:
    return html.split("<main>")[1].split("</main>")[0]


def _config(html: str) -> dict[str, Any]:
    match = re.search(r'<script id="calibration-config" type="application/json">(.*?)</script>', html, re.S)
    assert match is not None
    return dict(json.loads(match.group(1)))


def test_operators_get_the_form_and_viewers_a_note(client: Any, operator: Any, viewer: Any) -> None:
    client.force_login(operator)
    html = client.get("/calibration/").content.decode()
    main = _main(html)
    assert "<h1>Calibration</h1>" in main and "Not built yet" not in main
    for control in ("cal-form", "cal-submit", "cal-run-cancel", "csrfmiddlewaretoken", 'name="fit_start"'):
        assert control in main, control
    client.force_login(viewer)
    main = _main(client.get("/calibration/").content.decode())
    for control in ("cal-form", "cal-submit", "cal-run-cancel", "csrfmiddlewaretoken"):
        assert control not in main, control
    assert "Only operators can start calibrations or approve parameters" in main


def test_the_page_states_the_parameters_the_policy_and_the_schedule(client: Any, operator: Any) -> None:
    seed_run(admin_username="admin", admin_password=None)
    client.force_login(operator)
    config = _config(client.get("/calibration/").content.decode())
    names = [f["name"] for f in config["param_fields"]]
    assert names == [n for n in CalibrationParams.model_fields if n != "currency"]
    assert all(f["label"] and f["help"] for f in config["param_fields"])
    assert config["defaults"]["ETH"] == CalibrationParams.default("ETH").model_dump(mode="json")
    assert (
        f"{MIN_OPTIONS:,} option prices over at least {MIN_SNAPSHOTS} snapshots" in config["policy"]["text"]
    )
    schedule = config["schedule"]
    assert schedule["enabled"] and schedule["every_seconds"] == 86400 and schedule["fit_days"] == 7
    assert schedule["admin_url"].startswith("/admin/django_celery_beat/periodictask/")


def test_its_scripts_and_styles_are_served_by_the_app(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    html = client.get("/calibration/").content.decode()
    assert re.findall(r'<script src="([^"]+)"', html) == SCRIPTS
    assert "/static/frontend/calibration.css" in html and "/static/vendor/uplot/uPlot.min.css" in html
    for asset in [*SCRIPTS[2:], "/static/frontend/calibration.css"]:
        assert finders.find(asset.removeprefix("/static/")), asset
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
