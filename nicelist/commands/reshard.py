"""``nicelist reshard``: inspect the stream's shards, plan capacity, and reshard safely.

Every mutating action (scale, split, merge, rebalance) plans from the stream's current state,
prints the exact API calls, asks before changing anything (``--yes`` to skip, required when stdin
is not a terminal), refuses a stream that is not ACTIVE and waits for ACTIVE after each call.
An interrupted run is finished by running the same command again.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from foundation.limits import DYNAMODB_MAX_ITEM_BYTES

from . import _types
from ._options import add_aws, add_json, add_names, aws_settings, pipeline_names

HELP = "show, plan and change the stream's shards: status, plan, scale, split, merge, rebalance"

_MUTATING = ("scale", "split", "merge", "rebalance")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    add_names(common, "stream")
    add_aws(common)

    mutating = argparse.ArgumentParser(add_help=False, parents=[common])
    mutating.add_argument("--dry-run", action="store_true", help="print the exact API calls and change nothing")
    mutating.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    mutating.add_argument(
        "--timeout",
        type=_types.positive_float,
        default=900.0,
        metavar="SECONDS",
        help="longest wait for ACTIVE after each call",
    )
    mutating.add_argument(
        "--poll-interval",
        type=_types.positive_float,
        default=2.0,
        metavar="SECONDS",
        help="status polling interval while waiting",
    )

    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    status = actions.add_parser("status", parents=[common], help="shards, hash ranges, lineage and load")
    add_json(status)
    status.add_argument(
        "--metrics-minutes",
        type=_types.positive_int,
        default=5,
        help="window for per-shard incoming rates (default 5)",
    )

    plan = actions.add_parser("plan", help="shards needed for a peak rate (pure arithmetic, no AWS calls)")
    plan.add_argument("--peak-events-per-sec", type=_types.positive_float, required=True, metavar="R")
    plan.add_argument("--event-bytes", type=_types.record_bytes, required=True, metavar="B", help="one encoded event")
    plan.add_argument(
        "--headroom", type=_types.non_negative_float, default=0.25, metavar="H", help="spare fraction (0.25)"
    )
    plan.add_argument(
        "--aggregate-bytes",
        type=_types.record_bytes,
        default=None,
        help="KPL aggregated record size (default 51200, the KPL's)",
    )
    plan.add_argument(
        "--consumers", type=_types.positive_int, default=1, help="applications polling every shard (default 1)"
    )
    plan.add_argument(
        "--poll-interval-ms", type=_types.positive_int, default=1000, help="each consumer's GetRecords interval"
    )
    plan.add_argument(
        "--updates", type=_types.positive_int, default=None, help="spike size in events (default 1.8 billion)"
    )
    plan.add_argument(
        "--within-hours", type=_types.positive_float, default=24.0, help="spike duration in hours (default 24)"
    )
    _add_consumer_and_cost_arguments(plan)
    add_json(plan)

    scale = actions.add_parser("scale", parents=[mutating], help="reach N open shards")
    scale.add_argument("--shards", type=_types.shard_count, required=True, metavar="N")
    scale.add_argument(
        "--method",
        choices=("auto", "update-shard-count", "split-merge"),
        default="auto",
        help="auto: UpdateShardCount within its quota, else (or when refused) SplitShard/MergeShards",
    )
    scale.add_argument(
        "--tolerance",
        type=_types.fraction,
        default=0.0,
        help="split/merge only: accepted deviation from an even share",
    )

    split = actions.add_parser("split", parents=[mutating], help="split one open shard")
    split.add_argument("shard", metavar="SHARD")
    split.add_argument(
        "--at", type=_types.hash_key, metavar="HASH", help="new starting hash key (default: the midpoint)"
    )

    merge = actions.add_parser("merge", parents=[mutating], help="merge two adjacent open shards")
    merge.add_argument("shard", metavar="SHARD")
    merge.add_argument("other", metavar="OTHER")

    rebalance = actions.add_parser("rebalance", parents=[mutating], help="even out the open shards' hash ranges")
    rebalance.add_argument(
        "--shards",
        type=_types.shard_count,
        metavar="N",
        help="open shards to end with (default: today's; give it when re-running)",
    )
    rebalance.add_argument(
        "--tolerance", type=_types.fraction, default=0.1, help="accepted deviation from an even share (default 0.1)"
    )


def _add_consumer_and_cost_arguments(plan: argparse.ArgumentParser) -> None:
    # defaults live in admin.reshard (CapacityInputs, CostInputs); a test keeps this help text equal
    consumer = plan.add_argument_group(
        "consumers", "the record processors: one per shard lease, so they can bound the shard count"
    )
    capacity = consumer.add_mutually_exclusive_group()
    capacity.add_argument(
        "--consumer-events-per-shard-s",
        type=_types.positive_float,
        metavar="R",
        help="events/s one shard's processor sustains (default 12,764, measured by python -m bench.consumer)",
    )
    capacity.add_argument(
        "--consumer-bench-json",
        metavar="FILE",
        help="read it (and the events per CPU-s) from `python -m bench.consumer --json` output",
    )
    consumer.add_argument(
        "--consumer-events-per-cpu-s",
        type=_types.positive_float,
        metavar="R",
        help="events one processor handles per CPU-second (bench.consumer's processor_events_per_cpu_s; "
        "default: not known, one core per processor)",
    )
    consumer.add_argument(
        "--distinct-kid-ratio",
        type=_types.non_negative_float,
        default=1.0,
        metavar="F",
        help="DynamoDB writes per event after the per-kid collapse (default 1.0: every event a new kid)",
    )
    consumer.add_argument(
        "--kid-item-bytes",
        type=_types.int_in(1, DYNAMODB_MAX_ITEM_BYTES),
        default=None,
        help="one kid item's size (256)",
    )
    consumer.add_argument(
        "--write-statements-per-kid",
        type=_types.float_in(1, 2),
        default=None,
        metavar="S",
        help="DynamoDB write statements per kid write (default 1; up to 2 when INSERTs meet existing items)",
    )
    cost = plan.add_argument_group("cost", "the December scenario: --updates events within --within-hours")
    cost.add_argument(
        "--provisioned-hours",
        type=_types.positive_float,
        default=None,
        help="hours at the planned shard count (default: --within-hours)",
    )
    cost.add_argument(
        "--archive-file-bytes",
        type=_types.positive_int,
        default=None,
        help="archive file close size (default the worker's, 8 MiB)",
    )
    cost.add_argument(
        "--archive-file-age-s",
        type=_types.positive_float,
        default=None,
        help="archive file close age (default the worker's, 30 s)",
    )
    cost.add_argument(
        "--archive-compression-ratio",
        type=_types.positive_float,
        default=None,
        help="stored/raw archive bytes (default 0.3)",
    )
    cost.add_argument(
        "--archive-retention-months",
        type=_types.positive_float,
        default=None,
        help="months the archive is kept (default 1)",
    )
    cost.add_argument(
        "--athena-full-scans",
        type=_types.non_negative_int,
        default=None,
        help="Athena queries scanning the whole archive (default 10)",
    )


def run(args: argparse.Namespace) -> int:
    if args.action == "plan":
        return _plan(args)
    if args.action == "status":
        return _status(args)
    return _mutate(args)


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _clients(args: argparse.Namespace) -> tuple[Any, str]:
    return aws_settings(args), pipeline_names(args).stream


def _plan(args: argparse.Namespace) -> int:
    from admin.reshard import CapacityInputs, CostInputs, consumer_capacity_from_bench, plan_capacity

    def given(**values: Any) -> dict[str, Any]:
        return {k: v for k, v in values.items() if v is not None}

    # CapacityInputs and CostInputs check the values: a ValueError is a usage error (exit 2)
    consumer = given(
        consumer_events_per_shard_s=args.consumer_events_per_shard_s,
        kid_item_bytes=args.kid_item_bytes,
        write_statements_per_kid=args.write_statements_per_kid,
    )
    if args.consumer_events_per_shard_s is not None:
        consumer["consumer_source"] = "--consumer-events-per-shard-s"
    if args.consumer_bench_json is not None:
        consumer.update(consumer_capacity_from_bench(_read_json(args.consumer_bench_json)))
        consumer["consumer_source"] = f"the bench.consumer report {args.consumer_bench_json}"
    consumer.update(given(consumer_events_per_cpu_s=args.consumer_events_per_cpu_s))
    costs = CostInputs(
        **given(
            provisioned_hours=args.provisioned_hours,
            archive_file_bytes=args.archive_file_bytes,
            archive_file_age_s=args.archive_file_age_s,
            archive_compression_ratio=args.archive_compression_ratio,
            archive_retention_months=args.archive_retention_months,
            athena_full_scans=args.athena_full_scans,
        )
    )
    inputs = CapacityInputs(
        peak_events_per_sec=args.peak_events_per_sec,
        event_bytes=args.event_bytes,
        headroom=args.headroom,
        consumers=args.consumers,
        poll_interval_ms=args.poll_interval_ms,
        within_hours=args.within_hours,
        distinct_kid_ratio=args.distinct_kid_ratio,
        costs=costs,
        **given(aggregate_bytes=args.aggregate_bytes, updates=args.updates),
        **consumer,
    )
    plan = plan_capacity(inputs)
    if args.json:
        print(json.dumps(plan.to_dict(), indent=2))
        return 0
    for line in plan.lines:
        print(line)
    print(
        f"recommended: {plan.shards} shards, bound by the {plan.bound} (nicelist reshard scale --shards {plan.shards})"
    )
    return 0


def _read_json(path: str) -> Any:
    """A JSON file's content; ValueError (the caller's usage error) if unreadable or not JSON."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not JSON: {exc}") from exc


def _status(args: argparse.Namespace) -> int:
    from admin.reshard import read_status

    aws, stream = _clients(args)
    report = read_status(
        aws.client("kinesis"), stream, cloudwatch=aws.client("cloudwatch"), metrics_minutes=args.metrics_minutes
    )
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.render())
    return 0


def _mutate(args: argparse.Namespace) -> int:
    from admin.reshard import ReshardConfig, Resharder

    aws, stream = _clients(args)
    config = ReshardConfig(stream=stream, wait_timeout_s=args.timeout, poll_interval_s=args.poll_interval)
    resharder = Resharder(aws.client("kinesis"), config, progress=_err)
    if args.action == "scale":
        plan = resharder.plan_scale(args.shards, method=args.method, tolerance=args.tolerance)
    elif args.action == "split":
        plan = resharder.plan_split(args.shard, args.at)
    elif args.action == "merge":
        plan = resharder.plan_merge(args.shard, args.other)
    else:
        plan = resharder.plan_rebalance(args.shards, tolerance=args.tolerance)

    print(f"stream {stream}: {plan.before.open_count} open shards; goal: {plan.goal.describe()}")
    for note in plan.notes:
        print(f"note: {note}")
    if not plan.steps:
        print("nothing to do")
        return 0
    print(f"{len(plan.steps)} call(s), waiting for ACTIVE after each (ids in parentheses do not exist yet):")
    for operation, params in plan.api_calls():
        print(f"  {operation} {json.dumps(params)}")
    sys.stdout.flush()
    if args.dry_run:
        print("dry run: nothing changed")
        return 0
    if not args.yes and not _confirm():
        return 1
    if args.action == "rebalance":
        # re-running plain `rebalance` after an interruption would aim at the interim shard count
        _err(
            f"if interrupted, finish with: nicelist reshard rebalance --shards {plan.after.open_count} "
            f"--tolerance {args.tolerance:g} --stream {stream}"
        )
    result = resharder.execute(plan)
    print(
        f"done: {len(result.completed)} call(s); stream {stream} is ACTIVE with {result.final.open_count} open shards"
    )
    return 0


def _confirm() -> bool:
    if not sys.stdin.isatty():
        _err("refusing to change the stream: stdin is not a terminal and --yes was not given; nothing changed")
        return False
    _err("proceed? [y/N] ")
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        _err("not confirmed; nothing changed")
        return False
    return True
