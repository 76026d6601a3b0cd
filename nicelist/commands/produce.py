"""``nicelist produce``: a load generator on the producer SDK, for any endpoint.

Simulated elf apps (one producer and one spool each) report on a population of kids with an
optional December-23rd spike. Exit status 0 when every event was delivered, 1 otherwise (the report
on stdout, one line on stderr; ``--verbose`` for the producers' log).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from nicelist._cli_errors import CommandFailed

from . import _types
from ._options import add_aws, add_names, add_no_progress, aws_settings, pipeline_names

if TYPE_CHECKING:
    from foundation.settings import AwsSettings
    from loadgen import LoadPlan

HELP = "generate behaviour events with simulated elf apps (count, rate, kids, elves, spike shape)"


def add_load_arguments(parser: argparse.ArgumentParser, *, events: int, rate: float, kids: int, elves: int) -> None:
    """The load flags ``produce`` and ``demo`` share."""
    load = parser.add_argument_group("load")
    count, share = _types.positive_int, _types.fraction
    load.add_argument("--events", "-n", type=count, default=events, help=f"events to send (default {events})")
    load.add_argument(
        "--rate",
        type=_types.non_negative_float,
        default=rate,
        help=f"events/s outside the spike over all elves, 0: unthrottled ({rate})",
    )
    load.add_argument("--kids", type=count, default=kids, help=f"kids in the population (default {kids})")
    load.add_argument("--elves", type=count, default=elves, help=f"elf apps, one producer each (default {elves})")
    load.add_argument("--spike-factor", type=_types.float_in(1), default=5.0, help="spike rate / base rate (default 5)")
    load.add_argument("--spike-start", type=share, default=0.3, help="share of events before the spike (0.3)")
    load.add_argument("--spike-share", type=share, default=0.5, help="share of events in the spike (0.5)")
    load.add_argument("--hot-kids", type=share, default=0.05, help="share of kids the spike keeps updating (0.05)")
    load.add_argument("--hot-share", type=share, default=0.8, help="share of spike events about hot kids (0.8)")
    load.add_argument("--naughty-share", type=share, default=0.25, help="chance a report says NAUGHTY (0.25)")
    load.add_argument(
        "--seed", type=_types.int_in(), default=23, help="random seed; the same seed sends the same events"
    )


def load_plan(args: argparse.Namespace) -> LoadPlan:
    from loadgen import LoadPlan, Population, SpikeShape

    return LoadPlan(
        Population(kids=args.kids, elves=args.elves, naughty_share=args.naughty_share),
        SpikeShape(
            events=args.events,
            base_rate=args.rate,
            spike_factor=args.spike_factor,
            spike_start=args.spike_start,
            spike_share=args.spike_share,
            hot_kids=args.hot_kids,
            hot_share=args.hot_share,
        ),
        seed=args.seed,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_load_arguments(parser, events=10_000, rate=500.0, kids=10_000, elves=4)
    add_names(parser, "stream")
    add_aws(parser)
    parser.add_argument(
        "--spool-dir", type=_types.directory, help="parent of the elves' spools (default: a temporary directory)"
    )
    parser.add_argument("--no-spool", action="store_true", help="no spools (undelivered events die with the process)")
    parser.add_argument("--linger-ms", type=_types.non_negative_int, default=100, help="producer linger (default 100)")
    parser.add_argument(
        "--flush-timeout",
        type=_types.positive_float,
        default=120.0,
        help="seconds to wait for deliveries; also bounds each PutRecords call (default 120)",
    )
    add_no_progress(parser)


def run(args: argparse.Namespace) -> int:

    from foundation.progress import Progress
    from loadgen import FleetConfig, produce

    plan = load_plan(args)
    aws = aws_settings(args)
    stream = pipeline_names(args).stream
    config = FleetConfig(
        stream=stream,
        aws=aws,
        spool_root=args.spool_dir,
        no_spool=args.no_spool,
        linger_ms=args.linger_ms,
        # --flush-timeout bounds the run's end: the flush waits that long, closing does not wait
        # again (what is left stays in the spools), and no PutRecords call outlasts it
        producer_options={"close_timeout_s": 0.0},
        client_factory=_bounded_clients(aws, args.flush_timeout),
    )
    print(
        f"sending {plan.shape.events} events from {plan.population.elves} elves about {plan.population.kids} kids "
        f"(planned {plan.shape.duration_s:.0f} s)",
        flush=True,  # stdout, the report's first line: stderr holds only progress and a failure's one line
    )
    with _quiet("loadgen", "producer", unless=bool(args.verbose)):
        result = produce(
            plan, config, progress=Progress(enabled=not args.no_progress), flush_timeout_s=args.flush_timeout
        )
    m = result.metrics
    print(f"planned:       {result.planned}")
    print(f"accepted:      {result.accepted}")
    print(f"delivered:     {result.delivered}")
    print(f"failed:        {result.failed}")
    print(f"undelivered:   {result.undelivered}")
    print(f"back-pressure: {result.backpressured} waits for buffer space")
    print(f"events/s:      {result.events_per_s:.0f} over {result.elapsed_s:.1f} s")
    print(f"PutRecords:    {m.get('put_records_calls', 0)} calls, {m.get('aggregated_records', 0)} aggregated records")
    for event_id, reason in result.failures:
        print(f"  failed {event_id}: {reason}")
    if not result.ok:
        last = f" (the last: {result.failures[-1][1]})" if result.failures else ""
        where = aws.endpoint_for("kinesis") or f"AWS {aws.region}"
        raise CommandFailed(
            f"{result.planned - result.delivered} of {result.planned} events not delivered to stream {stream} at "
            f"{where} within --flush-timeout {args.flush_timeout:g} s{last}"
        )
    return 0


@contextlib.contextmanager
def _quiet(*loggers: str, unless: bool) -> Iterator[None]:
    """Only CRITICAL from these loggers for the block (a report on stdout and one line on stderr
    say what went wrong; a warning per undelivered event would bury it), unless ``unless``."""
    if unless:
        yield
        return
    levels = {name: logging.getLogger(name).level for name in loggers}
    for name in loggers:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _bounded_clients(aws: AwsSettings, timeout_s: float) -> Callable[..., Any]:
    """Makes the elves' Kinesis clients with the producer's botocore settings (one attempt: the
    producer retries by itself), their connect and read timeouts cut to ``timeout_s``."""

    def client(service: str, **config: Any) -> Any:
        for name in ("connect_timeout", "read_timeout"):
            config[name] = min(float(config.get(name, timeout_s)), timeout_s)
        return aws.client(service, **config)

    return client
