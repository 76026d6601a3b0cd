"""The LocalAWS process API: start on a free port, readiness, env, stop by PID, no orphans."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localaws import LocalAWS, StackConfig, StackStartError


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie child of ours still "exists"; ask ps whether it is defunct
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    return bool(state) and not state.startswith("Z")


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_the_session_stack_reports_itself(local_aws: LocalAWS) -> None:
    health = local_aws.health()
    assert health["pid"] == local_aws.pid and health["moto"] == "5.2.5"
    assert set(health["kinesis_fixes"]) >= {"routing", "resharding", "shard_end", "list_shards", "record_index"}
    env = local_aws.env()
    assert env["AWS_ENDPOINT_URL"] == local_aws.endpoint_url == f"http://127.0.0.1:{local_aws.port}"
    assert env["AWS_ACCESS_KEY_ID"] == "testing" and env["AWS_REGION"] == "us-east-1"


def test_start_on_a_chosen_port_and_stop_cleanly_by_sigterm() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stack = LocalAWS.start(port=port)
    try:
        assert stack.port == port and stack.is_running()
        stack.client("s3").list_buckets()
    finally:
        status = stack.stop()
    assert status == 0  # SIGTERM is a clean shutdown, not a kill
    assert stack.stop() == 0  # idempotent
    assert not stack.is_running()


def test_a_server_that_cannot_start_fails_fast_with_its_log() -> None:
    with pytest.raises(StackStartError, match="unrecognized arguments"):
        LocalAWS.start(config=StackConfig(extra_args=("--no-such-flag",), start_timeout_s=30))


def test_the_server_exits_when_its_parent_is_killed() -> None:
    script = (
        "import sys, time\n"
        "from localaws import LocalAWS\n"
        "stack = LocalAWS.start()\n"
        "print(stack.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=root, env=env)
    server_pid = 0
    try:
        assert parent.stdout is not None
        ready, _, _ = select.select([parent.stdout], [], [], 60)
        assert ready, "the parent printed no server pid within 60 s"
        server_pid = int(parent.stdout.readline())
        assert _alive(server_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert _wait_gone(server_pid, 15), "the server outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        if server_pid and _alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)


def test_stats_count_requests_by_operation_and_status(local_aws: LocalAWS) -> None:
    kinesis = local_aws.client("kinesis", retries={"mode": "standard", "total_max_attempts": 1})
    before = {(r["operation"], r["status"]): r["count"] for r in local_aws.stats() if r["service"] == "kinesis"}
    kinesis.list_streams()
    with pytest.raises(Exception, match="ResourceNotFound"):
        kinesis.describe_stream_summary(StreamName="no-such-stream-for-stats")
    after = {(r["operation"], r["status"]): r["count"] for r in local_aws.stats() if r["service"] == "kinesis"}
    assert after[("ListStreams", 200)] == before.get(("ListStreams", 200), 0) + 1
    assert after[("DescribeStreamSummary", 400)] == before.get(("DescribeStreamSummary", 400), 0) + 1


def test_busy_says_how_long_each_operation_held_the_stack(local_aws: LocalAWS) -> None:
    local_aws.client("kinesis").list_streams()
    busy = {(r["service"], r["operation"]): r["seconds"] for r in local_aws.busy()}
    assert busy[("kinesis", "ListStreams")] > 0
    seconds = [r["seconds"] for r in local_aws.busy()]
    assert seconds == sorted(seconds, reverse=True)
