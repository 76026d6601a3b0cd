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

from nicelist._cli_errors import UsageError

from . import _types
from ._options import add_aws, add_names, aws_settings, pipeline_names
from .compact import require_analytics

HELP = "run Athena (Trino) SQL locally with DuckDB over the archive; --example NAME for the shipped ones"

EXAMPLES = ("per-day", "late", "busiest-elves", "the-list", "dead-letters")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sql", nargs="?", help="one Trino/Athena statement (tables as in `nicelist athena-ddl`)")
    parser.add_argument("--example", choices=EXAMPLES, help="run a shipped example query instead")
    parser.add_argument("--list-examples", action="store_true", help="print the example queries and exit")
    parser.add_argument("--show-sql", action="store_true", help="print the statement DuckDB runs (to stderr)")
    add_aws(parser)
    add_names(parser, "bucket")
    parser.add_argument("--database", default="nicelist", help="database name the SQL uses (default nicelist)")
    parser.add_argument(
        "--from-day", type=_types.day, metavar="YYYY-MM-DD", help="load only partitions from this day on"
    )
    parser.add_argument("--to-day", type=_types.day, metavar="YYYY-MM-DD", help="load only partitions up to this day")
    parser.add_argument("--max-rows", type=_types.positive_int, default=50, help="rows to print (default %(default)s)")
    parser.add_argument("--csv", action="store_true", help="print every row as CSV instead of a table")


def run(args: argparse.Namespace) -> int:
    import csv
    import sys

    require_analytics("duckdb", "pyarrow", "sqlglot")
    from analytics import AthenaNames, LocalAthena, athena_examples, to_duckdb

    names = pipeline_names(args)
    athena = AthenaNames(bucket=names.bucket, database=args.database)
    examples = athena_examples(athena)
    if args.list_examples:
        for name, statement in examples.items():
            print(f"-- {name}: {statement.title}\n{statement.sql};\n")
        return 0
    if (args.sql is None) == (args.example is None):
        raise UsageError("give either SQL or --example NAME")
    if args.from_day and args.to_day and args.from_day > args.to_day:
        raise UsageError(f"--from-day {args.from_day} is after --to-day {args.to_day}")
    sql = examples[args.example].sql if args.example else args.sql
    duckdb_sql = to_duckdb(sql)  # a statement that does not parse is refused before the archive is read
    if args.show_sql:
        print(duckdb_sql, file=sys.stderr)
    s3 = aws_settings(args).client("s3")
    db = LocalAthena.from_s3(s3, names.bucket, names=athena, first_day=args.from_day, last_day=args.to_day)
    for bad in db.bad_objects:
        print(f"query: skipped {bad}", file=sys.stderr)
    with db:
        result = db.run_sql(sql)
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        for line in result.render(max_rows=args.max_rows):
            print(line)
    return 0
