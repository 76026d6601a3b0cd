"""Querying the archive: the Athena DDL, compaction to Parquet, and the same SQL run locally.

- ``athena`` (pure text): tables with partition projection, the de-duplicating view, examples
- ``compaction`` (pure): closed hours, one row per event, the Parquet writer
- ``compactor``: ``compact()`` against S3, exactly once per hour (create-only PUT)
- ``compacted_archive``: the compacted archive as reconcile reads it
- ``local_query``: DuckDB over the archive of any S3 endpoint, statements transpiled from Trino
- ``s3_objects``: listings and bodies from S3 (the one place S3 errors are translated)
- ``errors``: ``AnalyticsError`` and its leaves
- ``scan_cost`` (pure): the bytes a query makes Athena read from Avro and from Parquet

pyarrow and duckdb (the ``analytics`` extra) are imported only where they are used.
"""

import logging

from .athena import AthenaNames, Statement
from .athena import examples as athena_examples
from .athena import render as render_athena
from .athena import statements as athena_statements
from .compacted_archive import CompactedArchive
from .compaction import CompactionConfig, Hour, compacted_key
from .compactor import CompactionReport, compact
from .errors import AnalyticsError, ArchiveReadError, CompactionError, UnreadableSourcesError
from .local_query import LocalAthena, QueryRefusedError, QueryResult, to_duckdb

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "AnalyticsError",
    "ArchiveReadError",
    "AthenaNames",
    "CompactedArchive",
    "CompactionConfig",
    "CompactionError",
    "CompactionReport",
    "Hour",
    "LocalAthena",
    "QueryRefusedError",
    "QueryResult",
    "Statement",
    "UnreadableSourcesError",
    "athena_examples",
    "athena_statements",
    "compact",
    "compacted_key",
    "render_athena",
    "to_duckdb",
]
