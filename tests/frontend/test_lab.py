"""The Backtesting Lab page as the server renders it: who may see it, what operators and viewers
get, the parameter fields taken from the strategy schemas, what a sweep may vary, and the chart
library it references (built by `make assets`). Its script's behaviour is tested in
tests/browser/test_lab.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders

from backtests.sources.spec import SourceSpec
from backtests.spec import FillSpec
from backtests.sweeps import MAX_RUNS
from tests.conftest import REPO_ROOT
from trading.strategies.params import PARAMS_SCHEMAS, LogicKind, RiskProfile, validate_params

pytestmark = pytest.mark.django_db

LAB_SCRIPTS = [
    "/static/frontend/live.js",
    "/static/vendor/uplot/uPlot.iife.min.js",
    "/static/frontend/ui.js",
    "/static/frontend/jobs.js",
    "/static/frontend/lab-format.js",
    "/static/frontend/lab-charts.js",
    "/static/frontend/lab-results.js",
    "/static/frontend/lab-compare.js",
    "/static/frontend/lab-form.js",
    "/static/frontend/lab-sweep-form.js",
    "/static/frontend/lab.js",
    "/static/frontend/lab-sweeps.js",
]
VENDOR_CSS = "/static/vendor/uplot/uPlot.min.css"
FORM_FIELDS = (
    "strategy",
    "logic_kind",
    "parameters",
    "source",
    "source.kind",
    "source.history",
    "source.data_path",
    "source.currencies",
    "source.start",
    "source.end",
    "source.step",
    "source.seed",
    "initial_balance_coin",
    "initial_balance_coin.BTC",
    "initial_balance_coin.ETH",
    "fill.price",
    "fill.slippage_pct",
    "fill.respect_limit",
    "fill.max_oi_pct",
    "risk_free_rate",
    "name",
    "grid",
)
SWEEP_PANELS = ('id="sweep-panel"', 'id="sweep-runs"', 'id="sweep-compare"', 'id="sweeps"')


def _main(html: str) -> str:
    return html.split("<main>")[1].split("</main>")[0]


def _config(html: str) -> dict[str, Any]:
    match = re.search(r'<script id="lab-config" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the page carries its configuration as JSON"
    return dict(json.loads(match.group(1)))


def test_anonymous_visitors_are_sent_to_the_login_form(client: Any) -> None:
    response = client.get("/lab/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_user_without_a_role_sees_nothing(client: Any, outsider: Any) -> None:
    client.force_login(outsider)
    assert client.get("/lab/").status_code == 403


def test_operators_get_the_form_with_a_slot_for_every_field_the_api_can_name(
    client: Any, operator: Any
) -> None:
    client.force_login(operator)
    html = client.get("/lab/").content.decode()
    form = re.search(r'<form id="lab-form".*?</form>', html, re.S)
    assert form is not None
    assert "csrfmiddlewaretoken" in form.group(0) and "novalidate" in form.group(0)
    for field in FORM_FIELDS:
        assert f'data-field="{field}"' in form.group(0), field
    assert 'id="lab-submit"' in form.group(0) and ">Start backtest<" in form.group(0)
    assert 'id="lab-sweep-submit"' in form.group(0) and 'id="lab-sweep-rows"' in form.group(0)
    assert 'id="run-cancel"' in html and 'id="sweep-cancel"' in html
    assert "Only operators can start" not in html


def test_viewers_see_runs_and_comparisons_but_no_write_controls(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    main = _main(client.get("/lab/").content.decode())
    assert "<h1>Backtesting Lab</h1>" in main
    controls = ("lab-form", "lab-submit", "run-cancel", "csrfmiddlewaretoken", "lab-sweep", "sweep-cancel")
    for control in controls:
        assert control not in main, control
    assert "Only operators can start or cancel backtests and sweeps" in main
    for panel in ('id="runs"', 'id="run-panel"', 'id="compare-button"', 'id="compare"', *SWEEP_PANELS):
        assert panel in main, panel


def test_the_lab_is_built_now(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    html = client.get("/lab/").content.decode()
    assert "Not built yet" not in html
    assert 'class="tab active" aria-current="page">Backtesting Lab</a>' in html


def test_parameter_fields_come_from_the_schema_the_api_validates_with(client: Any, operator: Any) -> None:
    client.force_login(operator)
    config = _config(client.get("/lab/").content.decode())
    fields = config["parameter_fields"]
    assert set(fields) == {k.value for k in LogicKind}
    for kind, schema in PARAMS_SCHEMAS.items():
        assert [f["name"] for f in fields[kind.value]] == list(schema.model_fields), kind
    delta_max = next(f for f in fields["covered_call"] if f["name"] == "delta_max")
    assert delta_max == {
        "name": "delta_max",
        "label": "Max delta",
        "unit": "",
        "type": "number",
        "nullable": False,
        "required": True,
        "help": "Highest absolute delta of an option to sell.",
        "maximum": 1.0,
        "exclusiveMinimum": 0.0,
    }
    dte_min = next(f for f in fields["covered_call"] if f["name"] == "dte_min")
    assert (dte_min["type"], dte_min["unit"], dte_min["label"]) == ("integer", "days", "Min days to expiry")
    otm = next(f for f in fields["covered_call"] if f["name"] == "roll_below_otm_pct")
    assert otm["nullable"] and otm["unit"] == "%" and "empty = never" in otm["help"]
    # The presets offered for ad-hoc runs are complete, valid parameter sets.
    for kind, profiles in config["presets"].items():
        assert set(profiles) == {p.value for p in RiskProfile}
        for values in profiles.values():
            validate_params(kind, values)


def test_the_fill_options_state_the_defaults_the_api_uses(client: Any, operator: Any) -> None:
    client.force_login(operator)
    html = client.get("/lab/").content.decode()
    defaults = FillSpec()
    respect = re.search(
        r'<input type="checkbox" id="lab-respect-limit" name="respect_limit"( checked)?', html
    )
    assert respect is not None and bool(respect.group(1)) is defaults.respect_limit
    max_oi = re.search(r'<input id="lab-max-oi" name="max_oi_pct"[^>]*>', html)
    assert max_oi is not None and "value=" not in max_oi.group(0), "empty, as the API's default (no cap)"
    assert defaults.max_oi_pct is None
    bounds = FillSpec.model_json_schema()["properties"]["max_oi_pct"]["anyOf"][0]
    assert (bounds["exclusiveMinimum"], bounds["maximum"]) == (0.0, 100.0)
    assert "Above 0, at most 100" in html


def test_a_sweep_may_vary_the_parameters_and_the_seed_within_the_api_bounds(
    client: Any, operator: Any
) -> None:
    client.force_login(operator)
    html = client.get("/lab/").content.decode()
    sweep = _config(html)["sweep"]
    assert sweep["max_runs"] == MAX_RUNS
    assert f"At most {MAX_RUNS} backtests per sweep." in html
    seed_schema = SourceSpec.model_json_schema()["properties"]["seed"]
    assert sweep["fields"] == {
        "source.seed": {
            "name": "source.seed",
            "label": "Seed",
            "unit": "",
            "type": "integer",
            "nullable": False,
            "required": False,
            "help": "The synthetic market's seed: each seed is another random market.",
            "minimum": seed_schema["minimum"],
            "maximum": seed_schema["maximum"],
        }
    }


def test_viewers_get_the_sweep_description_too(client: Any, viewer: Any) -> None:
    # They open past sweeps: the page needs to name what a sweep varied.
    client.force_login(viewer)
    assert _config(client.get("/lab/").content.decode())["sweep"]["fields"]["source.seed"]["label"] == "Seed"


def test_the_page_loads_the_chart_library_from_this_server(client: Any, viewer: Any) -> None:
    client.force_login(viewer)
    html = client.get("/lab/").content.decode()
    assert re.findall(r'<script src="([^"]+)"', html) == LAB_SCRIPTS
    assert f'<link rel="stylesheet" href="{VENDOR_CSS}">' in html


@pytest.mark.parametrize("url", [*LAB_SCRIPTS, VENDOR_CSS, "/static/vendor/uplot/LICENSE"])
def test_every_asset_the_page_references_exists_and_is_served(client: Any, url: str) -> None:
    relative = url.removeprefix("/static/")
    assert finders.find(relative), f"{relative} is missing: run `make assets` (it builds the chart library)"
    response = client.get(url)
    assert response.status_code == 200, url
    body = b"".join(response.streaming_content if response.streaming else [response.content])
    assert body


def test_the_chart_library_is_pinned_and_its_build_output_is_not_committed() -> None:
    package = json.loads(Path(REPO_ROOT, "package.json").read_text())
    version = package["dependencies"]["uplot"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "pin an exact version"
    lock = json.loads(Path(REPO_ROOT, "package-lock.json").read_text())
    assert lock["packages"]["node_modules/uplot"]["version"] == version
    ignored = Path(REPO_ROOT, ".gitignore").read_text().splitlines()
    assert "node_modules/" in ignored and "/frontend/static/vendor/" in ignored
    makefile = Path(REPO_ROOT, "Makefile").read_text()
    for target in ("run", "test"):
        assert re.search(rf"^{target}: .*\bassets\b", makefile, re.M), f"make {target} builds the assets"
