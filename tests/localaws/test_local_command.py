"""``nicelist local``: serves in the foreground, prints where, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_nicelist_local_prints_its_endpoint_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "nicelist.cli", "-v", "local", "--port", "0"]
    log = tmp_path / "local.log"
    with open(log, "wb") as stderr:
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=ROOT, env=env)
    try:
        assert server.stdout is not None
        ready, _, _ = select.select([server.stdout], [], [], 60)  # the line comes once the socket is bound
        assert ready, f"nicelist local printed nothing within 60 s:\n{log.read_text()}"
        first = server.stdout.readline()
        assert "local AWS" in first, f"{first!r}\n{log.read_text()}"
        endpoint = first.split(" at ", 1)[1].split(";", 1)[0]
        with urllib.request.urlopen(f"{endpoint}/_localaws/health", timeout=30) as response:
            assert response.status == 200
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0, log.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
