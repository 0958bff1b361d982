from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from trading.marketdata.services import chains_harvest_run, harvest_dir
from trading.services.exchange import exchange_client_config


class Command(BaseCommand):
    help = "Record one option-chain snapshot per currency now (what the 'chain harvester' schedule runs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--currency",
            action="append",
            choices=["BTC", "ETH"],
            type=str.upper,
            help="repeat for several (default HARVEST_CURRENCIES)",
        )
        parser.add_argument(
            "--out", type=Path, default=None, help="snapshot store (default <data dir>/harvest)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        config = exchange_client_config(authenticated=False)
        root = options["out"] or harvest_dir()
        report = chains_harvest_run(
            currencies=options["currency"] or list(settings.HARVEST_CURRENCIES), root=root, config=config
        )
        self.stdout.write(f"harvest from {config.http_url} into {root}")
        for r in report.results:
            if r.error:
                self.stdout.write(self.style.ERROR(f"  {r.currency}: {r.error}"))
                continue
            self.stdout.write(
                f"  {r.currency}: {r.rows} options at {r.timestamp:%Y-%m-%d %H:%M:%S} UTC -> {r.path}"
            )
            if r.quality is not None and not r.quality.ok:
                self.stdout.write(self.style.WARNING(f"    problems: {'; '.join(r.quality.problems)}"))
        if not report.ok:
            raise CommandError("the harvest failed for some currencies")
