from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from trading.exchange.errors import ExchangeError
from trading.management.commands._args import parse_day_or_time
from trading.marketdata.history import RESOLUTIONS
from trading.marketdata.services import history_fetch_run, tardis_dir
from trading.marketdata.tardis_download import TardisDownloadError, tardis_chain_download


class Command(BaseCommand):
    help = (
        "Download history into the data folder: index (perpetual) and DVOL candles from Deribit, or with "
        "--tardis-chain the Tardis options_chain day files (then load them with import_chain)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--currency", default="BTC", choices=["BTC", "ETH"], type=str.upper)
        parser.add_argument("--start", required=True, help="first day (YYYY-MM-DD) or ISO time, UTC")
        parser.add_argument("--end", required=True, help="last day (inclusive) or ISO time, UTC")
        parser.add_argument(
            "--resolution", default="60", choices=list(RESOLUTIONS), help="candle length: minutes or 1D"
        )
        parser.add_argument(
            "--instrument",
            default=None,
            help="price candles of this instrument (default {CURRENCY}-PERPETUAL, which tracks the index)",
        )
        parser.add_argument(
            "--out",
            type=Path,
            default=None,
            help="file (.parquet, .csv, .csv.gz); with --tardis-chain a folder",
        )
        parser.add_argument("--page-candles", type=int, default=1000, help="candles asked for per request")
        parser.add_argument(
            "--tardis-chain",
            action="store_true",
            help="download Tardis options_chain days "
            "instead (all days with TARDIS_API_KEY, else first-of-month days only)",
        )
        parser.add_argument("--tardis-endpoint", default=None, help="another Tardis datasets URL (a mirror)")

    def handle(self, *args: Any, **options: Any) -> None:
        start = parse_day_or_time(options["start"], end=False)
        end = parse_day_or_time(options["end"], end=True)
        if end < start:
            raise CommandError("--end is before --start")
        if options["tardis_chain"]:
            self._tardis(options, start.date(), end.date())
            return
        pages = 0

        def on_page(what: str, n: int) -> None:
            nonlocal pages
            pages += 1
            if options["verbosity"] > 1:
                self.stdout.write(f"  {what}: {n} candles")

        try:
            path, frame = history_fetch_run(
                currency=options["currency"],
                start=start,
                end=end,
                resolution=options["resolution"],
                instrument_name=options["instrument"],
                out=options["out"],
                page_candles=options["page_candles"],
                on_page=on_page,
            )
        except (ExchangeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        prices = int(frame["close"].notna().sum())
        dvol = int(frame["dvol_close"].notna().sum())
        self.stdout.write(
            f"{path}: {len(frame)} candles ({prices} with a price, {dvol} with DVOL) from {pages} requests"
        )

    def _tardis(self, options: dict[str, Any], first: Any, last: Any) -> None:
        try:
            result = tardis_chain_download(
                start=first,
                end=last,
                download_dir=options["out"] or tardis_dir(),
                api_key=settings.TARDIS_API_KEY,
                endpoint=options["tardis_endpoint"],
            )
        except TardisDownloadError as exc:
            raise CommandError(str(exc)) from exc
        for path in result.paths:
            self.stdout.write(str(path))
        if result.empty_days:
            self.stdout.write(f"no data on: {', '.join(map(str, result.empty_days))}")
        if result.skipped_days:
            self.stdout.write(
                self.style.WARNING(
                    f"skipped {len(result.skipped_days)} days that need TARDIS_API_KEY "
                    "(only the first day of each month is free)"
                )
            )
        if result.paths:
            self.stdout.write(f"next: manage.py import_chain {' '.join(map(str, result.paths))} --every 1h")
