"""The demo's KCL workers: started, restarted when one dies (as a supervisor would), stopped by
PID at the end; and how many leases they hold."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from foundation.aws_errors import error_code

from ._errors import DemoError

log = logging.getLogger(__name__)

#: a worker that died is restarted (as its supervisor would) at most this many times
MAX_WORKER_RESTARTS = 3


class DemoWorkers:
    """The KCL workers, restarted when one dies, stopped (by PID) at the end."""

    def __init__(self, make_config: Callable[[int], Any]) -> None:
        from consumer.daemon import WorkerProcess

        self._start = WorkerProcess.start
        self._make_config = make_config
        self.processes: list[Any] = []
        self.restarts = 0

    def _launch(self, index: int) -> Any:
        """Start worker ``index`` with Ctrl-C and SIGTERM deferred until it is on the list that
        :meth:`stop` walks, so an interrupt can never leave a worker nobody stops. (Deferred by
        a Python handler, not a signal mask: a mask would be inherited by the JVM.)"""
        deferred: list[int] = []
        previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, lambda signum, frame: deferred.append(signum))
        try:
            process = self._start(self._make_config(index))
            if index < len(self.processes):
                self.processes[index] = process
            else:
                self.processes.append(process)
            return process
        finally:
            for held, handler in previous.items():
                signal.signal(held, handler)
            if deferred:
                raise KeyboardInterrupt

    def start(self, count: int) -> None:
        for index in range(count):
            self._launch(index)

    def supervise(self) -> None:
        for index, process in enumerate(self.processes):
            status = process.poll()
            if status is None:
                continue
            if self.restarts >= MAX_WORKER_RESTARTS * len(self.processes):
                raise DemoError(f"worker {index} exited with status {status} and was restarted too often")
            log.warning("worker %s (pid %s) exited with status %s; restarting it", index, process.pid, status)
            self.restarts += 1
            self._launch(index)

    def stop(self) -> None:
        """SIGTERM every worker at once (each drains and checkpoints), SIGKILL any that linger."""

        def stop_one(process: Any) -> None:
            try:
                process.stop(timeout=30)
            except Exception:
                log.exception("stopping worker pid %s failed", process.pid)

        threads = [threading.Thread(target=stop_one, args=(p,), name=f"stop-{p.pid}") for p in self.processes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def leases_owned(dynamodb: Any, lease_table: str) -> int:
    """How many leases of the KCL application have an owner (0 while the table does not exist)."""
    owned = 0
    try:
        for page in dynamodb.get_paginator("scan").paginate(TableName=lease_table):
            owned += sum(1 for item in page.get("Items", ()) if "leaseOwner" in item and "checkpoint" in item)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return 0
        raise
    return owned
