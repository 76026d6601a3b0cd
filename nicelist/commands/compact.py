"""``nicelist compact``: every closed hour of the archive into one Parquet object, exactly once.

An hour (of ``observed_at``, UTC) is closed once it ended ``--grace-minutes`` ago. Its Avro
objects are read twice (find each event's latest Kinesis arrival, then write those rows), and
the Parquet is created at ``compacted/dt=/hour=/events.parquet`` only if absent, so reruns and
concurrent runs are safe. The Avro stays. Run it from cron or a scheduled Lambda.

Exit status:

- 0: every closed hour is compacted (now or before);
- 1: the archive could not be read or written (nothing half written: rerun);
- 2: a usage error (a bad option);
- 3: late files: some compacted hours received Avro objects their Parquet was not built from
  (listed; reconcile reads them, Athena's view does not);
- 4: compacted, with problems: some objects under ``events/`` are not archive files (empty,
  truncated, not Avro, a foreign schema); each is listed (key, size, why) and its hour left
  uncompacted, every other hour compacted. Move them out of ``events/`` and run again. Takes
  precedence over 3 (late files, if any, are listed too).
"""

from __future__ import annotations

import argparse

from nicelist._cli_errors import UsageError

from . import _types
from ._options import add_aws, add_json, add_names, add_no_progress, aws_settings, pipeline_names

HELP = "compact closed archive hours to Parquet (exactly once per hour; the Avro stays)"
EXIT_LATE_FILES = 3
EXIT_PROBLEMS = 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_aws(parser)
    add_names(parser, "bucket")
    parser.add_argument(
        "--grace-minutes",
        type=_types.non_negative_float,
        default=120,
        help="an hour is closed this long after it ended (default %(default)s)",
    )
    parser.add_argument("--compression", default="zstd", choices=("zstd", "snappy", "gzip"))
    parser.add_argument(
        "--row-group-rows", type=_types.positive_int, default=500_000, help="rows per Parquet row group"
    )
    parser.add_argument(
        "--pass-mb",
        type=_types.positive_float,
        default=64,
        help="Avro MiB de-duplicated in memory at a time; bigger hours are read once per bucket (default 64)",
    )
    parser.add_argument(
        "--window", type=_types.positive_int, default=8, help="archive objects fetched concurrently (default 8)"
    )
    add_json(parser)
    add_no_progress(parser)


def run(args: argparse.Namespace) -> int:
    require_analytics("pyarrow")
    from analytics import CompactionConfig, compact
    from analytics.compactor import describe_json
    from foundation.progress import Progress

    bucket = pipeline_names(args).bucket
    config = CompactionConfig(
        grace_ms=int(args.grace_minutes * 60_000),
        compression=args.compression,
        row_group_rows=args.row_group_rows,
        window=args.window,
        pass_bytes=int(args.pass_mb * 1024 * 1024),
    )
    s3 = aws_settings(args).client("s3")
    report = compact(s3=s3, bucket=bucket, config=config, progress=Progress(enabled=not args.no_progress))
    if args.json:
        print(describe_json(report))
    else:
        for line in report.describe():
            print(line)
        for hour, keys in sorted(report.late_files.items()):
            for key in keys:
                print(f"  late: {hour}: {key}")
    if report.has_problems:
        return EXIT_PROBLEMS
    return EXIT_LATE_FILES if report.late_files else 0


def require_analytics(*modules: str) -> None:
    """These modules of the analytics extra are installed, or a usage error saying how to get them."""
    import importlib.util

    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"{', '.join(missing)} not installed: pip install 'nicelist[analytics]'")
