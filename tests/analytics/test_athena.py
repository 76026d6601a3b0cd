"""The Athena DDL parses in the dialects Athena runs it in and matches the archive schema."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import fastavro
import pytest
import sqlglot
from sqlglot import exp

import schemas
from analytics.athena import HIVE, TRINO, AthenaNames, hive_type, render, statements
from foundation.errors import ConfigError
from nicelist.cli import main
from tests.archive_fixtures import archived_row, avro_file

NAMES = AthenaNames(bucket="north-pole-archive")


def _literal(sql: str) -> str:
    match = re.search(r"'avro\.schema\.literal'='([^']*)'", sql)
    assert match, sql
    return match.group(1)


def test_every_statement_parses_in_its_athena_dialect() -> None:
    found = statements(NAMES)
    assert {s.dialect for s in found} == {HIVE, TRINO}
    for s in found:
        tree = sqlglot.parse_one(s.sql, read=s.dialect)
        assert not isinstance(tree, exp.Command), f"{s.title}: fell back to an unparsed command"
        assert isinstance(tree, exp.Create | exp.Select), s.title


def test_tables_use_partition_projection_on_the_worker_key_layout() -> None:
    tables = [s for s in statements(NAMES) if s.sql.startswith("CREATE EXTERNAL TABLE")]
    assert len(tables) == 3
    for s, prefix in zip(tables, ("events/", "dead-letter/", "compacted/"), strict=True):
        tree = sqlglot.parse_one(s.sql, read="hive")
        props = {
            p.name: p.text("value")
            for p in tree.find_all(exp.Property)
            if isinstance(p.this, exp.Literal) and p.name.startswith(("projection", "storage"))
        }
        assert props["projection.enabled"] == "true"
        assert props["projection.dt.type"] == "date" and props["projection.dt.format"] == "yyyy-MM-dd"
        assert props["projection.hour.range"] == "0,23" and props["projection.hour.digits"] == "2"
        assert props["projection.dt.range"].endswith(",NOW+1DAYS")  # events may be observed past now
        template = props["storage.location.template"]
        assert template == f"s3://north-pole-archive/{prefix}dt=${{dt}}/hour=${{hour}}/"
        assert "MSCK" not in render(statements(NAMES))


def test_columns_and_schema_literal_follow_the_published_schema() -> None:
    events = next(s for s in statements(NAMES) if "TABLE IF NOT EXISTS nicelist.events " in s.sql)
    schema = schemas.latest(schemas.ARCHIVED_EVENT).schema
    tree = sqlglot.parse_one(events.sql, read="hive")
    columns = [c.name for c in tree.find_all(exp.ColumnDef) if isinstance(c.parent, exp.Schema)]
    assert columns == [f["name"] for f in schema["fields"]] + ["dt", "hour"]
    literal = json.loads(_literal(events.sql))
    # the worker's files read with the literal as reader schema: the DDL matches the data
    rows = [archived_row(1, location={"lat": 1.5, "lon": 2.5}), archived_row(2)]
    read = list(fastavro.reader(io.BytesIO(avro_file(rows)), reader_schema=fastavro.parse_schema(literal)))
    assert [schemas.to_epoch_ms(r["observed_at"]) for r in read] == [r["observed_at"] for r in rows]
    assert read[0]["location"] == {"lat": 1.5, "lon": 2.5}


def test_hive_types() -> None:
    assert hive_type(["null", {"type": "record", "name": "L", "fields": [{"name": "x", "type": "double"}]}]) == (
        "struct<x:double>"
    )
    assert hive_type({"type": "long", "logicalType": "timestamp-millis"}) == "bigint"
    assert hive_type("bytes") == "binary"
    with pytest.raises(ConfigError):
        hive_type(["null", "string", "long"])


def test_names_are_validated() -> None:
    with pytest.raises(ConfigError, match="database"):
        AthenaNames(bucket="b", database="Drop table;")
    with pytest.raises(ConfigError, match="first_day"):
        AthenaNames(bucket="b", first_day="yesterday")


def test_cli_prints_or_writes_the_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["athena-ddl", "--bucket", "b-1"]) == 0
    out = capsys.readouterr().out
    assert "s3://b-1/events/" in out and out.count(";\n") == len(statements(AthenaNames(bucket="b-1")))
    target = tmp_path / "athena.sql"
    assert main(["athena-ddl", "-o", str(target)]) == 0
    assert "s3://nicelist-archive/events/" in target.read_text()


def test_parquet_table_has_the_archive_columns_and_the_view_reads_each_hour_from_one_side() -> None:
    found = statements(NAMES)
    compacted = next(s for s in found if "nicelist.events_compacted (" in s.sql)
    events = next(s for s in found if "TABLE IF NOT EXISTS nicelist.events " in s.sql)
    assert "STORED AS PARQUET" in compacted.sql and "'s3://north-pole-archive/compacted/'" in compacted.sql

    def columns(sql: str) -> list[tuple[str, str]]:
        tree = sqlglot.parse_one(sql, read="hive")
        return [(c.name, c.args["kind"].sql("hive")) for c in tree.find_all(exp.ColumnDef)]

    assert columns(compacted.sql) == columns(events.sql)
    view = next(s for s in found if s.sql.startswith("CREATE OR REPLACE VIEW nicelist.events_unique"))
    tree = sqlglot.parse_one(view.sql, read="trino")
    union = tree.find(exp.Union)
    assert union is not None and not union.args.get("distinct")
    sources = {t.sql("trino") for t in union.find_all(exp.Table)}
    assert sources == {"nicelist.events_compacted", "nicelist.events AS e", "nicelist.events_compacted AS c"}
    assert tree.find(exp.Exists) is not None and tree.find(exp.Not) is not None
    named = {s.name for s in found if s.name}
    assert named == {"per-day", "late", "busiest-elves", "the-list", "dead-letters"}


def test_the_projection_reaches_past_every_event_the_worker_accepts() -> None:
    from consumer.config import MAX_FUTURE_SKEW_LIMIT_MS

    assert MAX_FUTURE_SKEW_LIMIT_MS <= 24 * 60 * 60 * 1000  # PROJECTION_END is NOW+1DAYS
