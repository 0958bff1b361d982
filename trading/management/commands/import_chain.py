from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from django.core.management.base import BaseCommand, CommandError, CommandParser

from trading.marketdata.frame import SnapshotFrameError
from trading.marketdata.importers import FORMATS, chain_import
from trading.marketdata.services import chains_dir


def _step(text: str) -> pd.Timedelta:
    try:
        step = pd.Timedelta(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a duration like 1h, 15min or 30s") from None
    if step <= pd.Timedelta(0):
        raise CommandError(f"{text!r} must be positive")
    return step


class Command(BaseCommand):
    help = (
        "Import option-chain files (harvest Parquet, Tardis options_chain CSV(.gz), SVCJ snapshots) into the "
        "snapshot store, all or nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="files or folders")
        parser.add_argument("--format", default="auto", choices=FORMATS)
        parser.add_argument(
            "--currency",
            default=None,
            choices=["BTC", "ETH"],
            type=str.upper,
            help="import this currency only (default: all)",
        )
        parser.add_argument(
            "--into", type=Path, default=None, help="snapshot store (default <data dir>/chains)"
        )
        parser.add_argument(
            "--every", default="1h", help="Tardis: one snapshot per this step (1h, 15min, 30s)"
        )
        parser.add_argument(
            "--max-age",
            default=None,
            help="Tardis: leave out quotes older than this (default the larger of --every and 10min)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        into = options["into"] or chains_dir()
        try:
            report = chain_import(
                paths=options["paths"],
                into=into,
                fmt=options["format"],
                currency=options["currency"],
                every=_step(options["every"]),
                max_age=_step(options["max_age"]) if options["max_age"] else None,
            )
        except SnapshotFrameError as exc:
            raise CommandError(f"nothing imported: {exc}") from exc
        kinds = sorted(set(report.formats.values()))
        n = len(report.formats)
        self.stdout.write(f"read {n} file{'s' if n != 1 else ''} ({', '.join(kinds)}) into {into}")
        for line in report.summary():
            self.stdout.write(f"  {line}")
        for note in report.notes:
            self.stdout.write(f"  note: {note}")
        written = len(report.written)
        self.stdout.write(f"  {written} day file{'s' if written != 1 else ''} written")
