"""The demo's mid-run reshard (the spike playbook), on its own thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class MidRunReshard:
    """The mid-run reshard, on its own thread so the elves and the progress keep going."""

    def __init__(self, kinesis: Any, stream: str, target: int, say: Callable[[str], None]) -> None:
        self._kinesis = kinesis
        self._stream = stream
        self._target = target
        self._say = say
        self._thread = threading.Thread(target=self._run, name="reshard", daemon=True)
        self._result: str | None = None
        self._error: BaseException | None = None
        self.started = False

    def start(self) -> None:
        self.started = True
        self._say(f"resharding {self._stream} to {self._target} open shards (the spike playbook)")
        self._thread.start()

    def _run(self) -> None:
        from admin.reshard import scale

        began = time.monotonic()
        try:
            result = scale(self._kinesis, self._stream, self._target, progress=lambda line: log.info("%s", line))
            steps = len(result.completed)
            self._result = f"{self._target} open shards in {steps} steps, {time.monotonic() - began:.1f} s"
        except Exception as exc:
            log.exception("reshard failed")
            self._error = exc

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def outcome(self) -> tuple[str, bool]:
        if self._thread.is_alive():
            return "still running", False
        if self._error is not None:
            return f"FAILED: {type(self._error).__name__}: {self._error}", False
        return self._result or "not run", self._result is not None
