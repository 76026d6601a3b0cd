"""``nicelist demo``: the whole pipeline on this machine, and the proof that nothing was lost.

Starts the embedded local AWS (or uses ``--endpoint`` / the standard AWS variables), provisions
the stream, table and bucket, starts KCL workers, runs simulated elf apps through a
December-23rd spike, reshards mid-run, waits for the workers, reconciles and prints a summary.
Exit status: 0 when nothing was lost and the table agrees with the archive, 1 otherwise, 2 for
bad settings, 130 when interrupted (everything started is stopped either way).

``--december`` rehearses December instead: the embedded Kinesis enforces its per-shard limits
(scaled), the spike outgrows the starting shards and ``nicelist autoscale``'s controller, not a
mid-run reshard, grows the stream; it prints the rehearsal's lines and writes an HTML report.
Exit status 0 only when nothing was lost, Kinesis throttled and the stream scaled itself up and back down.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from foundation.limits import UPDATE_SHARD_COUNT_MAX_SHARDS
from nicelist._cli_errors import UsageError
from nicelist.commands.produce import add_load_arguments

from . import _types
from ._options import add_aws, add_kcl_properties, add_names, add_no_progress, aws_settings, pipeline_names

HELP = "run the whole pipeline locally through a December spike and prove nothing was lost"

#: flags whose default differs with --december: name -> (plain demo, rehearsal)
_DEFAULTS: dict[str, tuple[object, object]] = {
    "events": (8_000, 24_000),
    "rate": (150.0, 80.0),
    "elves": (4, 2),
    "spike_factor": (5.0, 6.0),
    "spike_start": (0.3, 0.2),
    "shards": (4, 2),
    "reshard_to": (None, 0),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_load_arguments(parser, events=8_000, rate=150.0, kids=2_000, elves=4)
    pipeline = parser.add_argument_group("pipeline")
    pipeline.add_argument("--shards", type=_types.shard_count, default=None, help="shards to provision (default 4)")
    pipeline.add_argument("--workers", type=_types.positive_int, default=2, help="KCL workers (default 2)")
    pipeline.add_argument(
        "--reshard-to",
        type=_types.int_in(0, UPDATE_SHARD_COUNT_MAX_SHARDS),
        default=None,
        help="open shards after the mid-run reshard (default 2x; 0: none)",
    )
    pipeline.add_argument(
        "--reshard-at",
        type=_types.fraction,
        default=None,
        help="share of events sent when resharding (default: spike start)",
    )
    add_aws(pipeline)  # an endpoint (e.g. LocalStack) instead of starting the embedded local AWS
    pipeline.add_argument(
        "--garbage",
        type=_types.non_negative_int,
        default=3,
        help="undecodable records to put; each must be dead-lettered (3)",
    )
    pipeline.add_argument("--aws", action="store_true", help="use the AWS account of the standard variables")
    add_names(pipeline, "stream", "table", "bucket")
    pipeline.add_argument(
        "--work-dir", type=_types.directory, help="logs and spools here (default: a temporary directory)"
    )
    pipeline.add_argument(
        "--timeout", type=_types.positive_float, default=300.0, help="seconds to wait for the workers (300)"
    )
    add_kcl_properties(pipeline, "--kcl", dest="kcl_properties", help="a KCL property for the demo's workers (repeat)")
    add_no_progress(parser)
    december = parser.add_argument_group("December rehearsal")
    december.add_argument(
        "--december",
        action="store_true",
        help="limits mode on, the autoscaler instead of the mid-run reshard, a report; defaults become "
        "24000 events at 80/s, a x6 spike from 20%%, 2 elves, 2 shards (about 4 minutes)",
    )
    december.add_argument(
        "--limits-scale", type=_types.positive_float, default=0.02, metavar="F", help="per-shard limits x F (0.02)"
    )
    december.add_argument(
        "--metrics-period",
        type=_types.positive_int,
        default=5,
        metavar="S",
        help="metric and autoscaler period in s (default 5)",
    )
    december.add_argument(
        "--kid-table-write-units",
        type=_types.non_negative_int,
        default=400,  # demo._december_dynamodb.DECEMBER_KID_TABLE_WRITE_UNITS (a test keeps them equal)
        metavar="N",
        help="the kid table's write capacity during the rehearsal, below the spike's write rate "
        "(default %(default)s; 0: on-demand, no DynamoDB throttling)",
    )
    december.add_argument(
        "--report",
        default="nicelist-december-report.html",
        metavar="PATH",
        type=_types.output_file,
        help="the HTML report (default %(default)s)",
    )
    # None: "not given", so --december can pick its own defaults (the plain demo's are unchanged)
    parser.set_defaults(**dict.fromkeys(_DEFAULTS))


def apply_defaults(args: argparse.Namespace) -> None:
    """Fill the flags left unset with the plain demo's defaults, or the rehearsal's with --december."""
    for name, (plain, rehearsal) in _DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, rehearsal if args.december else plain)


def run(args: argparse.Namespace) -> int:
    import os
    import signal
    import sys

    from demo import DEMO_WORKER_PROPERTIES, DemoConfig, describe_demo, run_demo
    from foundation.progress import Progress
    from nicelist.commands.produce import load_plan

    def say(line: str) -> None:
        print(f"demo: {line}", file=sys.stderr, flush=True)

    # an endpoint variable (AWS_ENDPOINT_URL or a per-service one) means "use that stack"; real AWS
    # only with --aws, so a stray profile never creates resources in an account by accident
    apply_defaults(args)
    external = args.endpoint or args.aws or any(name.startswith("AWS_ENDPOINT_URL") for name in os.environ)
    if args.december and external:
        raise UsageError("--december runs on the embedded local AWS only (limits mode)")
    plan = load_plan(args)
    config = DemoConfig(
        population=plan.population,
        shape=plan.shape,
        seed=args.seed,
        shards=args.shards,
        workers=args.workers,
        reshard_to=args.reshard_to,
        reshard_at=args.reshard_at,
        names=pipeline_names(args),
        aws=aws_settings(args) if external else None,
        work_dir=args.work_dir,
        catch_up_timeout_s=args.timeout,
        garbage_records=args.garbage,
        worker_properties={**DEMO_WORKER_PROPERTIES, **dict(args.kcl_properties)},
    )
    if args.december:
        return _run_december(args, config, say)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)  # stop everything on SIGTERM as on Ctrl-C
    try:
        summary = run_demo(config, progress=Progress(enabled=not args.no_progress), say=say)
    finally:
        signal.signal(signal.SIGTERM, previous)
    for line in describe_demo(summary, config):
        print(line)
    return 0 if summary.ok else 1


def _run_december(args: argparse.Namespace, demo_config: Any, say: Callable[[str], None]) -> int:
    import signal

    from demo import DecemberConfig, describe_december, describe_demo, run_december
    from foundation.progress import Progress

    config = DecemberConfig(
        demo=demo_config,
        limits_scale=args.limits_scale,
        metrics_period_s=args.metrics_period,
        report_path=args.report,
        kid_table_write_units=args.kid_table_write_units or None,
    )

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        summary = run_december(config, progress=Progress(enabled=not args.no_progress), say=say)
    finally:
        signal.signal(signal.SIGTERM, previous)
    for line in describe_demo(summary.demo, config.demo) + describe_december(summary):
        print(line)
    return 0 if summary.ok else 1
