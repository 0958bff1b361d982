"""Run the emulator: ``python -m trading.exchange.emulator --port 8765 --source synthetic|replay:PATH``.

With ``--state PATH`` the exchange (accounts, positions, orders, trades, ids, settlements, the
market and the clock) is kept in that file and resumed from it on the next start: the market
then comes from the file, not from --source/--seed/--start. It prints one line when it serves,
and on SIGINT/SIGTERM saves and exits with status 0. A damaged state file stops it with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

from trading.exchange.emulator.accounting import AccountConfig
from trading.exchange.emulator.clock import AcceleratedClock, ms_from_datetime
from trading.exchange.emulator.market import MarketSource
from trading.exchange.emulator.persistence import StateFileError, describe_source, market_summary
from trading.exchange.emulator.server import DeribitEmulator
from trading.exchange.emulator.sources.replay import ReplaySource
from trading.exchange.emulator.sources.synthetic import SyntheticConfig, SyntheticSource

log = logging.getLogger("trading.exchange.emulator")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m trading.exchange.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--source",
        default=None,
        help="synthetic (default) | quant[:DAYS] (trading.quant.synthetic) | replay:PATH (csv.gz, folder)",
    )
    parser.add_argument(
        "--start",
        default=None,
        help="ISO start time (UTC); default now (synthetic) or first snapshot (replay)",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="clock speed (1 = real time)")
    parser.add_argument("--seed", type=int, default=None, help=f"default {SyntheticConfig().seed}")
    parser.add_argument("--client-id", default="emulator-client")
    parser.add_argument("--client-secret", default="emulator-secret")
    parser.add_argument("--btc", type=float, default=10.0, help="funded BTC balance (new accounts)")
    parser.add_argument("--eth", type=float, default=100.0, help="funded ETH balance (new accounts)")
    parser.add_argument("--token-lifetime", type=int, default=900, help="access token lifetime in seconds")
    parser.add_argument("--state", default=None, metavar="PATH", help="state file to resume from and keep")
    parser.add_argument(
        "--state-fsync",
        action="store_true",
        help="fsync every save (survives a power cut, not only a crash; slower order entry)",
    )
    return parser.parse_args(argv)


def _new_source(args: argparse.Namespace, start_ms: int | None) -> MarketSource:
    spec = args.source or "synthetic"
    seed = args.seed if args.seed is not None else SyntheticConfig().seed
    if spec.startswith("replay:"):
        return ReplaySource(spec.removeprefix("replay:"))
    if spec.startswith("quant"):
        from trading.exchange.emulator.sources.quant import QuantSourceConfig, QuantSyntheticSource

        days = int(spec.partition(":")[2] or 30)
        start = start_ms if start_ms is not None else int(time.time() * 1000)
        return QuantSyntheticSource(QuantSourceConfig(start_ms=start, days=days, seed=seed))
    if spec == "synthetic":
        start = start_ms if start_ms is not None else int(time.time() * 1000)
        return SyntheticSource(SyntheticConfig(seed=seed, start_ms=start))
    raise SystemExit(f"unknown --source {spec!r}")


def build(args: argparse.Namespace) -> DeribitEmulator:
    """The emulator the arguments describe; with an existing ``--state`` file, its market and
    clock (run on at ``--speed`` from where the saved clock would be now)."""
    source: MarketSource | None = None
    clock: AcceleratedClock | None = None
    if args.state and Path(args.state).exists():
        if args.source or args.seed is not None or args.start:
            log.warning("--source/--seed/--start ignored: resuming the market saved in %s", args.state)
    else:
        start_ms = ms_from_datetime(datetime.fromisoformat(args.start)) if args.start else None
        source = _new_source(args, start_ms)
        begin = start_ms if start_ms is not None else source.start_ms()
        assert begin is not None
        clock = AcceleratedClock(begin, args.speed)
    account = AccountConfig(
        client_id=args.client_id,
        client_secret=args.client_secret,
        balances={"BTC": args.btc, "ETH": args.eth},
    )
    return DeribitEmulator(
        source=source,
        clock=clock,
        accounts=[account],
        host=args.host,
        port=args.port,
        token_lifetime_s=args.token_lifetime,
        state_path=args.state,
        state_fsync=args.state_fsync,
        clock_speed=args.speed,
    )


async def _serve(emulator: DeribitEmulator) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with emulator:
        line = f"Deribit emulator on {emulator.base_url} (HTTP {emulator.http_url}, WS {emulator.ws_url})"
        if emulator.state is not None:
            market = market_summary(describe_source(emulator.source))
            line += f", state {emulator.state.store.path} ({market})"
        print(line, flush=True)
        await stop.wait()
        log.info("stopping")
    if emulator.state is not None:
        log.info("state saved to %s", emulator.state.store.path)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        emulator = build(_parse(argv))
    except StateFileError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    asyncio.run(_serve(emulator))


if __name__ == "__main__":
    main()
