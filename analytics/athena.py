"""Athena DDL and example queries for the archive and the dead letters: pure text generation.

The tables' columns and ``avro.schema.literal`` come from the published archive schemas, so the
DDL cannot drift from what the worker writes. Partition projection on ``dt`` (a date) and
``hour`` (00-23) maps partitions straight to the worker's key layout, so no ``MSCK REPAIR
TABLE`` or Glue crawler is ever needed. Athena runs DDL in Hive's dialect and views and queries
in Trino's; each statement says which.

Compaction (:mod:`analytics.compaction`) writes closed hours to Parquet under ``compacted/``;
``events_compacted`` reads them and ``events_unique`` reads each hour from exactly one side: the
Parquet where the hour's compacted object exists, the de-duplicated Avro where it does not. The
Parquet objects are their own manifest (one object per hour, created atomically), so no hour is
counted twice and none is lost while a compactor runs.

Timestamps: the Avro files carry ``timestamp-millis`` longs. The tables read them as ``bigint``
(epoch milliseconds; the schema literal drops the logical type so every engine version agrees)
and the view adds ``*_ts`` timestamp columns next to them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import schemas
from foundation.errors import ConfigError

HIVE = "hive"
TRINO = "trino"
#: a report counts as late when it reached Kinesis this long after the elf observed it
DEFAULT_LATE_AFTER_MS = 5 * 60 * 1000
#: the archived event's own columns, as the view lists them
_COLUMNS = """event_id, kid_id, elf_id, behaviour, observed_at, note, location, app_version,
  schema_fingerprint, shard_id, sequence_number, subsequence_number, partition_key, arrived_at"""
#: the last day partition projection considers: a day past now, because an event's ``dt`` is its
#: ``observed_at``, which the worker accepts up to ``max_future_skew_ms`` (at most one day, see
#: consumer.config.MAX_FUTURE_SKEW_LIMIT_MS) past its arrival; ``NOW`` alone would hide the events of
#: a phone a few minutes fast around midnight until the day turned
PROJECTION_END = "NOW+1DAYS"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True, kw_only=True)
class AthenaNames:
    """Where the DDL points: the Glue database, table names, the bucket and the first day."""

    bucket: str
    database: str = "nicelist"
    events_table: str = "events"
    compacted_table: str = "events_compacted"
    dead_letter_table: str = "dead_letters"
    unique_view: str = "events_unique"
    #: first day partition projection considers (``yyyy-MM-dd``); queries before it see nothing
    first_day: str = "2024-12-01"
    late_after_ms: int = DEFAULT_LATE_AFTER_MS

    def __post_init__(self) -> None:
        for name in ("database", "events_table", "compacted_table", "dead_letter_table", "unique_view"):
            if not _IDENTIFIER.match(getattr(self, name)):
                raise ConfigError(name, "must be a lower-case Athena identifier ([a-z_][a-z0-9_]*)")
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", self.first_day):
            raise ConfigError("first_day", "must be yyyy-MM-dd")
        if not self.bucket or "/" in self.bucket or "'" in self.bucket:
            raise ConfigError("bucket", "must be a bucket name")
        if self.late_after_ms <= 0:
            raise ConfigError("late_after_ms", "must be positive")


@dataclass(frozen=True, kw_only=True)
class Statement:
    title: str
    sql: str
    #: the dialect Athena runs it in: ``hive`` for DDL, ``trino`` for views and queries
    dialect: str
    #: examples only: the name ``nicelist query --example`` knows it by
    name: str | None = None


def _strip_for_literal(schema: Any) -> Any:
    """The schema without docs and logical types (those read as plain longs)."""
    if isinstance(schema, dict):
        stripped = {k: _strip_for_literal(v) for k, v in schema.items() if k not in ("doc", "logicalType")}
        return stripped
    if isinstance(schema, list):
        return [_strip_for_literal(v) for v in schema]
    return schema


def hive_type(avro: Any) -> str:
    """The Hive column type Athena's AvroSerDe reads an Avro type as."""
    if isinstance(avro, list):
        branches = [b for b in avro if b != "null"]
        if len(branches) != 1:
            raise ConfigError("schema", f"only [null, T] unions map to Athena columns, got {avro}")
        return hive_type(branches[0])
    if isinstance(avro, dict):
        kind = avro["type"]
        if kind == "record":
            return "struct<" + ",".join(f"{f['name']}:{hive_type(f['type'])}" for f in avro["fields"]) + ">"
        if kind == "enum":
            return "string"
        if kind == "array":
            return f"array<{hive_type(avro['items'])}>"
        if kind == "map":
            return f"map<string,{hive_type(avro['values'])}>"
        return hive_type(kind)
    simple = {
        "string": "string",
        "long": "bigint",
        "int": "int",
        "double": "double",
        "float": "float",
        "boolean": "boolean",
        "bytes": "binary",
    }
    if avro not in simple:
        raise ConfigError("schema", f"no Athena column type for Avro {avro!r}")
    return simple[avro]


def _external_table(
    names: AthenaNames, table: str, schema: dict[str, Any], prefix: str, comment: str, *, parquet: bool = False
) -> Statement:
    literal = json.dumps(_strip_for_literal(schema), separators=(",", ":"))
    if "'" in literal:
        raise ConfigError("schema", "an apostrophe in the schema would break the DDL string")
    columns = ",\n".join(f"  `{f['name']}` {hive_type(f['type'])}" for f in schema["fields"])
    location = f"s3://{names.bucket}/{prefix}"
    if parquet:
        storage = "STORED AS PARQUET"
        extra = "\n  'parquet.compression'='ZSTD',"
    else:
        storage = f"""ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.avro.AvroSerDe'
WITH SERDEPROPERTIES ('avro.schema.literal'='{literal}')
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat'"""
        extra = ""
    sql = f"""CREATE EXTERNAL TABLE IF NOT EXISTS {names.database}.{table} (
{columns}
)
COMMENT '{comment}'
PARTITIONED BY (`dt` string, `hour` string)
{storage}
LOCATION '{location}'
TBLPROPERTIES ({extra}
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='{names.first_day},{PROJECTION_END}',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'projection.hour.type'='integer',
  'projection.hour.range'='0,23',
  'projection.hour.digits'='2',
  'storage.location.template'='{location}dt=${{dt}}/hour=${{hour}}/'
)"""
    return Statement(title=f"table {names.database}.{table}", sql=sql, dialect=HIVE)


def statements(names: AthenaNames) -> list[Statement]:
    """Every statement, in the order to run them."""
    return [*_tables(names), _unique_view(names), *_example_queries(names)]


def _tables(names: AthenaNames) -> list[Statement]:
    """The database, then the tables of the Avro events, the dead letters and the compacted Parquet."""
    archived = schemas.latest(schemas.ARCHIVED_EVENT).schema
    dead = schemas.latest(schemas.DEAD_LETTER).schema
    db = names.database
    return [
        Statement(title=f"database {db}", sql=f"CREATE DATABASE IF NOT EXISTS {db}", dialect=HIVE),
        _external_table(names, names.events_table, archived, "events/", "every behaviour event the workers archived"),
        _external_table(
            names, names.dead_letter_table, dead, "dead-letter/", "Kinesis records the workers could not decode"
        ),
        _external_table(
            names,
            names.compacted_table,
            archived,
            "compacted/",
            "closed hours of events, one row per event_id, compacted to Parquet by nicelist compact",
            parquet=True,
        ),
    ]


def _unique_view(names: AthenaNames) -> Statement:
    """The view of one row per event, each hour read from one side (compacted Parquet or Avro)."""
    events = f"{names.database}.{names.events_table}"
    compacted = f"{names.database}.{names.compacted_table}"
    unique = f"{names.database}.{names.unique_view}"
    return Statement(
        title=(
            f"view {unique}: one row per event_id (a producer re-send is a second Kinesis record; the latest "
            "arrival is kept), each hour read from its compacted Parquet if it exists, else from the Avro"
        ),
        dialect=TRINO,
        sql=f"""CREATE OR REPLACE VIEW {unique} AS
SELECT
  {_COLUMNS},
  from_unixtime(observed_at / 1000e0) AS observed_ts,
  from_unixtime(arrived_at / 1000e0) AS arrived_ts,
  dt, hour
FROM {compacted}
UNION ALL
SELECT
  {_COLUMNS},
  from_unixtime(observed_at / 1000e0) AS observed_ts,
  from_unixtime(arrived_at / 1000e0) AS arrived_ts,
  dt, hour
FROM (
  SELECT e.*, row_number() OVER (
    PARTITION BY event_id
    ORDER BY arrived_at DESC, shard_id DESC, length(sequence_number) DESC, sequence_number DESC,
      subsequence_number DESC
  ) AS copy
  FROM {events} AS e
  WHERE NOT EXISTS (SELECT 1 FROM {compacted} AS c WHERE c.dt = e.dt AND c.hour = e.hour)
)
WHERE copy = 1""",
    )


def _example_queries(names: AthenaNames) -> list[Statement]:
    """The example queries, each with the name ``nicelist query --example`` knows it by."""
    db = names.database
    unique = f"{db}.{names.unique_view}"
    late = names.late_after_ms
    return [
        Statement(
            title="example: naughty and nice reports per day (December)",
            name="per-day",
            dialect=TRINO,
            sql=f"""SELECT
  date(observed_ts) AS day,
  count_if(behaviour = 'NAUGHTY') AS naughty,
  count_if(behaviour = 'NICE') AS nice
FROM {unique}
WHERE dt BETWEEN '2025-12-01' AND '2025-12-31'
GROUP BY 1
ORDER BY 1""",
        ),
        Statement(
            title=f"example: late reports per hour (reached Kinesis more than {late // 1000} s after observation)",
            name="late",
            dialect=TRINO,
            sql=f"""SELECT
  date_trunc('hour', arrived_ts) AS arrival_hour,
  count(*) AS reports,
  count_if(arrived_at - observed_at > {late}) AS late,
  approx_percentile(arrived_at - observed_at, 0.99) AS p99_delay_ms
FROM {unique}
WHERE dt >= date_format(current_date - INTERVAL '1' DAY, '%Y-%m-%d')
GROUP BY 1
ORDER BY 1""",
        ),
        Statement(
            title="example: busiest elves",
            name="busiest-elves",
            dialect=TRINO,
            sql=f"""SELECT elf_id, count(*) AS reports, count(DISTINCT kid_id) AS kids
FROM {unique}
GROUP BY elf_id
ORDER BY reports DESC, elf_id
LIMIT 20""",
        ),
        Statement(
            title="example: the list as the archive says it is (compare with the DynamoDB table)",
            name="the-list",
            dialect=TRINO,
            sql=f"""SELECT kid_id, behaviour, observed_ts, event_id, elf_id
FROM (
  SELECT u.*, row_number() OVER (PARTITION BY kid_id ORDER BY observed_at DESC, event_id DESC) AS rank
  FROM {unique} AS u
)
WHERE rank = 1""",
        ),
        Statement(
            title="example: dead letters per reason",
            name="dead-letters",
            dialect=TRINO,
            sql=f"""SELECT reason, count(*) AS records, min(from_unixtime(failed_at / 1000e0)) AS first_seen
FROM {db}.{names.dead_letter_table}
GROUP BY reason
ORDER BY records DESC""",
        ),
    ]


def examples(names: AthenaNames) -> dict[str, Statement]:
    """The example queries by name."""
    return {s.name: s for s in statements(names) if s.name}


def render(found: list[Statement]) -> str:
    """The statements as one SQL script with a comment line above each."""
    parts = [f"-- {s.title} [{'Hive DDL' if s.dialect == HIVE else 'Trino'}]\n{s.sql};\n" for s in found]
    return "\n".join(parts)
