"""``nicelist query``: Athena's SQL run locally with DuckDB over the archive of any S3 endpoint.

The archive's objects are fetched with boto3 (the embedded stack, MinIO or AWS), read into the
tables Athena knows (``nicelist.events``, ``nicelist.events_compacted``, ``nicelist.dead_letters``)
and the ``nicelist.events_unique`` view; the statement, written for Athena (Trino), is transpiled
to DuckDB by sqlglot. ``--example NAME`` runs one of the examples ``nicelist athena-ddl`` prints.

It reads the archive and nothing else: one SELECT (or WITH ... SELECT) per call, and DuckDB runs
with external access off once the archive is loaded, so local files, COPY, ATTACH and extensions
are refused with one line (exit 2). Objects that are not archive files are skipped, each named
on stderr (key, size, why).
"""

from __future__ import annotations

import argparse

HELP = "run Athena (Trino) SQL locally with DuckDB over the archive; --example NAME for the shipped ones"

EXAMPLES = ("per-day", "late", "busiest-elves", "the-list", "dead-letters")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sql", nargs="?", help="one Trino/Athena statement (tables as in `nicelist athena-ddl`)")
    parser.add_argument("--example", choices=EXAMPLES, help="run a shipped example query instead")
    parser.add_argument("--list-examples", action="store_true", help="print the example queries and exit")
    parser.add_argument("--show-sql", action="store_true", help="print the statement DuckDB runs (to stderr)")
    parser.add_argument(
        "--endpoint", help="one endpoint URL for every service (default: the AWS_ENDPOINT_URL* variables)"
    )
    parser.add_argument("--bucket", help="archive bucket (default: $NICELIST_BUCKET or nicelist-archive)")
    parser.add_argument("--database", default="nicelist", help="database name the SQL uses (default nicelist)")
    parser.add_argument("--from-day", metavar="YYYY-MM-DD", help="load only partitions from this day on")
    parser.add_argument("--to-day", metavar="YYYY-MM-DD", help="load only partitions up to this day")
    parser.add_argument("--max-rows", type=int, default=50, help="rows to print (default %(default)s)")
    parser.add_argument("--csv", action="store_true", help="print every row as CSV instead of a table")


def run(args: argparse.Namespace) -> int:
    import csv
    import sys

    try:
        import duckdb
        import pyarrow  # noqa: F401 - checked here to say what to install
        from sqlglot.errors import SqlglotError
    except ImportError as exc:
        print(f"query: {exc}; pip install 'nicelist[analytics]'", file=sys.stderr)
        return 2

    from analytics import AnalyticsError, AthenaNames, LocalAthena, athena_examples, to_duckdb
    from foundation.errors import ConfigError
    from foundation.settings import AwsSettings, PipelineNames

    names = PipelineNames.from_env(bucket=args.bucket)
    try:
        athena = AthenaNames(bucket=names.bucket, database=args.database)
    except ConfigError as exc:
        print(f"query: {exc}", file=sys.stderr)
        return 2
    examples = athena_examples(athena)
    if args.list_examples:
        for name, statement in examples.items():
            print(f"-- {name}: {statement.title}\n{statement.sql};\n")
        return 0
    if (args.sql is None) == (args.example is None):
        print("query: give either SQL or --example NAME", file=sys.stderr)
        return 2
    sql = examples[args.example].sql if args.example else args.sql
    aws = AwsSettings.from_env(endpoint_url=args.endpoint)
    try:
        if args.show_sql:
            print(to_duckdb(sql), file=sys.stderr)
        db = LocalAthena.from_s3(
            aws.client("s3"), names.bucket, names=athena, first_day=args.from_day, last_day=args.to_day
        )
        for bad in db.bad_objects:
            print(f"query: skipped {bad}", file=sys.stderr)
        with db:
            result = db.run_sql(sql)
    except AnalyticsError as exc:
        print(f"query: {exc}", file=sys.stderr)
        return 2
    except (duckdb.Error, SqlglotError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"query: {type(exc).__name__}: {first}", file=sys.stderr)
        return 2
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        for line in result.render(max_rows=args.max_rows):
            print(line)
    return 0
