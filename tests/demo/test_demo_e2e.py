"""``nicelist demo`` end to end: the real KCL daemon, the embedded stack, a reshard mid-run.

One small run (the KCL's cold start dominates), then Ctrl-C on a second demo before it gets
far: both must leave no process behind.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nicelist.cli import main

pytestmark = pytest.mark.kcl

ROOT = Path(__file__).resolve().parents[2]


def _processes_in(directory: Path) -> list[int]:
    """PIDs of live processes whose working directory or command line is under ``directory``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (cwd.startswith(str(directory)) or str(directory) in cmdline):
            found.append(int(entry.name))
    return found


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.timeout(420)
def test_small_demo_loses_nothing_and_cleans_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work_dir = tmp_path / "demo"
    before = set(_children_of(os.getpid()))  # e.g. the session's shared stack
    rc = main(
        [
            "demo",
            "--events=1500",
            "--rate=300",
            "--kids=300",
            "--elves=3",
            "--shards=4",
            "--workers=2",
            "--reshard-to=6",
            f"--work-dir={work_dir}",
            "--no-progress",
        ]
    )
    captured = capsys.readouterr()
    out = captured.out
    assert rc == 0, out
    assert "RESULT: nothing lost, table agrees with archive" in out
    assert "events produced (delivered):  1500" in out
    assert "lost (delivered, unarchived): 0" in out
    assert "dead-lettered:                3  (undecodable records put: 3)" in out
    assert "reconcile:                    AGREE" in out
    assert "6 open shards" in out
    # the workers published their metrics to the embedded stack's CloudWatch, and status rendered
    assert "nicelist status:" in captured.err and "leases per worker: demo-worker-" in captured.err
    published = re.search(r"worker metrics \(CloudWatch\):  events (\d+),.* dead letters (\d+)", out)
    assert published and int(published.group(1)) >= 1500 and int(published.group(2)) >= 3, out
    assert "p99" in out and "n/a" not in out
    assert "nicelist query --example busiest-elves" in out and "(3 rows)" in out  # the archive's answer
    assert _processes_in(work_dir) == []
    assert set(_children_of(os.getpid())) <= before


@pytest.mark.timeout(120)
def test_ctrl_c_stops_everything_the_demo_started(tmp_path: Path) -> None:
    work_dir = tmp_path / "interrupted"
    demo = subprocess.Popen(
        [sys.executable, "-m", "nicelist.cli", "demo", "--no-progress", f"--work-dir={work_dir}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert demo.stderr is not None
        deadline = time.monotonic() + 90
        lines = []
        for line in demo.stderr:  # the demo prints one line per step; read until the workers start
            lines.append(line)
            if "KCL workers" in line or time.monotonic() > deadline:
                break
        assert any("KCL workers" in line for line in lines), lines
        started = _children_of(demo.pid)
        assert started, "the stack and workers should be running"
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 130
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
    deadline = time.monotonic() + 10
    while _processes_in(work_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_in(work_dir) == []
    for pid in started:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]
