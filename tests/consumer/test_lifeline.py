"""The daemon never outlives its launcher: SIGKILL the launcher, no JVM (and no processor) is left.

The fast tests stand a shell script in for the JVM; the ``kcl`` test runs ``nicelist worker`` with
the real MultiLangDaemon against the embedded stack and waits for its record processors first.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from admin.provision import provision
from consumer import _lifeline
from consumer.daemon import WorkerConfig, WorkerProcess
from foundation.settings import AwsSettings, PipelineNames
from localaws import LocalAWS
from tests.polling import poll, wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not _lifeline.supported(), reason="PR_SET_PDEATHSIG is Linux only")

#: stands in for the JVM: writes its pid, then waits for a signal
FAKE_JAVA = """#!/bin/sh
echo $$ > "$(dirname "$0")/pid"
trap 'exit 143' TERM
while true; do sleep 0.05; done
"""


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text("ascii").rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def fake_java(tmp_path: Path) -> Path:
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(FAKE_JAVA)
    java.chmod(0o755)
    return java


def _fake_pid(java: Path) -> int:
    pid_file = java.parent / "pid"
    return int(wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), timeout_s=20, what="fake JVM"))


def test_sigkill_of_the_launcher_takes_the_daemon_with_it(fake_java: Path, tmp_path: Path) -> None:
    env = {**os.environ, "JAVA_HOME": str(fake_java.parents[1]), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "nicelist.cli", "worker", "--worker-id", "w-orphan", "--run-dir", str(tmp_path)]
    launcher = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    pids = [launcher.pid]
    try:
        daemon = _fake_pid(fake_java)
        pids.append(daemon)
        assert alive(daemon)
        launcher.kill()
        launcher.wait(10)
        wait_until(lambda: not alive(daemon), timeout_s=20, what=f"daemon {daemon} to die with its launcher")
    finally:
        kill_all(pids)
        if launcher.poll() is None:
            launcher.wait(10)


def test_a_daemon_started_from_a_passing_thread_outlives_that_thread(fake_java: Path, tmp_path: Path) -> None:
    """PR_SET_PDEATHSIG fires when the forking *thread* ends: a worker started from a short-lived
    thread must survive it (it is forked from a thread that lives as long as the process)."""
    config = WorkerConfig(worker_id="w-thread", java=str(fake_java), run_dir=tmp_path / "run")
    started: list[WorkerProcess] = []
    thread = threading.Thread(target=lambda: started.append(WorkerProcess.start(config)))
    thread.start()
    thread.join(20)
    [worker] = started
    try:
        daemon = _fake_pid(fake_java)
        assert daemon == worker.pid and not thread.is_alive()
        assert worker.poll() is None and alive(daemon)
    finally:
        worker.kill()


def test_a_processor_dies_with_its_daemon(tmp_path: Path) -> None:
    """``python -m consumer`` watches its parent: a stand-in daemon (a shell that starts it
    and waits) is SIGKILLed while the processor blocks on a stdin that never closes (a FIFO it
    holds open itself), so only the parent-death signal can end it."""
    fifo, log = tmp_path / "fifo", tmp_path / "processor.log"
    os.mkfifo(fifo)
    script = f"exec 3<>{fifo}; {sys.executable} -m consumer <&3 2>{log} & echo $! > {tmp_path / 'pid'}; wait"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NICELIST_LOG_LEVEL": "INFO"}
    shell = subprocess.Popen(["sh", "-c", script], env=env)
    pids = [shell.pid]
    try:
        pid_file = tmp_path / "pid"
        found = wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), timeout_s=20, what="pid")
        processor = int(found)
        pids.append(processor)
        wait_until(
            lambda: log.exists() and "dies with its daemon" in log.read_text(errors="replace"),
            timeout_s=30,
            what="the processor to tie itself to its daemon",
        )
        shell.kill()
        shell.wait(10)
        wait_until(lambda: not alive(processor), timeout_s=30, what=f"processor {processor} to die with its daemon")
    finally:
        kill_all(pids)
        if shell.poll() is None:
            shell.wait(10)


#: stands in for the JVM: starts a record processor from a thread that then ends (as the KCL's
#: executor threads do), prints the processor's pid, and lives on until killed
PASSING_THREAD_PARENT = """
import pathlib, subprocess, sys, threading, time
started = []
def start():
    path = pathlib.Path(sys.argv[1])
    log = open(path, "wb")
    started.append(subprocess.Popen([sys.executable, "-m", "consumer"], stdin=subprocess.PIPE, stderr=log))
    deadline = time.monotonic() + 30  # the thread lives until the processor has tied itself to it
    while b"dies with its daemon" not in path.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.05)
thread = threading.Thread(target=start)
thread.start()
thread.join()
print(started[0].pid, flush=True)
time.sleep(600)
"""


def test_a_processor_outlives_the_thread_that_started_it(tmp_path: Path) -> None:
    """The JVM starts record processors from executor threads it retires at will; a processor tied
    to that thread (PR_SET_PDEATHSIG) was SIGKILLed mid-run and took its daemon down. It watches
    its parent process instead: the thread's end leaves it running, the parent's death ends it."""
    log = tmp_path / "processor.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NICELIST_LOG_LEVEL": "INFO"}
    parent = subprocess.Popen(
        [sys.executable, "-c", PASSING_THREAD_PARENT, str(log)], env=env, stdout=subprocess.PIPE, text=True
    )
    pids = [parent.pid]
    try:
        assert parent.stdout is not None
        processor = int(parent.stdout.readline())
        pids.append(processor)
        wait_until(
            lambda: log.exists() and "dies with its daemon" in log.read_text(errors="replace"),
            timeout_s=30,
            what="the processor to watch its daemon",
        )
        # the starting thread ended (after the processor started watching) before the pid was
        # printed; with a parent-death signal the processor would be dead by now: give it a few
        # watch intervals to prove otherwise
        _, died = poll(lambda: not alive(processor), bool, timeout_s=3.0, poll_s=0.2)
        assert not died, log.read_text(errors="replace")
        parent.kill()
        parent.wait(10)
        wait_until(lambda: not alive(processor), timeout_s=30, what=f"processor {processor} to die with its parent")
    finally:
        kill_all(pids)
        if parent.poll() is None:
            parent.wait(10)


@pytest.mark.kcl
@pytest.mark.timeout(300)
def test_sigkill_of_nicelist_worker_leaves_no_jvm_and_no_processor(local_aws: LocalAWS, tmp_path: Path) -> None:
    """The real thing: ``nicelist worker`` on the embedded stack, its JVM holding a lease with a
    record processor running; SIGKILL the launcher and nothing of the worker is left."""
    suffix = uuid.uuid4().hex[:8]
    names = PipelineNames(
        stream=f"life-{suffix}",
        table=f"life-kids-{suffix}",
        bucket=f"life-archive-{suffix}",
        application=f"life-{suffix}",
    )
    aws = AwsSettings(region=local_aws.region, endpoint_url=local_aws.endpoint_url)
    provision(aws, names, 1)
    env = {**os.environ, **local_aws.env(), "PYTHONPATH": str(ROOT)}
    log = tmp_path / "launcher.log"
    command = [
        *(sys.executable, "-m", "nicelist.cli", "worker", "--worker-id", "w-life", "--run-dir", str(tmp_path)),
        *("--stream", names.stream, "--table", names.table, "--bucket", names.bucket),
        *("--application", names.application, "--endpoint", local_aws.endpoint_url),
    ]
    with open(log, "wb") as output:
        launcher = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    pids = [launcher.pid]
    try:
        match = wait_until(
            lambda: re.search(r"\(pid (\d+)\)", log.read_text(errors="replace")), timeout_s=30, what="the JVM's pid"
        )
        jvm = int(match.group(1))
        pids.append(jvm)
        processors = wait_until(
            lambda: [p for p in children(jvm) if "consumer" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")],
            timeout_s=150,
            poll_s=1.0,
            what="a record processor under the JVM (lease taken)",
        )
        pids.extend(processors)
        assert alive(jvm) and all(alive(p) for p in processors)
        launcher.kill()
        launcher.wait(10)
        wait_until(
            lambda: not alive(jvm) and not any(alive(p) for p in processors),
            timeout_s=60,
            what=f"JVM {jvm} and processors {processors} to die with the launcher",
        )
    finally:
        kill_all(pids)
        if launcher.poll() is None:
            launcher.wait(10)
