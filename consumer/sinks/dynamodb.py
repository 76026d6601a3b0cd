"""The kid table: one item per kid, last writer wins by (observed_at, event_id).

Two write paths keep the same semantics (see :class:`DynamoDBSink`):

- ``batch-statement`` (the default): the latest event per kid, 25 conditional PartiQL statements
  per ``BatchExecuteStatement`` (:mod:`._partiql`), a few calls in flight at once. One signed
  call carries 25 writes, so the per-call cost of botocore (signing, validation, endpoint rules,
  hooks: ~500 us of CPU) is paid once per 25 kids instead of once per kid.
- ``put-item``: one conditional ``PutItem`` per kid on a thread pool: the operator's fallback.

Each item's outcome is handled on its own: written; superseded (the stored event is newer: a
replay, a duplicate or a late event: success); throttled (that statement alone is sent again,
with backoff); refused (DynamoDB cannot store it: returned as a :class:`Refusal` for the dead
letter); anything systemic raises :class:`SinkError` (see :mod:`._classify`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from foundation.aws_errors import error_code, error_message, http_status
from foundation.limits import DYNAMODB_MAX_STATEMENTS_PER_BATCH_EXECUTE

from .._errors import ConfigError, SinkError, SinkUnavailableError
from ..dedupe import CONDITION, condition_values, to_item
from ..records import DecodedEvent
from ..retry import RetryPolicy, call_with_retries
from . import _prebuilt
from ._classify import Failure, classify_call, classify_statement
from ._partiql import insert_statement, update_statement
from ._pool import run_all

log = logging.getLogger(__name__)

BATCH_STATEMENT = "batch-statement"
PUT_ITEM = "put-item"
WRITE_PATHS = (BATCH_STATEMENT, PUT_ITEM)
#: kids known to have an item (their first statement is an UPDATE); forgotten all at once past this
KNOWN_KIDS_MAX = 200_000


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Refusal:
    """An event DynamoDB refuses to store, and the service's error (bound for the dead letter)."""

    event: DecodedEvent
    reason: str


@dataclass(frozen=True, slots=True)
class WriteSummary:
    """``written``: items stored; ``superseded``: kids whose stored event was already newer;
    ``refused``: events DynamoDB will not store (every record carrying them)."""

    written: int
    superseded: int
    refused: tuple[Refusal, ...] = ()


class _Outcome:
    WRITTEN = "written"
    SUPERSEDED = "superseded"


@dataclass(slots=True)
class _Slot:
    """One kid's write in the batch-statement path."""

    event: DecodedEvent
    insert: bool
    outcome: str | None = None
    refusal: str | None = None


@dataclass(slots=True)
class _Kid:
    """A kid's events of one batch, newest first, grouped by (observed_at, event_id)."""

    groups: list[list[DecodedEvent]] = field(default_factory=list)
    next: int = 0


def _kids(events: Iterable[DecodedEvent]) -> list[_Kid]:
    by_kid: dict[str, dict[tuple[int, str], list[DecodedEvent]]] = {}
    for decoded in events:
        by_kid.setdefault(decoded.kid_id, {}).setdefault(decoded.order_key, []).append(decoded)
    return [_Kid([groups[key] for key in sorted(groups, reverse=True)]) for groups in by_kid.values()]


class DynamoDBSink:
    """Writes the latest event per kid, conditionally, by ``write_path`` (see the module doc).

    ``threads`` is the pool of the put-item path; ``batches_in_flight`` how many
    BatchExecuteStatement calls the batch-statement path keeps in flight; ``prebuilt_json`` has
    those calls' bodies serialized by ``json.dumps`` instead of botocore's shape walk
    (:mod:`._prebuilt`; it installs two event handlers on ``client``).
    """

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        write_path: str = BATCH_STATEMENT,
        threads: int = 8,
        batches_in_flight: int = 8,
        prebuilt_json: bool = True,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock_ms: Callable[[], int] = _wall_clock_ms,
    ) -> None:
        if write_path not in WRITE_PATHS:
            raise ConfigError(f"write_path must be one of {WRITE_PATHS}, got {write_path!r}")
        self._client = client
        self._table = table
        self.write_path = write_path
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._wall_clock_ms = wall_clock_ms
        workers = threads if write_path == PUT_ITEM else batches_in_flight
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="dynamodb-sink")
        self._known: set[str] = set()
        if prebuilt_json and write_path == BATCH_STATEMENT:
            _prebuilt.install(client, "BatchExecuteStatement", "Statements", [{"Statement": "-"}])

    def write_latest(self, events: Sequence[DecodedEvent]) -> WriteSummary:
        """Write the latest event per kid; all are durable, superseded or refused when this returns.

        When DynamoDB refuses a kid's latest event, that event (and its duplicates) is refused and
        the kid's next-latest event of the batch is written instead."""
        kids = _kids(events)
        written = superseded = 0
        refused: list[Refusal] = []
        pending = kids
        while pending:
            winners = [kid.groups[kid.next][0] for kid in pending]
            outcomes = self._write(winners)
            again: list[_Kid] = []
            for kid, outcome in zip(pending, outcomes, strict=True):
                if outcome == _Outcome.WRITTEN:
                    written += 1
                elif outcome == _Outcome.SUPERSEDED:
                    superseded += 1
                else:
                    refused.extend(Refusal(event, outcome) for event in kid.groups[kid.next])
                    log.warning(
                        "DynamoDB refuses event %s of kid %s: %s",
                        kid.groups[kid.next][0].event["event_id"],
                        kid.groups[kid.next][0].kid_id,
                        outcome,
                    )
                    kid.next += 1
                    if kid.next < len(kid.groups):
                        again.append(kid)
            pending = again
        return WriteSummary(written=written, superseded=superseded, refused=tuple(refused))

    def _write(self, winners: list[DecodedEvent]) -> list[str]:
        """One outcome per winner: written, superseded, or the reason it was refused."""
        if self.write_path == PUT_ITEM:
            return run_all(self._pool, self._put, winners)
        return self._write_statements(winners)

    # --- put-item path -------------------------------------------------------------------------
    def _put(self, decoded: DecodedEvent) -> str:
        def attempt() -> Any:
            return self._client.put_item(
                TableName=self._table,
                Item=to_item(decoded, self._wall_clock_ms()),
                ConditionExpression=CONDITION,
                ExpressionAttributeValues=condition_values(decoded),
            )

        try:
            call_with_retries(attempt, policy=self._retry, what=f"PutItem {decoded.kid_id}", sleep=self._sleep)
        except ClientError as exc:
            code = error_code(exc)
            if code == "ConditionalCheckFailedException":
                return _Outcome.SUPERSEDED
            if classify_call(code, http_status(exc)) is Failure.REFUSED:
                return f"DynamoDB PutItem refused: {code}: {error_message(exc)}"
            raise self._systemic("PutItem", code, error_message(exc)) from exc
        return _Outcome.WRITTEN

    # --- batch-statement path ------------------------------------------------------------------
    def _write_statements(self, winners: list[DecodedEvent]) -> list[str]:
        slots = [_Slot(event, insert=event.kid_id not in self._known) for event in winners]
        delays = self._retry.delays()
        rounds = 0
        open_slots = slots
        while open_slots:
            rounds += 1
            size = DYNAMODB_MAX_STATEMENTS_PER_BATCH_EXECUTE
            chunks = [open_slots[i : i + size] for i in range(0, len(open_slots), size)]
            answers = run_all(self._pool, self._execute, chunks)
            throttled = 0
            for chunk, responses in zip(chunks, answers, strict=True):
                for slot, response in zip(chunk, responses, strict=True):
                    throttled += self._settle(slot, response)
            open_slots = [slot for slot in slots if slot.outcome is None]
            if not open_slots:
                break
            if throttled:
                delay = next(delays, None)
                if delay is None:
                    raise SinkUnavailableError(
                        f"BatchExecuteStatement into {self._table}: {throttled} statements still throttled "
                        f"after {self._retry.max_attempts} attempts"
                    )
                log.warning("%s statements throttled; sending them again in %.2f s", throttled, delay)
                self._sleep(delay)
            elif rounds > 4 + 2 * self._retry.max_attempts:  # INSERT/UPDATE ping-pong: items deleted under us
                raise SinkUnavailableError(f"BatchExecuteStatement into {self._table}: no progress in {rounds} rounds")
        return [slot.outcome if slot.outcome is not None else "" for slot in slots]

    def _settle(self, slot: _Slot, response: dict[str, Any]) -> int:
        """Record one statement's answer in ``slot``; returns 1 when it must be sent again later."""
        error = response.get("Error")
        kid = slot.event.kid_id
        if not error:
            slot.outcome = _Outcome.WRITTEN
            self._remember(kid)
            return 0
        code = str(error.get("Code", ""))
        if code == "DuplicateItem":  # INSERT of a kid that has an item: send the UPDATE
            slot.insert = False
            self._remember(kid)
            return 0
        if code == "ConditionalCheckFailed":
            if error.get("Item"):  # the stored event is newer (or this very one)
                slot.outcome = _Outcome.SUPERSEDED
                self._remember(kid)
            else:  # UPDATE of a kid with no item: send the INSERT
                slot.insert = True
                self._known.discard(kid)
            return 0
        failure = classify_statement(code)
        message = str(error.get("Message", ""))
        if failure is Failure.RETRYABLE:
            return 1
        if failure is Failure.REFUSED:
            slot.outcome = f"DynamoDB BatchExecuteStatement refused: {code}: {message}"
            return 0
        raise self._systemic("BatchExecuteStatement", code, message)

    def _remember(self, kid: str) -> None:
        if len(self._known) >= KNOWN_KIDS_MAX:
            self._known.clear()
        self._known.add(kid)

    def _statements(self, chunk: Sequence[_Slot]) -> list[dict[str, Any]]:
        now_ms = self._wall_clock_ms()
        return [
            (insert_statement if slot.insert else update_statement)(self._table, slot.event, now_ms) for slot in chunk
        ]

    def _execute(self, chunk: Sequence[_Slot]) -> list[dict[str, Any]]:
        """The per-statement responses of one call (whole-call throttling and 5xx retried here).

        A call refused whole (a validation error that names no statement) is split: each statement
        is sent alone, so the refusal lands on the one that causes it."""
        statements = self._statements(chunk)

        def attempt() -> list[dict[str, Any]]:
            answer = self._client.batch_execute_statement(Statements=statements)
            responses: list[dict[str, Any]] = answer.get("Responses", [])
            return responses

        try:
            responses = call_with_retries(
                attempt, policy=self._retry, what=f"BatchExecuteStatement x{len(statements)}", sleep=self._sleep
            )
        except ClientError as exc:
            code, message = error_code(exc), error_message(exc)
            if classify_call(code, http_status(exc)) is not Failure.REFUSED:
                raise self._systemic("BatchExecuteStatement", code, message) from exc
            if len(chunk) == 1:
                return [{"Error": {"Code": "ValidationError", "Message": f"{code}: {message}"}}]
            return [self._execute([slot])[0] for slot in chunk]
        if len(responses) != len(statements):
            raise SinkError(
                f"BatchExecuteStatement answered {len(responses)} responses for {len(statements)} statements",
                retryable=False,
            )
        return responses

    def _systemic(self, operation: str, code: str, message: str) -> SinkError:
        return SinkError(
            f"{operation} into table {self._table} failed: {code}: {message} "
            "(not an error of one item: the kid table is unusable as configured)",
            retryable=False,
        )

    def close(self) -> None:
        self._pool.shutdown(wait=True)
