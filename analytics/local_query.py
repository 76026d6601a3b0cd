"""The Athena SQL, run on a laptop: DuckDB over the archive of any S3 endpoint.

The archive's objects are fetched with the S3 client given (so the embedded stack, MinIO or AWS
all work, and DuckDB needs no httpfs extension), read into Arrow tables named like the Athena
tables (``nicelist.events`` from the Avro, ``nicelist.events_compacted`` from the Parquet,
``nicelist.dead_letters``), each with its ``dt`` and ``hour`` partition columns. The views are
the very statements ``nicelist athena-ddl`` prints, and every statement is transpiled from
Trino to DuckDB by sqlglot, so a query that works here is the query Athena runs.

Everything is held in memory: this is for the archive of a demo or of one day, not a season.

It reads the archive and nothing else. An object that is not an archive file (empty,
truncated, not Avro, a foreign schema) is skipped and listed in ``bad_objects``: it adds no
rows. :meth:`LocalAthena.run_sql` takes one SELECT (or WITH ... SELECT, or a UNION of them) and
nothing else (checked on the Trino text by sqlglot and on the DuckDB text by DuckDB's own
parser), and once the archive is loaded the database runs with ``enable_external_access``
off and its configuration locked: ``read_csv('/etc/passwd')``, ``COPY ... TO``, ``ATTACH``,
``INSTALL`` and ``LOAD`` are refused by DuckDB itself, whatever the statement looks like.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import schemas
from foundation.avro_objects import BadObject

from .athena import TRINO, AthenaNames, statements
from .compaction import (
    COMPACTED_PREFIX,
    DEAD_LETTER_PREFIX,
    EVENTS_PREFIX,
    Hour,
    arrow_schema,
    arrow_table,
    readable_rows,
)
from .errors import AnalyticsError
from .s3_objects import fetch_objects, listing

log = logging.getLogger(__name__)

#: DuckDB settings applied once the archive is loaded (the lock keeps a statement from undoing them)
LOCKDOWN = ("SET enable_external_access = false", "SET lock_configuration = true")


class QueryRefusedError(AnalyticsError, ValueError):
    """The statement is not one SELECT (or WITH ... SELECT), or it reached outside the archive."""


@dataclass(frozen=True, kw_only=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def render(self, *, max_rows: int = 50) -> list[str]:
        """The result as an aligned text table."""
        shown = [[_cell(v) for v in row] for row in self.rows[:max_rows]]
        widths = [max([len(c)] + [len(r[i]) for r in shown]) for i, c in enumerate(self.columns)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in shown]
        more = len(self.rows) - len(shown)
        lines.append(f"({len(self.rows)} rows{f', {more} not shown' if more > 0 else ''})")
        return lines


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _with_partition(table: Any, hour: Hour) -> Any:
    import pyarrow as pa

    n = table.num_rows
    table = table.append_column("dt", pa.array([hour.dt] * n, pa.string()))
    return table.append_column("hour", pa.array([hour.hour] * n, pa.string()))


def _empty(schema: Any) -> Any:
    import pyarrow as pa

    schema = schema.append(pa.field("dt", pa.string())).append(pa.field("hour", pa.string()))
    return schema.empty_table()


def _concat(parts: list[Any], schema: Any) -> Any:
    import pyarrow as pa

    return pa.concat_tables(parts) if parts else _empty(schema)


def load_tables(
    s3: Any,
    bucket: str,
    *,
    window: int = 8,
    first_day: str | None = None,
    last_day: str | None = None,
    bad: list[BadObject] | None = None,
) -> dict[str, Any]:
    """``{table name: Arrow table}`` of the archive: the Avro events, the compacted Parquet and
    the dead letters, each with ``dt`` and ``hour``; only the days from ``first_day`` to
    ``last_day`` (``yyyy-MM-dd``, both included) when given. Objects that are not archive
    files are skipped and appended to ``bad``."""
    skipped: list[BadObject] = bad if bad is not None else []
    import pyarrow as pa
    import pyarrow.parquet as pq

    def hour_keys(prefix: str, suffix: str) -> list[tuple[str, Hour]]:
        found = []
        for key in listing(s3, bucket, prefix):
            hour = Hour.of_key(key)
            if hour is None or not key.endswith(suffix):
                continue
            if (first_day and hour.dt < first_day) or (last_day and hour.dt > last_day):
                continue
            found.append((key, hour))
        return found

    def avro_parts(keys: list[tuple[str, Hour]], schema_name: str) -> list[Any]:
        hours = dict(keys)
        objects = fetch_objects(s3, bucket, [k for k, _ in keys], window=window)
        return [
            _with_partition(arrow_table(rows, schema_name), hours[key])
            for key, rows in readable_rows(objects, skipped, schema_name)
        ]

    events_schema = arrow_schema()
    compacted = hour_keys(COMPACTED_PREFIX, ".parquet")
    hours = dict(compacted)
    parquet_parts = []
    for key, body in fetch_objects(s3, bucket, [k for k, _ in compacted], window=window):
        try:
            table = pq.read_table(pa.BufferReader(body)).cast(events_schema)
        except (pa.ArrowException, ValueError) as exc:
            skipped.append(BadObject(key, len(body), f"not a compacted Parquet file: {exc}"))
            continue
        parquet_parts.append(_with_partition(table, hours[key]))
    return {
        "events": _concat(avro_parts(hour_keys(EVENTS_PREFIX, ".avro"), schemas.ARCHIVED_EVENT), events_schema),
        "events_compacted": _concat(parquet_parts, events_schema),
        "dead_letters": _concat(
            avro_parts(hour_keys(DEAD_LETTER_PREFIX, ".avro"), schemas.DEAD_LETTER), arrow_schema(schemas.DEAD_LETTER)
        ),
    }


def to_duckdb(sql: str) -> str:
    """A Trino (Athena) statement in DuckDB's dialect; QueryRefusedError unless it is exactly
    one SELECT (or WITH ... SELECT, a UNION of SELECTs)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        parsed = [p for p in sqlglot.parse(sql, read=TRINO) if p is not None]
    except SqlglotError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise QueryRefusedError(f"not one Trino (Athena) SELECT statement: {first}") from exc
    if len(parsed) != 1:
        raise QueryRefusedError(f"give exactly one SELECT statement, not {len(parsed)} statements")
    statement = parsed[0]
    if not isinstance(statement, exp.Select | exp.SetOperation | exp.Subquery):
        raise QueryRefusedError(
            f"only SELECT (or WITH ... SELECT) reads the archive; refused a {statement.key.upper()} statement"
        )
    return statement.sql(dialect="duckdb")


def _ddl_to_duckdb(sql: str) -> str:
    """One of our own DDL statements (the Athena views) in DuckDB's dialect."""
    import sqlglot

    out: list[str] = sqlglot.transpile(sql, read=TRINO, write="duckdb")
    return out[0]


class LocalAthena:
    """A DuckDB database holding the archive's tables and the Athena views."""

    def __init__(self, tables: dict[str, Any], *, names: AthenaNames) -> None:
        import duckdb

        self.names = names
        self._db = duckdb.connect(":memory:")
        self._db.execute("SET TimeZone = 'UTC'")
        self._db.execute(f"CREATE SCHEMA {names.database}")
        table_names = {
            "events": names.events_table,
            "events_compacted": names.compacted_table,
            "dead_letters": names.dead_letter_table,
        }
        for key, arrow in tables.items():
            view = f"_arrow_{key}"
            self._db.register(view, arrow)
            self._db.execute(f"CREATE TABLE {names.database}.{table_names[key]} AS SELECT * FROM {view}")
            self._db.unregister(view)
        for statement in statements(names):
            if statement.dialect == TRINO and statement.name is None:
                self._db.execute(_ddl_to_duckdb(statement.sql))
        for setting in LOCKDOWN:
            self._db.execute(setting)
        #: objects skipped while loading (not archive files)
        self.bad_objects: list[BadObject] = []

    @classmethod
    def from_s3(
        cls,
        s3: Any,
        bucket: str,
        *,
        names: AthenaNames | None = None,
        window: int = 8,
        first_day: str | None = None,
        last_day: str | None = None,
    ) -> LocalAthena:
        """The archive in ``bucket`` (the days from ``first_day`` to ``last_day`` when given)."""
        bad: list[BadObject] = []
        tables = load_tables(s3, bucket, window=window, first_day=first_day, last_day=last_day, bad=bad)
        athena = cls(tables, names=names or AthenaNames(bucket=bucket))
        athena.bad_objects = bad
        return athena

    def run_sql(self, sql: str) -> QueryResult:
        """Run one Trino (Athena) SELECT; QueryRefusedError for anything else, or for a SELECT
        that reaches outside the archive (a file, a database, an extension)."""
        import duckdb

        duck = to_duckdb(sql)
        kinds = [s.type for s in self._db.extract_statements(duck)]
        if kinds != [duckdb.StatementType.SELECT]:
            raise QueryRefusedError(f"only one SELECT reads the archive; DuckDB sees {[k.name for k in kinds]}")
        try:
            cursor = self._db.execute(duck)
        except duckdb.PermissionException as exc:
            first = str(exc).splitlines()[0]
            raise QueryRefusedError(f"refused: {first} (query reads the archive's tables only)") from exc
        columns = [d[0] for d in cursor.description or ()]
        return QueryResult(columns=columns, rows=[tuple(r) for r in cursor.fetchall()])

    def counts(self) -> dict[str, int]:
        """Rows per table and view."""
        db = self.names.database
        names: Iterable[str] = (
            self.names.events_table,
            self.names.compacted_table,
            self.names.dead_letter_table,
            self.names.unique_view,
        )
        return {n: int(self._db.execute(f"SELECT count(*) FROM {db}.{n}").fetchone()[0]) for n in names}  # type: ignore[index]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> LocalAthena:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
