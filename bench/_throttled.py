"""The consumer benchmark's throttled pass: the record processor against a kid table that grants
C write units per second (:class:`bench._kid_table.KidTable`, answered in-process behind a
botocore ``before-send`` hook, as the rest of :mod:`bench.consumer`).

1. **Throttled**: distinct kids, more than the table takes in the window (C x seconds x 1.25), a
   fresh table, the capacity applying for ``seconds`` from the first write. Reports
   ``throttled_capacity_utilisation`` (items written inside the window / (C x seconds)) and
   ``gave_up`` (the processor stopped, or anything raised).
2. **Restart**: a fresh processor (its sink knows no kid) writes a newer event for every kid of
   the table, with no capacity limit: ``write_statements_per_kid_after_restart`` is the
   statements the table answered per kid written (1.0 is ideal; 2.0 is INSERT-then-UPDATE).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from ._inprocess import InProcessAws
from ._kid_table import KidTable


class TableAws(InProcessAws):
    """The benchmark's in-process AWS, with DynamoDB's writes answered by ``table``."""

    def __init__(self, table: KidTable, latency_s: float) -> None:
        super().__init__(latency_s)
        self.table = table

    def dynamodb_answer(self, operation: str, body_bytes: bytes) -> dict[str, Any]:
        if operation != "BatchExecuteStatement":
            return super().dynamodb_answer(operation, body_bytes)
        if not self.table.started:  # the window opens at the first write
            self.table.start()
        return {"Responses": self.table.execute(json.loads(body_bytes)["Statements"])}


def _records(events: list[dict[str, Any]], first_sequence: int) -> list[dict[str, Any]]:
    import base64

    from schemas import encode_event

    return [
        {
            "action": "record",
            "data": base64.b64encode(encode_event(event)).decode("ascii"),
            "partitionKey": event["kid_id"],
            "sequenceNumber": str(first_sequence + n),
            "subSequenceNumber": 0,
            "approximateArrivalTimestamp": event["observed_at"],
        }
        for n, event in enumerate(events)
    ]


def _run(records: list[dict[str, Any]], aws: TableAws, config: Any) -> tuple[bool, Any]:
    """The processor over ``records``; whether it gave up, and its sink's figures."""
    from amazon_kclpy import messages

    from bench._inprocess import SHARD_ID, Checkpointer, _session, batches, parse
    from consumer.app import build_sinks, client_options
    from consumer.processor import NicelistProcessor

    def client(service: str) -> Any:
        from botocore.config import Config

        return aws.attach(_session().client(service, config=Config(**client_options(config, service))))

    dynamodb, archive = build_sinks(config, client("dynamodb"), client("s3"))
    stopped: list[int] = []
    processor = NicelistProcessor(config=config, dynamodb=dynamodb, archive=archive, exit=stopped.append)
    processor.initialize(
        messages.InitializeInput(
            {"action": "initialize", "shardId": SHARD_ID, "sequenceNumber": None, "subSequenceNumber": None}
        )
    )
    checkpointer = Checkpointer()
    try:
        for line in batches(records):
            message = parse(line)
            message._checkpointer = checkpointer
            processor.process_records(message)
        shutdown = messages.ShutdownRequestedInput({"action": "shutdownRequested"})
        shutdown._checkpointer = checkpointer
        processor.shutdown_requested(shutdown)
    finally:
        dynamodb.close()
        archive.close()
    gave_up = bool(stopped) or processor.failed or processor.counters["events"] != len(records)
    return gave_up, dynamodb.stats()


def run_throttled_pass(
    *, capacity_per_s: float, seconds: float, latency_s: float, say: Callable[[str], None]
) -> dict[str, Any]:
    """Both passes; the figures for the JSON report."""
    from bench.producer import make_events
    from consumer import ProcessorConfig

    config = ProcessorConfig()
    count = int(capacity_per_s * seconds * 1.25) + 500
    events = make_events(count, seed=1223)
    table = KidTable(clock=time.monotonic, units_per_s=capacity_per_s, window_s=seconds)
    aws = TableAws(table, latency_s)
    started = time.monotonic()
    gave_up, stats = _run(_records(events, 10**20), aws, config)
    wall = time.monotonic() - started
    utilisation = table.written_in_window / (capacity_per_s * seconds)
    say(
        f"\nthrottled pass: {count} distinct kids, {capacity_per_s:g} write units/s for {seconds:g} s "
        f"({latency_s * 1000:g} ms per call): {table.written_in_window} items written in the window "
        f"(utilisation {utilisation:.3f}), {table.throttled} statements throttled, {stats.waited_s:.1f} s "
        f"waited, gave up: {gave_up}; all {table.written} written after {wall:.1f} s"
    )
    newer = [{**e, "event_id": str(uuid.uuid4()), "observed_at": e["observed_at"] + 1} for e in events]
    restart_table = KidTable(clock=time.monotonic, items=dict(table.items))  # every kid exists; no limit
    restarted_gave_up, restarted = _run(_records(newer, 10**21), TableAws(restart_table, latency_s), config)
    per_kid = restart_table.answered / max(1, restart_table.written)
    say(
        f"restart on the full table: {restart_table.written} kids written with {restart_table.answered} "
        f"statements ({per_kid:.3f} per kid; sink's own count {restarted.write_statements}/{restarted.kids_settled})"
    )
    return {
        "throttled_capacity_utilisation": round(utilisation, 3),
        "gave_up": gave_up or restarted_gave_up,
        "write_statements_per_kid_after_restart": round(per_kid, 3),
        "throttled_statements": table.throttled,
        "throttled_wait_s": round(stats.waited_s, 1),
        "throttled_capacity_units_per_s": capacity_per_s,
        "throttled_seconds": seconds,
    }
