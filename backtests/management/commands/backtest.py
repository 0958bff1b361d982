"""Run one backtest in this process (no Celery) and print its metrics.

The options build the same spec the REST API takes, and the run goes through the same runner with
the same calibrated synthetic-price parameters, so ``--json`` prints exactly the metrics an API run
of that spec stores.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backtests.calibration_selectors import calibration_for_backtest
from backtests.metrics import METRICS_BY_KEY
from backtests.runner import RunOutput, execute
from backtests.selectors import registry_strategy_lookup
from backtests.sources import SourceError
from backtests.spec import SpecError, spec_validate
from trading.strategies.params import LogicKind

PROGRESS_EVERY_S = 1.0


def _key_value(text: str, *, what: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise CommandError(f"{what} {text!r} is not key=value")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # a bare word is a string
    return key.strip(), value


def spec_from_options(options: dict[str, Any]) -> dict[str, Any]:
    """The API body these command-line options stand for."""
    parameters = dict(_key_value(p, what="--param") for p in options["param"] or [])
    balances = dict(_key_value(b, what="--balance") for b in options["balance"] or [])
    currencies = [c.strip().upper() for group in options["currency"] or ["BTC"] for c in group.split(",")]
    source: dict[str, Any] = {
        "kind": options["source"],
        "start": options["start"],
        "end": options["end"],
        "step": options["step"],
        "currencies": [c for c in currencies if c],
        "seed": options["seed"],
        "history": options["history"],
        "data_path": options["data"],
    }
    if options["drift_pct"] is not None:
        source["drift_pct"] = options["drift_pct"]
    if options["vol_pct"] is not None:
        source["vol_pct"] = options["vol_pct"]
    body: dict[str, Any] = {
        "name": options["name"] or "",
        "strategy": options["strategy"],
        "logic_kind": options["logic_kind"],
        "parameters": parameters,
        "source": source,
        "fill": {
            "price": options["fill"],
            "slippage_pct": options["slippage_pct"],
            "respect_limit": not options["ignore_limit"],
            "max_oi_pct": options["max_oi_pct"],
        },
        "risk_free_rate": options["risk_free_rate"],
    }
    if balances:
        body["initial_balance_coin"] = balances
    return body


def _fmt(value: Any, unit: str, currency: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt(v, unit, currency)}" for k, v in value.items())
    if not isinstance(value, int | float):
        return str(value)
    match unit:
        case "coin":
            return f"{value:,.6f} {currency}"
        case "usd":
            return f"{value:,.2f} USD"
        case "pct":
            return f"{value:,.2f} %"
        case "count":
            return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"
        case "bars":
            return f"{value:,.1f} steps"
        case "days":
            return f"{value:,.1f} days"
        case "vol_pts":
            return f"{value:,.2f} vol pts"
        case _:
            return f"{value:,.3f}"


def metrics_table(metrics: dict[str, Any]) -> str:
    """The metrics as an aligned, sectioned text table."""
    lines: list[str] = []
    width = max(len(m.label) for m in METRICS_BY_KEY.values()) + 2

    def section(title: str, values: dict[str, Any], currency: str) -> None:
        lines.append(title)
        for key, value in values.items():
            definition = METRICS_BY_KEY.get(key)
            label = definition.label if definition is not None else key
            unit = definition.unit if definition is not None else ""
            lines.append(f"  {label:<{width}}{_fmt(value, unit, currency)}")
        lines.append("")

    period = metrics.get("period", {})
    lines.append(
        f"Period: {period.get('start')} → {period.get('end')}, {period.get('steps')} steps"
        + (" (cancelled)" if period.get("cancelled") else "")
    )
    lines.append("")
    for currency, parts in metrics.get("currencies", {}).items():
        section(f"{currency} in coin", parts.get("coin", {}), currency)
        section(f"{currency} in USD", parts.get("usd", {}), currency)
        section(f"{currency} options", parts.get("options", {}), currency)
    section("All currencies, USD", metrics.get("total_usd", {}), "USD")
    return "\n".join(lines).rstrip() + "\n"


class Command(BaseCommand):
    help = (
        "Run a backtest here and now (no Celery) and print its metrics: a registry strategy (--strategy) "
        "or a logic kind with parameter overrides (--logic-kind, --param key=value)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--strategy", help="a registry strategy's name")
        which.add_argument("--logic-kind", choices=[k.value for k in LogicKind], help="an ad-hoc logic kind")
        parser.add_argument(
            "--param", action="append", metavar="KEY=VALUE", help="a parameter override (value as JSON)"
        )
        parser.add_argument("--source", required=True, choices=["synthetic", "files"])
        parser.add_argument("--data", default=None, help="files: the chains folder; deribit/csv: the file")
        parser.add_argument("--history", default="generator", choices=["generator", "deribit", "csv"])
        parser.add_argument("--start", required=True, help="ISO time or YYYY-MM-DD (UTC)")
        parser.add_argument("--end", required=True, help="ISO time or YYYY-MM-DD (UTC), after --start")
        parser.add_argument("--step", default="1h", help="time between steps, e.g. 1h, 4h, 1d")
        parser.add_argument("--currency", action="append", help="BTC and/or ETH (repeat or comma-separate)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--drift-pct", type=float, default=None, help="generator: expected return of the index, %% a year"
        )
        parser.add_argument(
            "--vol-pct", type=float, default=None, help="generator: long-run volatility of the index, %%"
        )
        parser.add_argument("--fill", default="touch", choices=["touch", "mid"])
        parser.add_argument("--slippage-pct", type=float, default=0.0, help="with --fill mid")
        parser.add_argument(
            "--ignore-limit",
            action="store_true",
            help="fill at the model's price even when worse than the limit",
        )
        parser.add_argument(
            "--max-oi-pct",
            type=float,
            default=None,
            help="partial fills: at most this %% of open interest a step",
        )
        parser.add_argument("--risk-free-rate", type=float, default=0.0, help="annual, decimal")
        parser.add_argument("--balance", action="append", metavar="COIN=AMOUNT", help="starting coins")
        parser.add_argument("--name", default="")
        parser.add_argument("--json", action="store_true", help="print the metrics as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        body = spec_from_options(options)
        try:
            spec = spec_validate(body, lookup=registry_strategy_lookup)
        except SpecError as exc:
            raise CommandError(exc.one_line()) from None
        # Priced like a run from the API: with the calibrated parameters in use.
        spec = spec.model_copy(update={"calibration": calibration_for_backtest(source=spec.source)})
        quiet = options["verbosity"] == 0
        last = [0.0]
        started = time.monotonic()

        def progress(done: int, total: int, at: datetime | None) -> None:
            now = time.monotonic()
            if quiet or (done < total and now - last[0] < PROGRESS_EVERY_S):
                return
            last[0] = now
            when = f" {at:%Y-%m-%d %H:%M}" if at is not None else ""
            pct = 100.0 * done / total if total else 100.0
            line = f"\r{done}/{total} steps ({pct:.0f} %){when}, {now - started:.0f} s "
            self.stderr.write(line, ending="")
            self.stderr.flush()

        try:
            out = execute(spec, on_progress=progress)
        except SourceError as exc:
            raise CommandError(f"source.{exc.field}: {exc}") from None
        except Exception as exc:
            raise CommandError(f"the backtest failed: {type(exc).__name__}: {exc}") from None
        if not quiet:
            self.stderr.write("")
        self._print(out, as_json=options["json"])

    def _print(self, out: RunOutput, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(out.metrics, indent=2))
            return
        self.stdout.write(out.source_description)
        self.stdout.write(
            f"{len(out.round_trips)} round trips, {len(out.fills)} fills (prices: {out.provenance})\n"
        )
        self.stdout.write(metrics_table(out.metrics))
