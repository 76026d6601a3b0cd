"""``nicelist reconcile``: compare the S3 archive with the DynamoDB table.

Exit status: 0 when they agree, 1 when anything disagrees (kids missing from the table, stale
items, items with no archived event, records archived twice, archive objects that are not
archive files: each is named and skipped, never read as rows) or they cannot be read (one line on
stderr says which), 2 for a bad argument.
"""

from __future__ import annotations

import argparse

from . import _types
from ._options import add_aws, add_names, add_no_progress, aws_settings, pipeline_names

HELP = "compare the S3 archive with the DynamoDB table (exit 0 when they agree)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_aws(parser)
    add_names(parser, "table", "bucket")
    parser.add_argument(
        "--window", type=_types.positive_int, default=8, help="archive objects fetched concurrently (default 8)"
    )
    parser.add_argument(
        "--archive",
        choices=("raw", "compacted"),
        default="raw",
        help="raw: every Avro object (default); compacted: each compacted hour's Parquet, Avro elsewhere",
    )
    add_no_progress(parser)


def run(args: argparse.Namespace) -> int:
    from foundation.progress import Progress
    from reconcile import describe_report, reconcile

    names = pipeline_names(args)
    aws = aws_settings(args)
    progress = Progress(enabled=not args.no_progress)
    s3 = aws.client("s3")
    archive = None
    if args.archive == "compacted":
        from analytics import CompactedArchive

        archive = CompactedArchive(s3, names.bucket)
    report = reconcile(
        s3=s3,
        dynamodb=aws.client("dynamodb"),
        bucket=names.bucket,
        table=names.table,
        progress=progress,
        window=args.window,
        archive=archive,
    )
    for line in describe_report(report):
        print(line)
    return 0 if report.ok else 1
