"""The kid table: one item per kid, last writer wins by (observed_at, event_id).

Two write paths keep the same semantics (see :class:`DynamoDBSink`):

- ``batch-statement`` (the default): the latest event per kid, 25 conditional PartiQL statements
  per ``BatchExecuteStatement`` (:mod:`._partiql`), a few calls in flight at once. One signed
  call carries 25 writes, so the per-call cost of botocore (signing, validation, endpoint rules,
  hooks: ~500 us of CPU) is paid once per 25 kids instead of once per kid.
- ``put-item``: one conditional ``PutItem`` per kid on a thread pool: the operator's fallback.

Before the first write the table's key schema is checked (:mod:`._table`). Each item's outcome
is then handled on its own: written; superseded (the stored event is newer: a replay, a
duplicate or a late event: success); throttled (sent again, for as long as the throttling lasts,
with backoff and fewer calls in flight: :mod:`._pacing`); refused (DynamoDB cannot store it:
returned as a :class:`Refusal` for the dead letter, unless the refusals are about the table:
:func:`._classify.refusals_are_systemic`); anything systemic raises :class:`SinkError`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from foundation import clock
from foundation.aws_errors import error_code, error_message, http_status
from foundation.limits import DYNAMODB_MAX_STATEMENTS_PER_BATCH_EXECUTE

from .._errors import ConfigError, SinkAbandonedError, SinkError, WrongTableError
from ..dedupe import CONDITION, condition_values, to_item
from ..records import DecodedEvent
from ..retry import RetryPolicy, call_with_retries
from . import _prebuilt
from ._classify import Failure, classify_call, classify_statement, refusals_are_systemic
from ._pacing import FirstStatement, Pacer, PacingStats
from ._partiql import insert_statement, update_statement
from ._pool import run_all
from ._table import key_schema_problem, probe_event, probe_problem

log = logging.getLogger(__name__)

BATCH_STATEMENT = "batch-statement"
PUT_ITEM = "put-item"
WRITE_PATHS = (BATCH_STATEMENT, PUT_ITEM)
#: kids known to have an item (their first statement is an UPDATE); forgotten all at once past this
KNOWN_KIDS_MAX = 200_000
#: INSERT -> DuplicateItem -> UPDATE -> no item -> INSERT ...: switches allowed per kid and batch
MAX_SWITCHES = 4
_PER_CALL = DYNAMODB_MAX_STATEMENTS_PER_BATCH_EXECUTE


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


class _Answer:
    """What one statement's answer means for the round."""

    DONE = 0  # the table answered (written, superseded, refused, or switch INSERT/UPDATE)
    THROTTLED = 1
    RETRY = 2  # 5xx-like: counts against the retry policy


@dataclass(slots=True)
class _Slot:
    """One kid's write in the batch-statement path."""

    event: DecodedEvent
    insert: bool
    known: bool
    outcome: str | None = None
    answered: bool = False
    switches: int = 0


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


_THROTTLED_WHOLE = object()


class DynamoDBSink:
    """Writes the latest event per kid, conditionally, by ``write_path`` (see the module doc).

    ``threads`` is the pool of the put-item path; ``batches_in_flight`` the most
    BatchExecuteStatement calls the batch-statement path keeps in flight (fewer while throttled);
    ``prebuilt_json`` has those calls' bodies serialized by ``json.dumps`` instead of botocore's
    shape walk (:mod:`._prebuilt`; only while botocore speaks JSON to DynamoDB). ``check_table``
    reads the table's key schema before the first write. :meth:`abandon` (another thread) makes
    a write that is waiting out throttling raise :class:`SinkAbandonedError`.
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
        check_table: bool = True,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock_ms: Callable[[], int] = clock.wall_clock_ms,
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
        self._pacer = Pacer(max_in_flight=workers, table=table, monotonic=monotonic)
        self._firsts = FirstStatement()
        self._abandoned = threading.Event()
        self._table_checked = not check_table
        self.prebuilt_json = False
        if prebuilt_json and write_path == BATCH_STATEMENT:
            self.prebuilt_json = _prebuilt.install(client, "BatchExecuteStatement", "Statements", [{"Statement": "-"}])

    # --- what the processor sees ---------------------------------------------------------------
    def stats(self) -> PacingStats:
        """Cumulative throttling, waiting and statement figures (any thread)."""
        return self._pacer.stats()

    def abandon(self) -> None:
        """Withdraw the write in progress at its next wait (the processor lost its lease)."""
        self._abandoned.set()

    def write_latest(self, events: Sequence[DecodedEvent]) -> WriteSummary:
        """Write the latest event per kid; all are durable, superseded or refused when this returns.

        When DynamoDB refuses a kid's latest event, that event (and its duplicates) is refused and
        the kid's next-latest event of the batch is written instead."""
        self._check_table_once()
        kids = _kids(events)
        written = superseded = 0
        refused: list[Refusal] = []
        pending = kids
        while pending:
            winners = [kid.groups[kid.next][0] for kid in pending]
            outcomes = self._write(winners)
            reasons = [o for o in outcomes if o not in (_Outcome.WRITTEN, _Outcome.SUPERSEDED)]
            systemic = refusals_are_systemic(reasons, len(winners))
            if systemic is not None:
                raise WrongTableError(f"writes into table {self._table} refused: {systemic}; stopping")
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
        self._pacer.settled(written + superseded)
        return WriteSummary(written=written, superseded=superseded, refused=tuple(refused))

    def _write(self, winners: list[DecodedEvent]) -> list[str]:
        """One outcome per winner: written, superseded, or the reason it was refused."""
        if self.write_path == PUT_ITEM:
            return run_all(self._pool, self._put, winners)
        return self._write_statements(winners)

    def _wait(self, seconds: float) -> None:
        """Sleep ``seconds`` unless the write was abandoned (then raise)."""
        self._raise_if_abandoned()
        self._sleep(seconds)
        self._pacer.waited(seconds)
        self._raise_if_abandoned()

    def _raise_if_abandoned(self) -> None:
        if self._abandoned.is_set():
            raise SinkAbandonedError(f"write into {self._table} withdrawn by the processor (lease lost or stopping)")

    # --- the table ---------------------------------------------------------------------------
    def _check_table_once(self) -> None:
        if self._table_checked:
            return

        def describe() -> Any:
            return self._client.describe_table(TableName=self._table)

        try:
            what = f"DescribeTable {self._table}"
            answer = call_with_retries(describe, policy=self._retry, what=what, sleep=self._wait)
        except ClientError as exc:
            code = error_code(exc)
            hint = ""
            if code in ("AccessDeniedException", "AccessDenied"):
                hint = " (the worker's role needs dynamodb:DescribeTable on the kid table: see deploy/iam_policies)"
            raise SinkError(
                f"DescribeTable {self._table} failed: {code}: {error_message(exc)}{hint}; the worker checks the "
                "table's key schema before its first write",
                retryable=False,
            ) from exc
        problem = key_schema_problem(self._table, answer.get("Table", {}))
        if problem is not None:
            raise WrongTableError(problem)
        if self.write_path == BATCH_STATEMENT:
            self._probe_statement_shape()
        self._table_checked = True

    def _probe_statement_shape(self) -> None:
        """One UPDATE of our shape for a kid that cannot exist (see :mod:`._table`)."""
        probe = _Slot(probe_event(), insert=False, known=True)
        while True:
            (response,), whole = self._execute([probe])
            code = str(response.get("Error", {}).get("Code", ""))
            if classify_statement(code) is not Failure.THROTTLED:
                break
            self._wait(self._pacer.round_done(accepted=0, throttled=1, throttled_calls=int(whole), per_call=1))
        problem = probe_problem(self._table, response)
        if problem is not None:
            raise WrongTableError(problem)

    # --- put-item path -------------------------------------------------------------------------
    def _put(self, decoded: DecodedEvent) -> str:
        def attempt() -> Any:
            try:
                return self._client.put_item(
                    TableName=self._table,
                    Item=to_item(decoded, self._wall_clock_ms()),
                    ConditionExpression=CONDITION,
                    ExpressionAttributeValues=condition_values(decoded),
                )
            except ClientError as exc:
                if classify_call(error_code(exc), http_status(exc)) is Failure.THROTTLED:
                    return _THROTTLED_WHOLE
                raise

        while True:
            try:
                answer = call_with_retries(
                    attempt, policy=self._retry, what=f"PutItem {decoded.kid_id}", sleep=self._wait
                )
            except ClientError as exc:
                code = error_code(exc)
                self._pacer.round_done(accepted=1, throttled=0, throttled_calls=0, per_call=1)
                if code == "ConditionalCheckFailedException":
                    return _Outcome.SUPERSEDED
                if classify_call(code, http_status(exc)) is Failure.REFUSED:
                    return f"DynamoDB PutItem refused: {code}: {error_message(exc)}"
                raise self._systemic("PutItem", code, error_message(exc)) from exc
            if answer is not _THROTTLED_WHOLE:
                self._pacer.round_done(accepted=1, throttled=0, throttled_calls=0, per_call=1)
                return _Outcome.WRITTEN
            self._wait(self._pacer.round_done(accepted=0, throttled=1, throttled_calls=1, per_call=1))

    # --- batch-statement path ------------------------------------------------------------------
    def _write_statements(self, winners: list[DecodedEvent]) -> list[str]:
        slots = [self._slot(event) for event in winners]
        delays = self._retry.delays()
        open_slots = slots
        while open_slots:
            self._raise_if_abandoned()
            probing = not self._firsts.decided and any(not s.known and not s.answered for s in open_slots)
            if not probing:
                for slot in open_slots:
                    if not slot.known and not slot.answered:
                        slot.insert = not self._firsts.update_first()
            if probing:  # one call of kids the table has not answered for yet, to learn INSERT or UPDATE first
                sending = [s for s in open_slots if not s.known and not s.answered][:_PER_CALL]
            else:
                sending = open_slots[: self._pacer.limit * _PER_CALL]
            chunks = [sending[i : i + _PER_CALL] for i in range(0, len(sending), _PER_CALL)]
            answers = run_all(self._pool, self._execute, chunks)
            counts = [0, 0, 0]  # by _Answer
            whole = 0
            for chunk, (responses, throttled_whole) in zip(chunks, answers, strict=True):
                whole += throttled_whole
                for slot, response in zip(chunk, responses, strict=True):
                    counts[self._settle(slot, response)] += 1
            open_slots = [slot for slot in slots if slot.outcome is None]
            done, throttled = counts[_Answer.DONE], counts[_Answer.THROTTLED]
            pause = self._pacer.round_done(
                accepted=done, throttled=throttled, throttled_calls=whole, per_call=_PER_CALL
            )
            if counts[_Answer.RETRY]:
                delay = next(delays, None)
                if delay is None:
                    raise SinkError(
                        f"BatchExecuteStatement into {self._table}: {counts[_Answer.RETRY]} statements still failing "
                        f"(5xx, transaction conflicts) after {self._retry.max_attempts} attempts",
                        retryable=False,
                    )
                pause = max(pause, delay)
            if open_slots and pause:
                self._wait(pause)
        return [slot.outcome if slot.outcome is not None else "" for slot in slots]

    def _slot(self, event: DecodedEvent) -> _Slot:
        known = event.kid_id in self._known
        return _Slot(event, insert=not known and not self._firsts.update_first(), known=known)

    def _settle(self, slot: _Slot, response: dict[str, Any]) -> int:
        """Record one statement's answer in ``slot``; returns an :class:`_Answer`."""
        error = response.get("Error")
        kid = slot.event.kid_id
        first = not slot.answered and not slot.known
        if not error:
            slot.outcome = _Outcome.WRITTEN
            self._answered(slot, first, existed=not slot.insert)
            self._remember(kid)
            return _Answer.DONE
        code = str(error.get("Code", ""))
        if code == "DuplicateItem":  # INSERT of a kid that has an item: send the UPDATE
            self._answered(slot, first, existed=True)
            self._switch(slot, insert=False)
            self._remember(kid)
            return _Answer.DONE
        if code == "ConditionalCheckFailed":
            # ALL_OLD: the old item in the statement's Error.Item (documented) or, as some
            # answers carry it, in the response's own Item (see docs/ASSUMPTIONS.md)
            old = error.get("Item") or response.get("Item")
            if old:  # the stored event is newer (or this very one)
                if old.get("kid_id", {}).get("S") != kid:
                    raise WrongTableError(
                        f"DynamoDB returned an old item for kid {kid} that is not its item ({str(old)[:200]}); "
                        "the writer cannot tell written from superseded: stopping"
                    )
                slot.outcome = _Outcome.SUPERSEDED
                self._answered(slot, first, existed=True)
                self._remember(kid)
            else:  # UPDATE of a kid with no item: send the INSERT
                self._answered(slot, first, existed=False)
                self._switch(slot, insert=True)
                self._known.discard(kid)
            return _Answer.DONE
        failure = classify_statement(code)
        if failure is Failure.THROTTLED:
            return _Answer.THROTTLED
        if failure is Failure.RETRYABLE:
            return _Answer.RETRY
        message = str(error.get("Message", ""))
        if failure is Failure.REFUSED:
            slot.outcome = f"DynamoDB BatchExecuteStatement refused: {code}: {message}"
            slot.answered = True
            return _Answer.DONE
        raise self._systemic("BatchExecuteStatement", code, message)

    def _answered(self, slot: _Slot, first: bool, *, existed: bool) -> None:
        slot.answered = True
        if first:
            self._firsts.observe(existed)

    def _switch(self, slot: _Slot, *, insert: bool) -> None:
        slot.insert = insert
        slot.switches += 1
        if slot.switches > MAX_SWITCHES:
            message = (
                f"kid {slot.event.kid_id}: INSERT answers DuplicateItem (the item exists) and UPDATE finds no item, "
                f"{slot.switches} times in a row. Either the key of {self._table} is not kid_id alone, or something "
                "deletes and re-creates items while the worker writes; stopping rather than guessing"
            )
            log.error("%s", message)
            raise WrongTableError(message)

    def _remember(self, kid: str) -> None:
        if len(self._known) >= KNOWN_KIDS_MAX:
            self._known.clear()
        self._known.add(kid)

    def _statements(self, chunk: Sequence[_Slot]) -> list[dict[str, Any]]:
        now_ms = self._wall_clock_ms()
        return [
            (insert_statement if slot.insert else update_statement)(self._table, slot.event, now_ms) for slot in chunk
        ]

    def _execute(self, chunk: Sequence[_Slot]) -> tuple[list[dict[str, Any]], bool]:
        """The per-statement responses of one call, and whether the call was throttled whole (its
        statements then answer ``ThrottlingError``); 5xx retried here by the retry policy.

        A call refused whole (a validation error that names no statement) is split: each statement
        is sent alone, so the refusal lands on the one that causes it."""
        statements = self._statements(chunk)

        def attempt() -> tuple[list[dict[str, Any]], bool]:
            try:
                answer = self._client.batch_execute_statement(Statements=statements)
            except ClientError as exc:
                if classify_call(error_code(exc), http_status(exc)) is not Failure.THROTTLED:
                    raise
                throttled = {"Error": {"Code": "ThrottlingError", "Message": f"whole call: {error_code(exc)}"}}
                return [throttled] * len(statements), True
            responses: list[dict[str, Any]] = answer.get("Responses", [])
            return responses, False

        try:
            responses, whole = call_with_retries(
                attempt, policy=self._retry, what=f"BatchExecuteStatement x{len(statements)}", sleep=self._wait
            )
        except ClientError as exc:
            code, message = error_code(exc), error_message(exc)
            if classify_call(code, http_status(exc)) is not Failure.REFUSED:
                raise self._systemic("BatchExecuteStatement", code, message) from exc
            if len(chunk) == 1:
                return [{"Error": {"Code": "ValidationError", "Message": f"{code}: {message}"}}], False
            alone = [self._execute([slot]) for slot in chunk]
            return [responses[0] for responses, _ in alone], any(whole for _, whole in alone)
        if len(responses) != len(statements):
            raise SinkError(
                f"BatchExecuteStatement answered {len(responses)} responses for {len(statements)} statements",
                retryable=False,
            )
        return responses, whole

    def _systemic(self, operation: str, code: str, message: str) -> SinkError:
        return SinkError(
            f"{operation} into table {self._table} failed: {code}: {message} "
            "(not an error of one item: the kid table is unusable as configured)",
            retryable=False,
        )

    def close(self) -> None:
        self._pool.shutdown(wait=True)
