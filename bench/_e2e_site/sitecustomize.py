"""Loaded by the benchmark's record processors only (this folder is put first on their
PYTHONPATH): counts every AWS call the process makes, by service and operation, and the error
codes, into ``$NICELIST_BENCH_COUNTS_DIR/calls-<pid>.json`` (rewritten every second and at exit).
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from collections import Counter
from typing import Any

_DIR = os.environ.get("NICELIST_BENCH_COUNTS_DIR")


def _install(directory: str) -> None:
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    calls: Counter[str] = Counter()
    lock = threading.Lock()
    path = os.path.join(directory, f"calls-{os.getpid()}.json")
    original = BaseClient._make_api_call

    def counted(self: Any, operation_name: str, api_params: Any) -> Any:
        name = f"{self.meta.service_model.service_name}:{operation_name}"
        try:
            return original(self, operation_name, api_params)
        except ClientError as exc:
            with lock:
                calls[f"{name}:{exc.response.get('Error', {}).get('Code', '?')}"] += 1
            raise
        finally:
            with lock:
                calls[name] += 1

    def dump() -> None:
        with lock:
            snapshot = dict(calls)
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(snapshot, out)
        os.replace(tmp, path)

    def every_second() -> None:
        stop = threading.Event()
        while not stop.wait(1.0):
            dump()

    BaseClient._make_api_call = counted  # type: ignore[method-assign]
    threading.Thread(target=every_second, name="bench-call-counts", daemon=True).start()
    atexit.register(dump)


if _DIR:
    _install(_DIR)
