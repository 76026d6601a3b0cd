"""What a query makes Athena read: every byte of an Avro object, only the needed columns of a
Parquet one. Pure (sqlglot and Parquet footers), used by ``bench.analytics`` and the demo.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .athena import TRINO

#: columns ``events_unique`` derives, and the stored column each is computed from
DERIVED = {"observed_ts": "observed_at", "arrived_ts": "arrived_at"}
#: partition columns come from the object key: reading them costs nothing
PARTITION_COLUMNS = frozenset(("dt", "hour"))


def columns_read(sql: str, stored: Iterable[str]) -> set[str]:
    """The stored columns a query over ``events_unique`` touches (the view's own de-duplication
    of not yet compacted hours is not counted: this is the Parquet side's cost)."""
    import sqlglot
    from sqlglot import exp

    names = set(stored)
    found = set()
    for column in sqlglot.parse_one(sql, read=TRINO).find_all(exp.Column):
        name = DERIVED.get(column.name, column.name)
        if name in names and name not in PARTITION_COLUMNS:
            found.add(name)
    return found


def parquet_bytes(metadata: Any, columns: set[str]) -> int:
    """Bytes of the column chunks of ``columns`` (top-level names; nested leaves included) in one
    Parquet file, plus its footer: what a columnar reader fetches."""
    total = int(metadata.serialized_size) + 8
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            if chunk.path_in_schema.split(".")[0] in columns:
                total += int(chunk.total_compressed_size)
    return total
