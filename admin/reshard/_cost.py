"""What the December scenario costs: pure arithmetic over :mod:`._prices`, no AWS.

The scenario: ``events`` behaviour events (the 1.8 billion updates) arrive within ``hours``, and the
stream is provisioned at the plan's shard count for ``provisioned_hours`` (default: the same
hours). Counted:

- Kinesis: shard-hours, and PUT payload units of the KPL aggregated records (25 KB chunks each);
- DynamoDB on-demand writes: one conditional write per kid per batch (``distinct_kid_ratio``
  writes per event after the per-kid collapse), ``write_statements_per_kid`` statements per such
  write (1, or up to 2 when an INSERT is refused and sent again as an UPDATE: a refused statement
  still consumes capacity), ``ceil(item / 1 KB)`` write units each, plus the
  KCL lease table: one checkpoint per archive file close and one lease renewal per shard every
  third of ``failoverTimeMillis``;
- S3 Standard: one PutObject per archive file (a file closes at ``archive_file_bytes`` of rows
  or after ``archive_file_age_s``, whichever comes first; one more per shard and hour partition),
  and the archive's storage for ``archive_retention_months``;
- Athena: ``athena_full_scans`` queries each scanning the whole scenario archive.

Left out as small or outside the plan: GetRecords (free in provisioned mode), S3 GETs by Athena,
the dead-letter prefix, CloudWatch, the KCL's other tables, EC2 for the workers, data transfer.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from admin.reshard._prices import (
    ATHENA_MIN_BYTES_PER_QUERY,
    GB,
    KINESIS_PUT_PAYLOAD_UNIT_BYTES,
    TB,
    Prices,
)
from foundation.limits import MiB

SECONDS_PER_HOUR = 3600
#: Bytes an archived row carries beyond the event itself, before compression: shard id (~20),
#: sequence number (56 digits), partition key (32), writer fingerprint (16), arrival time,
#: sub-sequence and Avro framing. With it, a 120-byte event makes a ~260-byte row, which is what
#: ``consumer.archive``'s own size estimate gave for 60,000 realistic rows (measured 2026-12-03).
ARCHIVE_ROW_METADATA_BYTES = 140
#: Stored (deflate Avro) bytes per estimated row byte: 77 B stored per 262 B estimated for
#: 60,000 rows with random event ids and partition keys (``consumer.archive.encode_rows``,
#: measured 2026-12-03 on this machine).
DEFAULT_ARCHIVE_COMPRESSION_RATIO = 0.30
#: The KCL's default ``failoverTimeMillis``; it renews each lease every third of it.
KCL_DEFAULT_FAILOVER_TIME_MS = 10_000
#: ``consumer.ProcessorConfig``'s defaults (a test keeps them equal)
DEFAULT_ARCHIVE_FILE_BYTES = 8 * MiB
DEFAULT_ARCHIVE_FILE_AGE_S = 30.0


@dataclass(frozen=True, kw_only=True)
class CostInputs:
    """What the cost needs beyond the capacity plan's inputs."""

    archive_file_bytes: int = DEFAULT_ARCHIVE_FILE_BYTES
    archive_file_age_s: float = DEFAULT_ARCHIVE_FILE_AGE_S
    archive_compression_ratio: float = DEFAULT_ARCHIVE_COMPRESSION_RATIO
    #: how long the December archive is kept in S3 Standard, in months
    archive_retention_months: float = 1.0
    #: Athena queries that each scan the whole scenario archive (reports, reconcile checks)
    athena_full_scans: int = 10
    kcl_failover_time_ms: int = KCL_DEFAULT_FAILOVER_TIME_MS
    #: hours the stream stays at the planned shard count (default: the scenario's hours)
    provisioned_hours: float | None = None
    prices: Prices = field(default_factory=Prices)

    def __post_init__(self) -> None:
        if self.archive_file_bytes < 1 or self.archive_file_age_s <= 0:
            raise ValueError("archive_file_bytes and archive_file_age_s must be positive")
        if not 0 < self.archive_compression_ratio <= 1:
            raise ValueError("archive_compression_ratio must be in (0, 1]")
        if self.archive_retention_months < 0 or self.athena_full_scans < 0:
            raise ValueError("archive_retention_months and athena_full_scans must not be negative")
        if self.kcl_failover_time_ms <= 0:
            raise ValueError("kcl_failover_time_ms must be positive")
        if self.provisioned_hours is not None and self.provisioned_hours <= 0:
            raise ValueError("provisioned_hours must be positive")


@dataclass(frozen=True, kw_only=True)
class ScenarioCost:
    region: str
    events: int
    hours: float
    provisioned_hours: float
    shards: int
    shard_hours: float
    aggregated_records: int
    put_payload_units: int
    kid_item_writes: float
    lease_table_writes: float
    write_request_units: float
    archive_file_close_s: float
    archive_files: int
    archive_bytes: float
    athena_bytes_scanned: float
    kinesis_shard_hours_usd: float
    kinesis_put_payload_units_usd: float
    dynamodb_writes_usd: float
    s3_put_requests_usd: float
    s3_storage_usd: float
    athena_usd: float
    lines: tuple[str, ...]

    @property
    def total_usd(self) -> float:
        return (
            self.kinesis_shard_hours_usd
            + self.kinesis_put_payload_units_usd
            + self.dynamodb_writes_usd
            + self.s3_put_requests_usd
            + self.s3_storage_usd
            + self.athena_usd
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["lines"] = list(self.lines)
        data["total_usd"] = self.total_usd
        return data


def write_units_per_item(item_bytes: int, unit_bytes: int) -> int:
    """Write request units one write of an ``item_bytes`` item costs."""
    return max(1, math.ceil(item_bytes / unit_bytes))


def scenario_cost(
    costs: CostInputs,
    *,
    shards: int,
    events: int,
    hours: float,
    event_bytes: int,
    events_per_aggregate: int,
    aggregate_data_bytes: float,
    distinct_kid_ratio: float,
    write_units_per_kid_write: int,
    write_statements_per_kid: float = 1.0,
) -> ScenarioCost:
    """The December bill for ``events`` within ``hours`` on ``shards`` shards."""
    p = costs.prices
    seconds = hours * SECONDS_PER_HOUR
    provisioned_hours = costs.provisioned_hours if costs.provisioned_hours is not None else hours

    shard_hours = shards * provisioned_hours
    aggregates = math.ceil(events / events_per_aggregate)
    units_per_aggregate = max(1, math.ceil(aggregate_data_bytes / KINESIS_PUT_PAYLOAD_UNIT_BYTES))
    payload_units = aggregates * units_per_aggregate

    row_bytes = event_bytes + ARCHIVE_ROW_METADATA_BYTES
    row_bytes_per_shard_s = events / seconds / shards * row_bytes
    close_s = min(costs.archive_file_age_s, costs.archive_file_bytes / row_bytes_per_shard_s)
    closes_per_shard = math.ceil(seconds / close_s)
    # a close writes one file per open hour partition: one more file per shard at each hour turn
    files = shards * (closes_per_shard + math.ceil(hours))
    archive_bytes = events * row_bytes * costs.archive_compression_ratio

    kid_writes = events * distinct_kid_ratio * write_statements_per_kid
    renewals = shards * seconds / (costs.kcl_failover_time_ms / 3 / 1000)
    checkpoints = shards * closes_per_shard
    lease_writes = renewals + checkpoints
    wru = kid_writes * write_units_per_kid_write + lease_writes

    scanned = costs.athena_full_scans * max(archive_bytes, ATHENA_MIN_BYTES_PER_QUERY)

    shard_usd = shard_hours * p.kinesis_shard_hour_usd
    payload_usd = payload_units / 1e6 * p.kinesis_put_payload_units_per_million_usd
    dynamodb_usd = wru / 1e6 * p.dynamodb_write_request_units_per_million_usd
    puts_usd = files / 1000 * p.s3_put_requests_per_thousand_usd
    storage_usd = archive_bytes / GB * costs.archive_retention_months * p.s3_gb_month_usd
    athena_usd = scanned / TB * p.athena_tb_scanned_usd

    total_usd = shard_usd + payload_usd + dynamodb_usd + puts_usd + storage_usd + athena_usd
    lines = (
        f"December scenario ({p.region} prices): {events:,} events in {hours:g} h on {shards} shards",
        f"  Kinesis shard-hours: {shards} x {provisioned_hours:g} h = {shard_hours:,.0f} x "
        f"${p.kinesis_shard_hour_usd} = ${shard_usd:,.2f}",
        f"  Kinesis PUT payload units: {aggregates:,} aggregated records of {events_per_aggregate} events "
        f"({aggregate_data_bytes:,.0f} B = {units_per_aggregate} x 25 KB units) = {payload_units:,} units x "
        f"${p.kinesis_put_payload_units_per_million_usd}/M = ${payload_usd:,.2f}",
        f"  DynamoDB on-demand writes: {kid_writes:,.0f} kid write statements x {write_units_per_kid_write} WRU "
        f"+ {lease_writes:,.0f} KCL lease-table writes (renewals, checkpoints) = {wru:,.0f} WRU x "
        f"${p.dynamodb_write_request_units_per_million_usd}/M = ${dynamodb_usd:,.2f}",
        f"  S3 PUT requests: a file per shard every {close_s:,.1f} s "
        f"(closes at {costs.archive_file_bytes / MiB:g} MiB of rows or {costs.archive_file_age_s:g} s) "
        f"= {files:,} files x ${p.s3_put_requests_per_thousand_usd}/1,000 = ${puts_usd:,.2f}",
        f"  S3 Standard storage: {events:,} rows x {row_bytes} B x {costs.archive_compression_ratio:g} (deflate) "
        f"= {archive_bytes / GB:,.1f} GB x {costs.archive_retention_months:g} month(s) x "
        f"${p.s3_gb_month_usd}/GB-month = ${storage_usd:,.2f}",
        f"  Athena: {costs.athena_full_scans} full scans x {archive_bytes / GB:,.1f} GB = "
        f"{scanned / TB:,.3f} TB x ${p.athena_tb_scanned_usd}/TB = ${athena_usd:,.2f}",
        f"  total: ${total_usd:,.2f}",
    )
    return ScenarioCost(
        region=p.region,
        events=events,
        hours=hours,
        provisioned_hours=provisioned_hours,
        shards=shards,
        shard_hours=shard_hours,
        aggregated_records=aggregates,
        put_payload_units=payload_units,
        kid_item_writes=kid_writes,
        lease_table_writes=lease_writes,
        write_request_units=wru,
        archive_file_close_s=close_s,
        archive_files=files,
        archive_bytes=archive_bytes,
        athena_bytes_scanned=scanned,
        kinesis_shard_hours_usd=shard_usd,
        kinesis_put_payload_units_usd=payload_usd,
        dynamodb_writes_usd=dynamodb_usd,
        s3_put_requests_usd=puts_usd,
        s3_storage_usd=storage_usd,
        athena_usd=athena_usd,
        lines=lines,
    )
