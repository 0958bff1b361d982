"""Market snapshots: what one tick saw, kept compactly enough to replay its decisions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    import pandas as pd

    from trading.marketdata.quality import SnapshotQuality


class MarketSnapshot(models.Model):
    """One currency's option chain at one time, with the index, DVOL and a quality verdict.

    The rows are a snapshot frame (``trading.marketdata.frame``) stored as zstd-compressed Parquet
    in ``rows`` (about 60 bytes an option); :meth:`frame` gives the DataFrame back.
    """

    class Source(models.TextChoices):
        BOOK_SUMMARY = "book_summary", "Deribit book summary"
        HARVEST = "harvest", "Harvested file"
        TARDIS = "tardis", "Tardis options_chain"
        SVCJ = "svcj", "SVCJ snapshot file"

    class RowsFormat(models.TextChoices):
        PARQUET = "parquet", "Parquet (zstd)"
        PRUNED = "pruned", "Rows deleted to save space"

    currency = models.CharField(max_length=8)
    taken_at = models.DateTimeField(help_text="When the agent took the snapshot (its own clock), UTC.")
    data_timestamp = models.DateTimeField(help_text="The exchange's time of the data, UTC.")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.BOOK_SUMMARY)
    environment = models.CharField(
        max_length=16, blank=True, help_text="emulator, testnet or mainnet; empty for files."
    )
    index_price = models.DecimalField(
        max_digits=20, decimal_places=8, null=True, blank=True, help_text="Spot index, USD."
    )
    dvol = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, help_text="DVOL, vol points."
    )
    row_count = models.PositiveIntegerField(default=0, help_text="Options in the snapshot.")
    history_known = models.BooleanField(
        default=False,
        help_text="The agent's tick recorded the daily history below (empty values: it had none either).",
    )
    realized_vol = models.FloatField(
        null=True, blank=True, help_text="Trailing realised vol the tick used, decimal."
    )
    dvol_before = models.FloatField(null=True, blank=True, help_text="DVOL a day earlier, vol points.")
    index_high = models.FloatField(null=True, blank=True, help_text="Highest index over 30 days, USD.")
    quality_ok = models.BooleanField(default=False)
    problems = models.JSONField(default=list, blank=True, help_text="Why the data is unfit to trade on.")
    warnings = models.JSONField(default=list, blank=True)
    rows_format = models.CharField(max_length=16, choices=RowsFormat.choices, default=RowsFormat.PARQUET)
    rows = models.BinaryField(editable=False)
    rows_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-taken_at", "currency"]
        get_latest_by = "taken_at"
        indexes = [models.Index(fields=["currency", "-taken_at"], name="marketsnap_currency_taken")]

    def __str__(self) -> str:
        verdict = "ok" if self.quality_ok else "problems"
        return f"{self.currency} {self.taken_at:%Y-%m-%d %H:%M:%S} ({self.row_count} options, {verdict})"

    def frame(self) -> pd.DataFrame:
        """The snapshot frame (columns and units in ``trading.marketdata.frame.SNAPSHOT_COLUMNS``)."""
        from trading.marketdata.frame import frame_from_parquet_bytes

        if self.rows_format != self.RowsFormat.PARQUET:
            raise ValueError(f"the rows of snapshot {self.pk} were pruned; only its summary is kept")
        return frame_from_parquet_bytes(bytes(self.rows))

    @property
    def quality(self) -> SnapshotQuality:
        from trading.marketdata.quality import SnapshotQuality

        return SnapshotQuality(problems=list(self.problems), warnings=list(self.warnings))
