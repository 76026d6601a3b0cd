"""The options many commands share, declared once with one help text each, and what they build.

A command declares the names it uses and whether it talks to AWS, then builds the settings::

    def add_arguments(parser):
        add_names(parser, "stream", "table")   # --stream, --table
        add_aws(parser)                        # --endpoint, --region
        add_json(parser)                       # --json
        add_no_progress(parser)                # --no-progress, for commands that draw progress bars

    def run(args):
        names = pipeline_names(args)           # PipelineNames: flags, else $NICELIST_*, else defaults
        aws = aws_settings(args)               # AwsSettings: --endpoint/--region, else the AWS variables

``--verbose`` is added to every (sub-)command by ``nicelist.cli``. Every value is checked by an
argparse type (``nicelist.commands._types``), so a bad one is a one-line usage error (exit 2).
``run`` catches nothing: it raises ``nicelist._cli_errors.UsageError`` (exit 2) or ``CommandFailed``
(exit 1), or lets AWS, connection, file and library errors through; ``nicelist.cli.main`` turns
each into one line on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING, Any

from foundation.settings import DEFAULT_APPLICATION, DEFAULT_BUCKET, DEFAULT_REGION, DEFAULT_STREAM, DEFAULT_TABLE

from . import _types

if TYPE_CHECKING:
    from foundation.settings import AwsSettings, PipelineNames

NAME_HELP = {
    "stream": f"Kinesis stream (default: $NICELIST_STREAM, else {DEFAULT_STREAM})",
    "table": f"DynamoDB kid table (default: $NICELIST_TABLE, else {DEFAULT_TABLE})",
    "bucket": f"S3 archive bucket (default: $NICELIST_BUCKET, else {DEFAULT_BUCKET})",
    "application": (
        f"KCL application, also its lease table (default: $NICELIST_APPLICATION, else {DEFAULT_APPLICATION})"
    ),
}
ENDPOINT_HELP = (
    "one endpoint URL for every AWS service, e.g. the embedded stack's "
    "(default: $AWS_ENDPOINT_URL_<SERVICE>, else $AWS_ENDPOINT_URL, else AWS)"
)
REGION_HELP = f"AWS region (default: $AWS_REGION, else $AWS_DEFAULT_REGION, else {DEFAULT_REGION})"
JSON_HELP = "print JSON instead of text"
NO_PROGRESS_HELP = "no progress bars on stderr"
VERBOSE_HELP = "more logging on stderr, and the traceback of a failure (repeat for more)"


def add_names(parser: Any, *kinds: str) -> None:
    """``--stream``, ``--table``, ``--bucket``, ``--application``: the ones named, in that order.
    ``parser`` is a parser or an argument group."""
    for kind in kinds:
        parser.add_argument(f"--{kind}", type=_types.aws_name(kind), metavar="NAME", help=NAME_HELP[kind])


def add_aws(parser: Any) -> None:
    """``--endpoint`` and ``--region``."""
    parser.add_argument("--endpoint", type=_types.endpoint_url, metavar="URL", help=ENDPOINT_HELP)
    parser.add_argument("--region", type=_types.region, help=REGION_HELP)


def add_json(parser: Any) -> None:
    """``--json``."""
    parser.add_argument("--json", action="store_true", help=JSON_HELP)


def add_no_progress(parser: Any) -> None:
    """``--no-progress``."""
    parser.add_argument("--no-progress", action="store_true", help=NO_PROGRESS_HELP)


def add_kcl_properties(parser: Any, flag: str, *, dest: str, help: str) -> None:
    """A repeatable ``KEY=VALUE`` KCL property flag (the worker's ``--set``, the demo's ``--kcl``)."""
    parser.add_argument(
        flag, dest=dest, type=_types.key_value, action="append", default=[], metavar="KEY=VALUE", help=help
    )


def add_verbose(parser: argparse.ArgumentParser) -> None:
    """``-v``/``--verbose`` after a (sub-)command; it adds to one given before it."""
    # SUPPRESS: not given here leaves the top-level count alone
    parser.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help=VERBOSE_HELP)


def pipeline_names(args: argparse.Namespace) -> PipelineNames:
    """The pipeline's names: the flags the command declared, else ``$NICELIST_*``, else the defaults."""
    from foundation.settings import PipelineNames

    return PipelineNames.from_env(**{kind: getattr(args, kind, None) for kind in NAME_HELP})


def aws_settings(args: argparse.Namespace) -> AwsSettings:
    """Region and endpoint: ``--region``/``--endpoint``, else the standard AWS variables."""
    from foundation.settings import AwsSettings

    aws = AwsSettings.from_env(endpoint_url=getattr(args, "endpoint", None))
    region = getattr(args, "region", None)
    return dataclasses.replace(aws, region=region) if region else aws
