"""Download Tardis.dev ``options_chain`` day files for Deribit with the ``tardis-dev`` client.

Files land as ``deribit_options_chain_YYYY-MM-DD_OPTIONS.csv.gz`` (the client's default name) and
are imported with ``import_chain``. Without an API key Tardis serves only the first day of each
month, so only those days are asked for. The ``tardis-dev`` package is needed only here.
"""

from __future__ import annotations

import gzip
import urllib.error
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

__all__ = ["TardisDownload", "TardisDownloadError", "tardis_chain_download"]

EXCHANGE = "deribit"
DATA_TYPE = "options_chain"
SYMBOL = "OPTIONS"


class TardisDownloadError(RuntimeError):
    """A download that could not be done; the message says which day and why."""


@dataclass
class TardisDownload:
    """The files now on disk, the days left out for want of a key, and the days without data."""

    paths: list[Path] = field(default_factory=list)
    skipped_days: list[date] = field(default_factory=list)
    empty_days: list[date] = field(default_factory=list)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _is_empty_gzip(path: Path) -> bool:
    with gzip.open(path, "rb") as fh:
        return not fh.read(1)


def tardis_chain_download(
    *,
    start: date,
    end: date,
    download_dir: Path | str,
    api_key: str = "",
    endpoint: str | None = None,
    concurrency: int = 4,
) -> TardisDownload:
    """Download the Deribit ``options_chain`` files of ``start``..``end`` (inclusive).

    Without ``api_key`` only first-of-month days are requested (the others are listed in
    ``skipped_days``); raises :class:`TardisDownloadError` if that leaves nothing. ``endpoint``
    replaces Tardis's datasets URL (mirrors, tests). Files already present are not fetched again.
    """
    try:
        from tardis_dev import default_file_name, download_datasets
    except ImportError:  # pragma: no cover - depends on the installation
        raise TardisDownloadError("the tardis-dev package is not installed: pip install tardis-dev") from None
    if end < start:
        raise TardisDownloadError(f"the end {end} is before the start {start}")
    days = _days(start, end)
    result = TardisDownload()
    if not api_key:
        result.skipped_days = [d for d in days if d.day != 1]
        days = [d for d in days if d.day == 1]
        if not days:
            raise TardisDownloadError(
                f"TARDIS_API_KEY is not set and no day from {start} to {end} is the first of a month: "
                "without a key Tardis serves only first-of-month days"
            )
    folder = Path(download_dir)
    folder.mkdir(parents=True, exist_ok=True)
    options: dict[str, object] = {"api_key": api_key, "download_dir": str(folder), "concurrency": concurrency}
    if endpoint:
        options["endpoint"] = endpoint.rstrip("/")
    # with a key one call covers the range; without, one call per first-of-month day
    ranges = [(start, end)] if api_key else [(d, d) for d in days]
    for lo, hi in ranges:
        try:
            download_datasets(
                exchange=EXCHANGE,
                data_types=[DATA_TYPE],
                symbols=[SYMBOL],
                from_date=lo.isoformat(),
                to_date=(hi + timedelta(days=1)).isoformat(),
                **options,
            )
        except urllib.error.HTTPError as exc:
            hint = (
                " (an API key is needed for days other than the first of a month)"
                if exc.code in (401, 403)
                else ""
            )
            raise TardisDownloadError(
                f"Tardis refused {lo}..{hi}: HTTP {exc.code} {str(exc.msg)[:200]}{hint}"
            ) from None
    for d in days:
        name = default_file_name(EXCHANGE, DATA_TYPE, datetime(d.year, d.month, d.day), SYMBOL, "csv")  # noqa: DTZ001
        path = folder / name
        if not path.exists():
            raise TardisDownloadError(f"{path} is missing after the download of {d}")
        if _is_empty_gzip(path):
            result.empty_days.append(d)
        else:
            result.paths.append(path)
    return result
