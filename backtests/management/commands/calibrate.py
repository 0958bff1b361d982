"""Compare the synthetic model's option prices with market snapshots (and fit it) here and now, and
print the report.

The options build the same request the REST API takes and the run goes through the same runner
with the same parameters in use, so ``--json`` prints exactly the report a stored run of that
request holds. Nothing is stored unless ``--save`` is given: then the run is recorded like one
started from the dashboard, and fitted parameters are put in use when the policy holds.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backtests import calibration_runner
from backtests.calibration_selectors import calibration_in_use
from backtests.calibration_services import (
    calibration_live_fetch,
    calibration_run_create,
    calibration_run_execute,
    failure_message,
)
from backtests.calibration_spec import calibration_spec_validate, parse_window
from backtests.models import CalibrationRun
from backtests.spec import SpecError
from trading.marketdata.services import harvest_dir

COLUMNS = (
    ("n", "Options", "{:,.0f}"),
    ("mae_usd", "MAE USD", "{:,.2f}"),
    ("mae_pct", "MAE %", "{:,.2f}"),
    ("mae_vol_pts", "MAE vol pts", "{:,.2f}"),
    ("vega_weighted_mae_pct", "Vega-wtd MAE %", "{:,.2f}"),
    ("bias_vol_pts", "Bias vol pts", "{:+,.2f}"),
    ("inside_bid_ask_pct", "In bid/ask %", "{:,.1f}"),
)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def request_from_options(options: dict[str, Any]) -> dict[str, Any]:
    """The API body these command-line options stand for."""
    currencies = [c.strip().upper() for group in options["currency"] or ["BTC"] for c in group.split(",")]
    body: dict[str, Any] = {
        "name": options["name"] or "",
        "source": options["source"],
        "data_path": options["data"],
        "currencies": [c for c in currencies if c],
        "history_path": options["underlying_history"],
    }
    for which in ("fit", "test"):
        text = options[f"{which}_window"]
        if text:
            try:
                body[f"{which}_start"], body[f"{which}_end"] = parse_window(text, option=f"--{which}-window")
            except ValueError as exc:
                raise CommandError(str(exc)) from None
    return body


def _cell(block: dict[str, Any], key: str, fmt: str) -> str:
    value = block.get(key)
    return "—" if value is None else fmt.format(value)


def report_text(report: dict[str, Any], description: str) -> str:
    """The report as aligned text: per currency the error table and, with a fit, the verdict."""
    lines = [description, ""]
    head = f"  {'':<22}" + "".join(f"{label:>16}" for _, label, _ in COLUMNS)
    for currency, block in report["currencies"].items():
        test = block["test"]
        evaluated = "the fitted parameters" if block["evaluated"] == "fitted" else "the parameters in use"
        lines.append(f"{currency}: parameters in use: {block['in_use']['label']}")
        lines.append(
            f"  Errors of {evaluated} on the test window ({test['snapshots']} snapshots, "
            f"{test['samples']:,} options; model minus market):"
        )
        lines.append(head)
        rows = [("All options", test["overall"])]
        rows += [(f"DTE {b['band']}", b) for b in test["by_dte"]]
        rows += [(f"|delta| {b['bucket']}", b) for b in test["by_delta"]]
        rows += [("Calls", test["by_type"]["call"]), ("Puts", test["by_type"]["put"])]
        for label, b in rows:
            lines.append(f"  {label:<22}" + "".join(f"{_cell(b, k, f):>16}" for k, _, f in COLUMNS))
        if block["test_in_use"]:
            in_use = block["test_in_use"]["overall"]
            vol, usd = _cell(in_use, "mae_vol_pts", "{:.2f}"), _cell(in_use, "mae_usd", "{:,.2f}")
            lines.append(f"  The parameters in use on the same snapshots: MAE {vol} vol pts, {usd} USD.")
        if block["policy"]:
            lines.append(f"  Policy: {block['policy']['summary']}")
            for check in block["policy"]["checks"]:
                lines.append(f"    [{'ok' if check['passed'] else 'no'}] {check['text']}")
            fitted = ", ".join(f"{k} {v}" for k, v in block["fitted_parameters"].items() if k != "currency")
            lines.append(f"  Fitted parameters: {fitted}")
        lines.extend(f"  Note: {n}" for n in block.get("notes", []))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


class Command(BaseCommand):
    help = (
        "Compare synthetic option prices with market snapshots (harvested, imported files, or a live "
        "snapshot), optionally fit the synthetic model on one window and check it on another, and print "
        "the report."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", required=True, choices=["files", "harvest", "live"])
        parser.add_argument(
            "--data",
            default=None,
            help="files: the snapshot folder or files; harvest: default the harvester's",
        )
        parser.add_argument("--currency", action="append", help="BTC and/or ETH (repeat or comma-separate)")
        parser.add_argument("--underlying-history", default=None, help="a CSV or fetch_history file")
        parser.add_argument("--fit-window", default=None, help="START:END (UTC, end exclusive); none: no fit")
        parser.add_argument(
            "--test-window", default=None, help="START:END; default: after the fit window (or everything)"
        )
        parser.add_argument("--name", default="")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--save",
            action="store_true",
            help="store the run like one from the dashboard (fitted parameters then follow the policy)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        body = request_from_options(options)
        try:
            spec = calibration_spec_validate(body, harvest_root=harvest_dir())
        except SpecError as exc:
            raise CommandError(exc.one_line()) from None
        quiet = options["verbosity"] == 0

        def progress(done: int, total: int, note: str) -> None:
            if not quiet:
                self.stderr.write(f"[{done}/{total}] {note}")

        if options["save"]:
            run = calibration_run_create(data=spec, dispatch=False)
            run = calibration_run_execute(run_id=run.pk) or run
            if run.status != CalibrationRun.Status.SUCCEEDED or run.report is None:
                raise CommandError(_one_line(run.error or f"the calibration ended {run.status}"))
            report, description = run.report, f"Stored as calibration #{run.pk}. {run.source_description}"
        else:
            try:
                out = calibration_runner.execute(
                    spec,
                    in_use=calibration_in_use(currencies=spec.currencies),
                    fetch_live=calibration_live_fetch,
                    on_progress=progress,
                )
            except Exception as exc:
                raise CommandError(_one_line(failure_message(exc))) from None
            report, description = out.report, out.description
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self.stdout.write(report_text(report, description))
