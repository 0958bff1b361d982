"""Market data: the per-tick cost of a snapshot's frame and storage, and a bulk import.

Run: ``.venv/bin/python -m benchmarks.bench_marketdata`` (reads the real data from
``OPTIONSBOT_REAL_DATA`` or ``../shared/deribit_data``). Timings are wall-clock medians.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks.common import median_ms, real_data_dir
from trading.marketdata.frame import frame_from_parquet_bytes, frame_to_parquet_bytes, validate_snapshot_frame
from trading.marketdata.importers import chain_files, chain_import
from trading.marketdata.store import load_snapshots, snapshots_append
from trading.quant.candidates import chain_from_snapshot

SVCJ = Path("svcj_deribit_snapshots_2025_2026")


def bench_tick(path: Path) -> None:
    raw = pd.read_csv(path).rename(columns={"underlying_name": "underlying_index"})
    raw = raw[raw["currency"] == "BTC"].reset_index(drop=True)
    frame = validate_snapshot_frame(raw, source_name=str(path))
    blob = frame_to_parquet_bytes(frame)
    print(
        f"one BTC snapshot: {len(frame)} options, stored in {len(blob) / 1024:.1f} KiB "
        f"({len(blob) / len(frame):.0f} bytes an option)"
    )
    print(f"  validate            {median_ms(lambda: validate_snapshot_frame(raw, source_name='x')):7.1f} ms")
    print(f"  to Parquet bytes    {median_ms(lambda: frame_to_parquet_bytes(frame)):7.1f} ms")
    print(f"  from Parquet bytes  {median_ms(lambda: frame_from_parquet_bytes(blob)):7.1f} ms")
    print(f"  chain_from_snapshot {median_ms(lambda: chain_from_snapshot(frame)):7.1f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        n = iter(range(10**6))
        hourly = median_ms(
            lambda: snapshots_append(
                root=tmp, frame=frame.assign(timestamp=frame["timestamp"] + pd.Timedelta(hours=next(n) % 24))
            ),
            repeat=24,
        )
        print(f"  append to a day file of up to 24 snapshots {hourly:7.1f} ms")


def bench_import(data: Path) -> None:
    files = chain_files([data / SVCJ / "daily_0915utc"])
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        report = chain_import(paths=files, into=tmp)
        took = time.perf_counter() - t0
        rows = sum(report.rows.values())
        print(f"import of {len(files)} SVCJ files ({rows} rows): {took:.1f} s, {rows / took:,.0f} rows/s")
        t0 = time.perf_counter()
        count = sum(1 for _ in load_snapshots(tmp, "BTC"))
        print(f"load_snapshots BTC: {count} snapshots in {time.perf_counter() - t0:.2f} s")


def main() -> None:
    data = real_data_dir()
    daily = sorted((data / SVCJ / "daily_0915utc").glob("*.csv.gz"))
    if not daily:
        print(f"no real data under {data}: set OPTIONSBOT_REAL_DATA")
        return
    bench_tick(daily[len(daily) // 2])
    bench_import(data)


if __name__ == "__main__":
    main()
