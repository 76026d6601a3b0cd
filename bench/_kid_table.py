"""An in-process kid table: what DynamoDB answers to the worker's BatchExecuteStatement, with a
write capacity (pure, no AWS; the clock is injected).

Used by ``python -m bench.consumer``'s throttled pass (behind a botocore hook) and by the
consumer's throttling tests (behind a fake client). It answers as the DynamoDB documentation
says (BatchExecuteStatement, BatchStatementError, PartiQL INSERT and UPDATE): one response per
statement; INSERT of an existing key: ``DuplicateItem``; UPDATE whose condition is false or whose
item is missing: ``ConditionalCheckFailed`` (with the old item in ``Error.Item`` when there is one:
``ALL_OLD``). Capacity: a token bucket of ``units_per_s`` write units per second holding at most
``burst_s`` seconds of them, empty at the start (DynamoDB keeps up to 300 s of unused capacity:
1 s is the harsh case); one unit per statement answered (items under 1 KB; a failed condition is billed too);
a statement over the capacity answers ``ThrottlingError`` (or, with ``whole_call``, the whole call
is refused with ``ThrottlingException``), only inside the throttling window.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class CallThrottled(Exception):
    """The whole call is throttled (``ThrottlingException``)."""


@dataclass
class KidTable:
    clock: Callable[[], float]
    #: write units per second inside the window (None: unlimited)
    units_per_s: float | None = None
    burst_s: float = 1.0
    #: seconds the capacity applies, from :meth:`start` (None: for ever)
    window_s: float | None = None
    #: throttle whole calls (every call in the window) instead of statements over the capacity
    whole_call: bool = False
    items: dict[str, tuple[int, str]] = field(default_factory=dict)
    answered: int = 0
    written: int = 0
    written_in_window: int = 0
    throttled: int = 0
    _started: float | None = None
    _tokens: float = 0.0
    _refilled: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        """The throttling window opens now, with an empty bucket (so at most C x seconds are granted)."""
        self._started = self._refilled = self.clock()
        self._tokens = 0.0

    @property
    def started(self) -> bool:
        return self._started is not None

    def in_window(self) -> bool:
        if self._started is None or self.units_per_s is None:
            return False
        return self.window_s is None or self.clock() - self._started < self.window_s

    def _take(self) -> bool:
        if not self.in_window():
            return True
        assert self.units_per_s is not None
        now = self.clock()
        self._tokens = min(self.units_per_s * self.burst_s, self._tokens + (now - self._refilled) * self.units_per_s)
        self._refilled = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def execute(self, statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The ``Responses`` of one BatchExecuteStatement; raises :class:`CallThrottled`."""
        with self._lock:
            return self._execute(statements)

    def _execute(self, statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.whole_call and self.in_window():
            self.throttled += len(statements)
            raise CallThrottled()
        responses = []
        for statement in statements:
            if not self._take():
                self.throttled += 1
                responses.append({"Error": {"Code": "ThrottlingError", "Message": "Throughput exceeds the capacity"}})
                continue
            self.answered += 1
            responses.append(self._apply(statement["Statement"], statement["Parameters"]))
        return responses

    def _apply(self, text: str, params: list[dict[str, Any]]) -> dict[str, Any]:
        if text.startswith("INSERT"):
            kid, order = params[0]["S"], (int(params[4]["N"]), params[3]["S"])
            if kid in self.items:
                return {"Error": {"Code": "DuplicateItem", "Message": "Duplicate primary key exists in table"}}
            return self._store(kid, order)
        kid, order = params[-4]["S"], (int(params[-3]["N"]), params[-1]["S"])
        stored = self.items.get(kid)
        if stored is None or stored >= order:
            error: dict[str, Any] = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
            if stored is not None:
                error["Item"] = {
                    "kid_id": {"S": kid},
                    "observed_at": {"N": str(stored[0])},
                    "event_id": {"S": stored[1]},
                }
            return {"Error": error}
        return self._store(kid, order)

    def _store(self, kid: str, order: tuple[int, str]) -> dict[str, Any]:
        self.items[kid] = order
        self.written += 1
        if self.in_window():
            self.written_in_window += 1
        return {"TableName": "kids"}
