"""KCL workers keep consuming while ``admin.reshard.scale`` takes the stream 4 -> 8 -> 3 shards:
every event the producer delivered is archived to S3, none lost.

One real MultiLangDaemon (cold start 20-40 s) on the embedded stack; about two minutes in all.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastavro
import pytest

from admin.provision import provision
from admin.reshard import ReshardConfig, Resharder, scale
from consumer.config import ProcessorConfig
from consumer.daemon import WorkerConfig, WorkerProcess
from foundation.settings import AwsSettings, PipelineNames
from localaws import LocalAWS
from producer import DeliveryFuture, Producer, ProducerConfig
from tests.factories import make_event
from tests.stack import local_aws, unique_name  # noqa: F401  (borrowed: one stack per test process)

pytestmark = [pytest.mark.kcl, pytest.mark.timeout(600)]

#: events per producer tick, and the tick: about 100 events/s, well within moto's pace
BATCH = 20
TICK_S = 0.2
DEADLINE_S = 240.0


@pytest.fixture
def stack(local_aws: LocalAWS) -> LocalAWS:  # noqa: F811
    """The one embedded stack every borrower of tests.stack shares."""
    return local_aws


class ArchiveReader:
    """Event ids (and shard ids) in the archive; each immutable object is read once."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.seen_keys: set[str] = set()
        self.event_ids: list[str] = []
        self.shard_ids: set[str] = set()

    def refresh(self) -> set[str]:
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix="events/"):
            for item in page.get("Contents", ()):
                key = item["Key"]
                if key in self.seen_keys:
                    continue
                body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                for row in fastavro.reader(io.BytesIO(body)):
                    assert isinstance(row, dict)
                    self.event_ids.append(row["event_id"])
                    self.shard_ids.add(row["shard_id"])
                self.seen_keys.add(key)
        return set(self.event_ids)


class SteadyProducer:
    """Puts BATCH events every TICK_S from a thread until stopped; keeps every future."""

    def __init__(self, producer: Producer) -> None:
        self.producer = producer
        self.sent: list[tuple[str, DeliveryFuture]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="steady-producer", daemon=True)

    def _run(self) -> None:
        while not self.stopping.wait(TICK_S):  # pacing, not waiting for an outcome
            for _ in range(BATCH):
                event = make_event()
                future = self.producer.put(event)
                with self.lock:
                    self.sent.append((event["event_id"], future))

    def count(self) -> int:
        with self.lock:
            return len(self.sent)

    def ids(self, start: int = 0) -> set[str]:
        with self.lock:
            return {event_id for event_id, _ in self.sent[start:]}


def wait_until(what: str, condition: Callable[[], bool], worker: WorkerProcess, log: Path) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if worker.poll() is not None:
            pytest.fail(f"the KCL daemon exited ({worker.poll()}) while waiting for {what}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {DEADLINE_S:.0f} s:\n{_tail(log)}")
        time.sleep(1.0)  # polling interval under a deadline


def _tail(log: Path) -> str:
    return "\n".join(log.read_text("utf-8", errors="replace").splitlines()[-40:]) if log.exists() else "(no log)"


def test_workers_keep_consuming_while_the_stream_scales_4_8_3(stack: LocalAWS, tmp_path: Path) -> None:
    names = PipelineNames(
        stream=unique_name("kcl-reshard"),
        table=unique_name("kcl-reshard"),
        bucket=unique_name("kcl-reshard"),
        application=unique_name("kcl-reshard"),
    )
    aws = AwsSettings(endpoint_url=stack.endpoint_url)
    provision(aws, names, shards=4)
    kinesis = aws.client("kinesis")
    archive = ArchiveReader(aws.client("s3"), names.bucket)
    log = tmp_path / "worker.log"
    progress: list[str] = []
    started = time.monotonic()
    phases: list[str] = []

    def phase(name: str) -> None:
        phases.append(f"{name} {time.monotonic() - started:.0f}s")

    worker = WorkerProcess.start(
        WorkerConfig(
            names=names,
            aws=aws,
            worker_id="reshard-kcl",
            processor=ProcessorConfig(names=names, aws=aws, archive_max_file_age_s=2.0),
            log_path=log,
            log_level="WARN",
        )
    )
    try:
        with Producer(ProducerConfig(stream_name=names.stream, aws=aws, spool_dir=None)) as producer:
            steady = SteadyProducer(producer)
            steady.thread.start()
            try:
                wait_until("first archived events", lambda: bool(archive.refresh()), worker, log)
                phase("first archived")

                scale(kinesis, names.stream, 8, progress=progress.append)
                phase("scaled to 8")
                after_8 = steady.count()
                wait_until(
                    "events put after scaling to 8 archived",
                    lambda: after_8 < steady.count() and bool(steady.ids(after_8) & archive.refresh()),
                    worker,
                    log,
                )

                phase("consuming the 8")
                scale(kinesis, names.stream, 3, progress=progress.append)
                phase("scaled to 3")
                after_3 = steady.count()
                wait_until(
                    "events put after scaling to 3 archived",
                    lambda: after_3 < steady.count() and bool(steady.ids(after_3) & archive.refresh()),
                    worker,
                    log,
                )
                phase("consuming the 3")
            finally:
                steady.stopping.set()
                steady.thread.join(timeout=30)
            assert producer.flush(timeout=60) == 0
            for _, future in steady.sent:
                future.result(timeout=0)  # every event was delivered (raises otherwise)

        sent = steady.ids()
        wait_until("every delivered event archived", lambda: sent <= archive.refresh(), worker, log)
        phase("all archived")
    finally:
        worker.stop(timeout=30)

    topology = Resharder(kinesis, ReshardConfig(stream=names.stream)).topology()
    assert topology.open_count == 3
    # consumed from the original 4 shards and from each of the final 3 alike
    original = {s.shard_id for s in topology.shards if not s.parents}
    assert len(original) == 4
    assert original <= archive.shard_ids
    assert {s.shard_id for s in topology.open} <= archive.shard_ids
    assert [line.split(" ")[0] for line in progress if line.startswith("UpdateShardCount")] == ["UpdateShardCount"] * 3
    duplicates = len(archive.event_ids) - len(set(archive.event_ids))
    print(f"{len(sent)} events sent, all archived; {duplicates} archived twice; shards seen {len(archive.shard_ids)}")
    print("phases: " + ", ".join(phases))
