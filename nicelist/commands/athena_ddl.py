"""``nicelist athena-ddl``: print the Athena DDL for the archive and dead letters, a de-duplicating
view and example queries (partition projection, so no MSCK REPAIR TABLE is ever needed)."""

from __future__ import annotations

import argparse

HELP = "print Athena CREATE TABLE statements (partition projection), a view and example queries"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bucket", help="archive bucket (default: $NICELIST_BUCKET or nicelist-archive)")
    parser.add_argument("--database", default="nicelist", help="Glue/Athena database (default nicelist)")
    parser.add_argument("--first-day", default="2024-12-01", help="first dt partition projection considers")
    parser.add_argument("-o", "--output", help="write the script to this file instead of stdout")


def run(args: argparse.Namespace) -> int:
    import sys

    from analytics import AthenaNames, athena_statements, render_athena
    from foundation.errors import ConfigError
    from foundation.settings import PipelineNames

    names = PipelineNames.from_env(bucket=args.bucket)
    try:
        athena = AthenaNames(bucket=names.bucket, database=args.database, first_day=args.first_day)
        text = render_athena(athena_statements(athena))
    except ConfigError as exc:
        print(f"athena-ddl: {exc}", file=sys.stderr)
        return 2
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
