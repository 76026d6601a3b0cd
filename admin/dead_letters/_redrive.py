"""Redrive: dead letters' original bytes back into the stream, each dead letter at most once.

For each dead letter: read it through once (a file that is not a dead-letter file is skipped
and named, nothing of it put), skip it if a redrive finished or claimed it, then create its
claim marker (create-only, see :mod:`._store`), put its user records back with PutRecords (each
with its original bytes and partition key, in sub-sequence order, in batches within the
service's limits; a 200 answer is read for ``FailedRecordCount`` and only the failed entries
are sent again, with capped backoff), and write its done marker.

At most once: the claim is created before the first record is put, so two redrives at once
cannot both put a dead letter (S3 lets one create the marker), and a redrive killed midway
leaves the claim without the done marker: no later redrive puts that dead letter again.
``list`` shows it as "claimed, not finished"; the operator decides (its parts may have been put
in part). A batch whose entries keep failing stops the dead letter the same way
(:class:`RedriveError`). ``dry_run`` reads and reports without writing anything.
"""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from foundation.avro_objects import UnreadableObjectError, iter_container
from foundation.aws_errors import error_code, error_message
from foundation.backoff import Backoff
from schemas import DEAD_LETTER, latest

from ._errors import DeadLetterError, RedriveError
from ._model import Entry, batches, claimed_key, done_key, entries, iso
from ._store import DeadLetterStore

log = logging.getLogger(__name__)

#: whole-call errors worth another attempt (throttling, a service hiccup)
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "LimitExceededException",
        "InternalFailure",
        "ServiceUnavailable",
        "KMSThrottlingException",
    }
)

OUTCOME_REDRIVEN = "redriven"
OUTCOME_DRY_RUN = "would redrive"
OUTCOME_DONE_BEFORE = "already redriven"
OUTCOME_CLAIMED = "claimed by another redrive (running, or stopped midway)"
OUTCOME_UNREADABLE = "skipped: not a dead-letter file"
OUTCOME_FAILED = "stopped midway (stays claimed)"


@dataclass(frozen=True, kw_only=True)
class RedriveConfig:
    #: PutRecords attempts per batch before the dead letter is given up (stays claimed)
    max_attempts: int = 8
    backoff: Backoff = field(default_factory=lambda: Backoff(base_s=0.1, max_s=5.0))


@dataclass(kw_only=True)
class RedriveResult:
    key: str
    outcome: str
    parts: int = 0
    put: int = 0
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "outcome": self.outcome, "parts": self.parts, "put": self.put, "detail": self.detail}

    def line(self) -> str:
        counts = f"{self.put}/{self.parts} parts put" if self.outcome != OUTCOME_DRY_RUN else f"{self.parts} parts"
        return f"{self.key}: {self.outcome} ({counts}){': ' + self.detail if self.detail else ''}"


def _rows(body: bytes) -> Iterator[dict[str, Any]]:
    return iter_container(body, latest(DEAD_LETTER).parsed)


class Redriver:
    """Puts dead letters back into ``stream``; clients, sleep, clock and random source injected."""

    def __init__(
        self,
        *,
        store: DeadLetterStore,
        kinesis: Any,
        stream: str,
        config: RedriveConfig | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        owner: str | None = None,
    ) -> None:
        self._store = store
        self._kinesis = kinesis
        self._stream = stream
        self._config = config or RedriveConfig()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._owner = owner or socket.gethostname()

    def redrive(self, bodies: Iterable[tuple[str, bytes]], *, dry_run: bool = False) -> Iterator[RedriveResult]:
        """One result per dead letter of ``bodies`` (``(key, body)``), in order."""
        for key, body in bodies:
            yield self.redrive_one(key, body, dry_run=dry_run)

    def redrive_one(self, key: str, body: bytes, *, dry_run: bool = False) -> RedriveResult:
        try:
            parts = sum(1 for _ in _rows(body))  # read through once: never act on part of a file
        except UnreadableObjectError as exc:
            return RedriveResult(key=key, outcome=OUTCOME_UNREADABLE, detail=f"{len(body)} bytes: {exc.reason}")
        if self._store.is_done(key):
            return RedriveResult(key=key, outcome=OUTCOME_DONE_BEFORE, parts=parts)
        if dry_run:
            claimed = self._store.is_claimed(key)
            return RedriveResult(key=key, outcome=OUTCOME_CLAIMED if claimed else OUTCOME_DRY_RUN, parts=parts)
        claim = {"owner": self._owner, "claimed_at": iso(int(self._clock() * 1000)), "parts": parts}
        if not self._store.create_marker(claimed_key(key), claim):
            return RedriveResult(key=key, outcome=OUTCOME_CLAIMED, parts=parts)
        put = 0
        try:
            for batch in batches(entries(_rows(body))):
                put += self._put_batch(key, batch)
        except (RedriveError, DeadLetterError) as exc:
            log.error("redrive of %s stopped after %s of %s parts: %s", key, put, parts, exc)
            return RedriveResult(key=key, outcome=OUTCOME_FAILED, parts=parts, put=put, detail=str(exc))
        done = {**claim, "finished_at": iso(int(self._clock() * 1000)), "put": put}
        self._store.create_marker(done_key(key), done)
        return RedriveResult(key=key, outcome=OUTCOME_REDRIVEN, parts=parts, put=put)

    def _put_batch(self, key: str, batch: list[Entry]) -> int:
        """Put every entry of ``batch``: resend only the failed ones until none is left."""
        pending = batch
        for attempt in range(1, self._config.max_attempts + 1):
            if attempt > 1:
                self._sleep(self._config.backoff.delay_s(attempt - 1, self._rng))
            try:
                answer = self._kinesis.put_records(
                    StreamName=self._stream, Records=[entry.as_request() for entry in pending]
                )
            except ClientError as exc:
                code = error_code(exc)
                if code in RETRYABLE_CODES:
                    continue
                raise DeadLetterError(
                    f"PutRecords to stream {self._stream}: {code}: {error_message(exc)}", code=code
                ) from exc
            pending = _failed(pending, answer)
            if not pending:
                return len(batch)
        raise RedriveError(
            f"{key}: {len(pending)} of {len(batch)} records still failing after "
            f"{self._config.max_attempts} PutRecords attempts",
            code="FailedRecords",
        )


def _failed(sent: list[Entry], answer: Mapping[str, Any]) -> list[Entry]:
    """The entries of ``sent`` that PutRecords did not store (read per record, never trusting 200)."""
    if not answer.get("FailedRecordCount"):
        return []
    results = answer.get("Records", [])
    if len(results) != len(sent):
        raise RedriveError(f"PutRecords answered {len(results)} results for {len(sent)} records", code="Malformed")
    return [entry for entry, result in zip(sent, results, strict=True) if result.get("ErrorCode")]
