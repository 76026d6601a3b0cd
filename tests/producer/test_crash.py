"""An event put() accepted survives SIGKILL: the next producer on the spool delivers it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import boto3
from moto import mock_aws

from producer import Producer, ProducerConfig
from tests.factories import make_event
from tests.producer.kinesis_faults import read_events

STREAM = "nicelist-test"
REPO = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    """A loopback port nothing listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_events_accepted_before_sigkill_are_delivered_by_the_next_producer(tmp_path: Path) -> None:
    events = [make_event(note="crash test" if i % 3 else None) for i in range(2000)]
    events_file = tmp_path / "events.json"
    events_file.write_text(json.dumps(events))
    spool = tmp_path / "spool"
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.producer._crash_child",
            str(events_file),
            str(spool),
            f"http://127.0.0.1:{closed_port()}",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()  # the child writes it after put() returned for every event
        assert line == f"accepted {len(events)}\n"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    assert len(list(spool.glob("*.seg"))) > 1  # several segments, the last one still memory-mapped when killed

    with mock_aws():
        kinesis = boto3.client("kinesis", region_name="us-east-1")
        kinesis.create_stream(StreamName=STREAM, ShardCount=4)
        config = ProducerConfig(stream_name=STREAM, kinesis_client=kinesis, spool_dir=spool, linger_ms=5)
        with Producer(config) as producer:
            assert producer.flush(60) == 0
            assert producer.metrics().replayed == len(events)
        stored = [event["event_id"] for _, _, event in read_events(kinesis, STREAM)]
    assert sorted(stored) == sorted(e["event_id"] for e in events)
    assert list(spool.glob("*.seg")) == []
