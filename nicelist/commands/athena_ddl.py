"""``nicelist athena-ddl``: print the Athena DDL for the archive and dead letters, a de-duplicating
view and example queries (partition projection, so no MSCK REPAIR TABLE is ever needed)."""

from __future__ import annotations

import argparse

from . import _types
from ._options import add_names, pipeline_names

HELP = "print Athena CREATE TABLE statements (partition projection), a view and example queries"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_names(parser, "bucket")
    parser.add_argument("--database", default="nicelist", help="Glue/Athena database (default nicelist)")
    parser.add_argument(
        "--first-day", type=_types.day, default="2024-12-01", help="first dt partition projection considers"
    )
    parser.add_argument("-o", "--output", type=_types.output_file, help="write the script to this file, not stdout")


def run(args: argparse.Namespace) -> int:
    import sys

    from analytics import AthenaNames, athena_statements, render_athena

    athena = AthenaNames(bucket=pipeline_names(args).bucket, database=args.database, first_day=args.first_day)
    text = render_athena(athena_statements(athena))
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
