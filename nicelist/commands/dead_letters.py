"""``nicelist dead-letters list|show|redrive``: the records the worker refused, read back and
sent again once the cause is fixed (a schema published late, a bug fixed).

- ``list [--from-hour H] [--to-hour H] [--reason TEXT] [--json]``: each dead letter (one per
  Kinesis record) with its parts, first reasons and redrive status (new, claimed not finished,
  redriven); hours are ``YYYY-MM-DDTHH`` UTC of the record's arrival, both included.
- ``show KEY [--parts N] [--json]``: one dead letter: reasons, the record's identity, its first
  N parts, each decoded where it decodes now.
- ``redrive (KEY... | --from-hour/--to-hour/--reason | --all) [--dry-run]``: puts each refused
  user record's original bytes back into the stream (PutRecords, failed entries resent), each
  dead letter at most once: a create-only claim marker under ``dead-letter-redrive/`` is written
  before its first record, so concurrent or repeated redrives never put it twice, and one killed
  midway leaves it "claimed, not finished" for the operator.

Exit status: 0 done; 1 AWS refused or could not be reached, or a redrive stopped midway (that
dead letter stays claimed); 2 a usage error; 4 done, with problems: objects under
``dead-letter/`` that are not dead-letter files were skipped (each named on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from nicelist._cli_errors import UsageError

from . import _types
from ._options import add_aws, add_json, add_names, aws_settings, pipeline_names

HELP = "list, show and redrive the dead letters (records the worker refused)"
EXIT_FAILED = 1
EXIT_PROBLEMS = 4


def _hour(text: str) -> str:
    from admin.dead_letters import parse_hour
    from foundation.errors import ConfigError

    try:
        return parse_hour(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def _common(parser: argparse.ArgumentParser, *names: str) -> None:
    add_names(parser, *names)
    add_aws(parser)
    add_json(parser)


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from-hour", type=_hour, metavar="YYYY-MM-DDTHH", help="first hour (UTC), included")
    parser.add_argument("--to-hour", type=_hour, metavar="YYYY-MM-DDTHH", help="last hour (UTC), included")
    parser.add_argument("--reason", metavar="TEXT", help="only dead letters with a part whose reason contains TEXT")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="the dead letters of an hour range", description="the dead letters")
    _selection(listing)
    _common(listing, "bucket")
    show = sub.add_parser("show", help="one dead letter, part by part", description="one dead letter")
    show.add_argument("key", help="its S3 key (dead-letter/dt=.../hour=.../NAME.avro, as `list` prints)")
    show.add_argument("--parts", type=_types.non_negative_int, default=20, help="parts to show (default %(default)s)")
    _common(show, "bucket")
    redrive = sub.add_parser(
        "redrive", help="put dead letters back into the stream, each at most once", description="redrive"
    )
    redrive.add_argument("keys", nargs="*", metavar="KEY", help="dead letters to redrive (as `list` prints)")
    _selection(redrive)
    redrive.add_argument("--all", action="store_true", help="every dead letter (no KEY, hour or reason needed)")
    redrive.add_argument("--dry-run", action="store_true", help="say what would be put; write nothing")
    _common(redrive, "stream", "bucket")


def run(args: argparse.Namespace) -> int:
    from admin.dead_letters import DeadLetterStore

    names = pipeline_names(args)
    aws = aws_settings(args)
    store = DeadLetterStore(aws.client("s3"), names.bucket)
    if args.action == "list":
        return _list(args, store)
    if args.action == "show":
        return _show(args, store)
    return _redrive(args, store, aws.client("kinesis"), names.stream)


def _list(args: argparse.Namespace, store: Any) -> int:
    from admin.dead_letters import list_dead_letters

    found = list_dead_letters(store, first_hour=args.from_hour, last_hour=args.to_hour, reason_contains=args.reason)
    if args.json:
        print(json.dumps(found.as_dict()))
    else:
        for summary in found.dead_letters:
            print(summary.line())
        print(f"({len(found.dead_letters)} dead letters, {sum(d.parts for d in found.dead_letters)} parts)")
    for bad in found.skipped:
        print(f"dead-letters: skipped {bad}", file=sys.stderr)
    return EXIT_PROBLEMS if found.skipped else 0


def _show(args: argparse.Namespace, store: Any) -> int:
    from admin.dead_letters import show_dead_letter
    from foundation.avro_objects import UnreadableObjectError

    try:
        shown = show_dead_letter(store, args.key, parts=args.parts)
    except UnreadableObjectError as exc:
        print(f"dead-letters: {args.key} is not a dead-letter file: {exc.reason}", file=sys.stderr)
        return EXIT_PROBLEMS
    if args.json:
        print(json.dumps(shown, default=str))
        return 0
    for name in ("key", "status", "parts", "shard_id", "sequence_number", "partition_key", "arrived_at", "failed_at"):
        print(f"{name + ':':17}{shown[name]}")
    for reason, count in shown["reasons"].items():
        print(f"reason ({count} parts): {reason}")
    if shown["other_reasons"]:
        print(f"other reasons:   {shown['other_reasons']} parts")
    for part in shown["parts_shown"]:
        what = f"event {json.dumps(part['event'], default=str)}" if "event" in part else part["decodes"]
        print(f"  part {part['subsequence_number']}: {part['bytes']} bytes: {what}")
    return 0


def _redrive(args: argparse.Namespace, store: Any, kinesis: Any, stream: str) -> int:
    from admin.dead_letters import Redriver, list_dead_letters
    from admin.dead_letters._model import is_dead_letter_key
    from admin.dead_letters._redrive import OUTCOME_FAILED, OUTCOME_UNREADABLE

    selected = args.keys or args.from_hour or args.to_hour or args.reason
    if not selected and not args.all:
        raise UsageError("redrive needs KEYs, --from-hour/--to-hour/--reason, or --all")
    if args.keys:
        keys = list(args.keys)
        wrong = [key for key in keys if not is_dead_letter_key(key)]
        if wrong:
            raise UsageError(f"not a dead-letter key (dead-letter/dt=.../hour=.../NAME.avro): {wrong[0]}")
        if args.from_hour or args.to_hour or args.reason or args.all:
            raise UsageError("give either KEYs or a selection (--from-hour/--to-hour/--reason/--all)")
    else:
        found = list_dead_letters(store, first_hour=args.from_hour, last_hour=args.to_hour, reason_contains=args.reason)
        keys = [d.key for d in found.dead_letters]
    redriver = Redriver(store=store, kinesis=kinesis, stream=stream)
    results = []
    for result in redriver.redrive(store.bodies(keys), dry_run=args.dry_run):
        results.append(result)
        if not args.json:
            print(result.line(), flush=True)
    if args.json:
        print(json.dumps([r.as_dict() for r in results]))
    else:
        put = sum(r.put for r in results)
        print(f"({len(results)} dead letters, {put} records put{' (dry run: none)' if args.dry_run else ''})")
    if any(r.outcome == OUTCOME_FAILED for r in results):
        return EXIT_FAILED
    return EXIT_PROBLEMS if any(r.outcome == OUTCOME_UNREADABLE for r in results) else 0
