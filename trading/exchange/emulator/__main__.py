"""Run the emulator: ``python -m trading.exchange.emulator --port 8765 --source synthetic|replay:PATH``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import time
from datetime import datetime

from trading.exchange.emulator.accounting import AccountConfig
from trading.exchange.emulator.clock import AcceleratedClock, ms_from_datetime
from trading.exchange.emulator.market import MarketSource
from trading.exchange.emulator.server import DeribitEmulator
from trading.exchange.emulator.sources.replay import ReplaySource
from trading.exchange.emulator.sources.synthetic import SyntheticConfig, SyntheticSource


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m trading.exchange.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--source",
        default="synthetic",
        help="synthetic | quant[:DAYS] (trading.quant.synthetic) | replay:PATH (csv.gz file or folder)",
    )
    parser.add_argument(
        "--start",
        default=None,
        help="ISO start time (UTC); default now (synthetic) or first snapshot (replay)",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="clock speed (1 = real time)")
    parser.add_argument("--seed", type=int, default=SyntheticConfig().seed)
    parser.add_argument("--client-id", default="emulator-client")
    parser.add_argument("--client-secret", default="emulator-secret")
    parser.add_argument("--btc", type=float, default=10.0, help="funded BTC balance")
    parser.add_argument("--eth", type=float, default=100.0, help="funded ETH balance")
    parser.add_argument("--token-lifetime", type=int, default=900, help="access token lifetime in seconds")
    return parser.parse_args(argv)


def build(args: argparse.Namespace) -> DeribitEmulator:
    start_ms: int | None = ms_from_datetime(datetime.fromisoformat(args.start)) if args.start else None
    source: MarketSource
    if args.source.startswith("replay:"):
        source = ReplaySource(args.source.removeprefix("replay:"))
    elif args.source.startswith("quant"):
        from trading.exchange.emulator.sources.quant import QuantSourceConfig, QuantSyntheticSource

        days = int(args.source.partition(":")[2] or 30)
        start = start_ms if start_ms is not None else int(time.time() * 1000)
        source = QuantSyntheticSource(QuantSourceConfig(start_ms=start, days=days, seed=args.seed))
    elif args.source == "synthetic":
        start = start_ms if start_ms is not None else int(time.time() * 1000)
        source = SyntheticSource(SyntheticConfig(seed=args.seed, start_ms=start))
    else:
        raise SystemExit(f"unknown --source {args.source!r}")
    begin = start_ms if start_ms is not None else source.start_ms()
    assert begin is not None
    account = AccountConfig(
        client_id=args.client_id,
        client_secret=args.client_secret,
        balances={"BTC": args.btc, "ETH": args.eth},
    )
    return DeribitEmulator(
        source=source,
        clock=AcceleratedClock(begin, args.speed),
        accounts=[account],
        host=args.host,
        port=args.port,
        token_lifetime_s=args.token_lifetime,
    )


async def _serve(emulator: DeribitEmulator) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with emulator:
        print(
            f"Deribit emulator on {emulator.base_url} (HTTP {emulator.http_url}, WS {emulator.ws_url})",
            flush=True,
        )
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_serve(build(_parse(argv))))


if __name__ == "__main__":
    main()
