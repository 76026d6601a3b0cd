"""``python -m consumer`` speaking the MultiLangDaemon protocol on stdin/stdout, without the JVM."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from schemas import encode_event
from tests.factories import make_event

ROOT = Path(__file__).parents[2]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_processor(lines: list[dict], endpoint: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AWS_ENDPOINT_URL": endpoint,
        "NICELIST_SINK_MAX_ATTEMPTS": "2",
        "NICELIST_SINK_BASE_DELAY_S": "0.01",
        "NICELIST_SINK_MAX_DELAY_S": "0.01",
    }
    stdin = "".join(json.dumps(line) + "\n" for line in lines)
    return subprocess.run(
        [sys.executable, "-m", "consumer"], input=stdin, env=env, capture_output=True, text=True, timeout=60
    )


def actions(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_a_sink_that_stays_down_ends_the_process_with_status_70_before_any_checkpoint() -> None:
    record = {
        "action": "record",
        "data": base64.b64encode(encode_event(make_event())).decode(),
        "partitionKey": "k",
        "sequenceNumber": "100",
        "subSequenceNumber": 0,
        "approximateArrivalTimestamp": 1_766_448_000_000,
    }
    lines = [
        {"action": "initialize", "shardId": "shardId-000000000000", "sequenceNumber": None, "subSequenceNumber": None},
        {"action": "processRecords", "records": [record], "millisBehindLatest": 0},
        # the batch's writes overlap the next call, which waits for them and finds the sink down
        {"action": "processRecords", "records": [], "millisBehindLatest": 0},
    ]
    result = run_processor(lines, f"http://127.0.0.1:{closed_port()}")
    assert result.returncode == 70, result.stderr
    # stdout carries only the protocol: the first batch acknowledged (its writes still in flight),
    # no status for the call that found them failed, and never a checkpoint
    assert actions(result.stdout) == [
        {"action": "status", "responseFor": "initialize"},
        {"action": "status", "responseFor": "processRecords"},
    ]
    assert "giving up (exit 70)" in result.stderr


def test_end_of_input_ends_the_process_cleanly() -> None:
    lines = [
        {"action": "initialize", "shardId": "shardId-000000000000", "sequenceNumber": None, "subSequenceNumber": None},
        {"action": "processRecords", "records": [], "millisBehindLatest": 0},
        {"action": "leaseLost"},
    ]
    result = run_processor(lines, f"http://127.0.0.1:{closed_port()}")
    assert result.returncode == 0, result.stderr
    assert [a["responseFor"] for a in actions(result.stdout)] == ["initialize", "processRecords", "leaseLost"]
