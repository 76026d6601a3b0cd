"""The demo's last act: compact the archive it just filled and answer one example query locally.

Every hour counts as closed here: the workers have caught up and reconcile agreed, so nothing
more will land in them. Informational only: a failure becomes a summary line, never a lost demo.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from typing import Any

from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

#: the example the demo answers (no dt filter, so it sees the demo's events whatever the date)
EXAMPLE = "busiest-elves"
_SHOWN_ROWS = 5


def analytics_lines(s3: Any, bucket: str) -> list[str]:
    """Summary lines: objects before and after compaction, and the example's answer."""
    missing = [name for name in ("pyarrow", "duckdb") if importlib.util.find_spec(name) is None]
    if missing:  # the analytics extra is not installed
        return [f"  compaction and local query:   skipped (no {', '.join(missing)}: pip install 'nicelist[analytics]')"]
    from analytics import AnalyticsError, AthenaNames, CompactionConfig, LocalAthena, athena_examples, compact
    from analytics.compaction import EVENTS_PREFIX
    from analytics.s3_objects import listing

    try:
        avro = len(listing(s3, bucket, EVENTS_PREFIX))
        far_future_ms = int((time.time() + 48 * 3600) * 1000)
        report = compact(s3=s3, bucket=bucket, config=CompactionConfig(grace_ms=0), now_ms=far_future_ms)
        names = AthenaNames(bucket=bucket)
        example = athena_examples(names)[EXAMPLE]
        with LocalAthena.from_s3(s3, bucket, names=names) as db:
            answer = db.run_sql(example.sql)
    except (AnalyticsError, ClientError) as exc:
        log.warning("compaction or the local query failed: %s", exc)
        return [f"  compaction and local query:   FAILED ({exc})"]
    parquet = len(report.written) + report.already_compacted
    lines = [
        f"  compacted to Parquet:         {avro} Avro objects -> {parquet} Parquet "
        f"({sum(r.source_rows for r in report.written)} rows -> {sum(r.rows for r in report.written)} unique)",
        f"  nicelist query --example {EXAMPLE} (DuckDB, the Athena SQL):",
    ]
    lines += [f"    {line}" for line in answer.render(max_rows=_SHOWN_ROWS)]
    return lines
