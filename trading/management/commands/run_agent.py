from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from trading.agent.tick import agent_tick_run


class Command(BaseCommand):
    help = "Run the agent's tick by hand: once, or in a loop without Celery."

    def add_arguments(self, parser: Any) -> None:
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--once", action="store_true", help="run one tick and exit")
        mode.add_argument("--loop", action="store_true", help="run ticks until Ctrl-C")
        parser.add_argument(
            "--every",
            type=float,
            default=None,
            help="seconds between ticks with --loop (default AGENT_TICK_SECONDS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        every = options["every"] or settings.AGENT_TICK_SECONDS
        while True:
            tick = agent_tick_run()
            duration = f"{tick.duration_ms:.0f} ms" if tick.duration_ms is not None else "?"
            self.stdout.write(f"tick {tick.pk} {tick.status} in {duration}: {tick.message}")
            if options["once"]:
                if tick.status == tick.Status.FAILED:
                    raise SystemExit(1)
                return
            try:
                time.sleep(every)
            except KeyboardInterrupt:
                return
