"""``nicelist selfcheck``: confirm, against a scratch table on real DynamoDB, the behaviours the
kid-table writer relies on that AWS does not document (docs/ASSUMPTIONS.md lists each one).

Every check sends the worker's own statements (:mod:`consumer.sinks._partiql`) for kids named
``selfcheck-<random>`` and reads what DynamoDB answers; nothing but those kids' items is
written, nothing is read or deleted. Each check reports ``confirmed`` (DynamoDB answers as we
assume), ``differs`` (it does not: the worker then stops rather than losing data, see the
assumption's "if wrong"; tell the maintainers) or ``noted`` (informational: what it answered).
The operator creates and deletes the scratch table (``nicelist selfcheck --create`` creates it).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

from foundation.aws_errors import error_code, error_message

from .records import DecodedEvent, KinesisRecord
from .sinks import _prebuilt
from .sinks._partiql import insert_statement, update_statement
from .sinks._table import key_schema_problem

CONFIRMED, DIFFERS, NOTED = "confirmed", "differs", "noted"
_BASE_MS = 1_766_448_000_000
_EARLY_ID = "00000000-0000-4000-8000-000000000000"
_LATE_ID = "ffffffff-ffff-4fff-bfff-ffffffffffff"


@dataclass(frozen=True)
class Check:
    name: str
    #: what the worker assumes
    assumption: str
    outcome: str
    #: what DynamoDB answered
    detail: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _event(kid: str, *, observed_at: int, event_id: str, **optional: Any) -> DecodedEvent:
    record = KinesisRecord("shardId-selfcheck", "1", 0, kid, observed_at, b"")
    event = {
        "kid_id": kid,
        "event_id": event_id,
        "elf_id": "elf-selfcheck",
        "behaviour": "NICE",
        "observed_at": observed_at,
        **optional,
    }
    return DecodedEvent(record, event, "00" * 8)


class SelfCheck:
    """The checks, in order, against ``table`` through ``client`` (a DynamoDB client)."""

    def __init__(self, client: Any, table: str, *, new_kid: Callable[[], str] | None = None) -> None:
        self._client = client
        self._table = table
        self._new_kid = new_kid or (lambda: f"selfcheck-{uuid.uuid4().hex[:12]}")

    def run(self) -> list[Check]:
        checks = [self.protocol(), self.key_schema()]
        if checks[-1].outcome == DIFFERS:
            return checks  # the statements below would only fail the same way
        return [
            *checks,
            self.duplicate_insert(),
            *self.old_item_locations(),
            self.parenthesised_or(),
            self.remove_absent(),
            self.out_of_range_number(),
            self.same_key_twice(),
            self.failed_insert_billed(),
        ]

    # --- sending ---------------------------------------------------------------------------------
    def _send(self, *statements: dict[str, Any], consumed: bool = False) -> dict[str, Any]:
        options: dict[str, Any] = {"ReturnConsumedCapacity": "TOTAL"} if consumed else {}
        try:
            answer: dict[str, Any] = self._client.batch_execute_statement(Statements=list(statements), **options)
        except ClientError as exc:
            return {"CallError": f"{error_code(exc)}: {error_message(exc)}"}
        return answer

    def _one(self, statement: dict[str, Any]) -> dict[str, Any]:
        answer = self._send(statement)
        if "CallError" in answer:
            return {"Error": {"Code": "(whole call)", "Message": answer["CallError"]}}
        responses: list[dict[str, Any]] = answer.get("Responses", [])
        return responses[0] if responses else {}

    def _insert(self, event: DecodedEvent) -> dict[str, Any]:
        return self._one(insert_statement(self._table, event, _BASE_MS))

    def _update(self, event: DecodedEvent) -> dict[str, Any]:
        return self._one(update_statement(self._table, event, _BASE_MS))

    @staticmethod
    def _code(response: dict[str, Any]) -> str:
        return str(response.get("Error", {}).get("Code", "OK"))

    @staticmethod
    def _old_item(response: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Where the ALL_OLD item came back: ``Error.Item``, ``Item`` or nowhere."""
        error_item = response.get("Error", {}).get("Item")
        if error_item:
            return "Error.Item", error_item
        if response.get("Item"):
            return "Item", response["Item"]
        return "nowhere", {}

    # --- the checks ------------------------------------------------------------------------------
    def protocol(self) -> Check:
        protocol = _prebuilt.protocol_of(self._client)
        return Check(
            "json-protocol",
            "botocore speaks JSON 1.0 to DynamoDB, so the prebuilt request body is valid",
            CONFIRMED if protocol == _prebuilt.JSON_PROTOCOL else NOTED,
            f"botocore's model says {protocol!r}"
            + ("" if protocol == _prebuilt.JSON_PROTOCOL else ": the worker uses botocore's serializer instead"),
        )

    def key_schema(self) -> Check:
        description = self._client.describe_table(TableName=self._table)["Table"]
        problem = key_schema_problem(self._table, description)
        return Check(
            "key-schema",
            "the table's key is kid_id (S) alone, read with DescribeTable before the first write",
            CONFIRMED if problem is None else DIFFERS,
            problem or "HASH kid_id (S), no sort key",
        )

    def duplicate_insert(self) -> Check:
        kid = self._new_kid()
        first = self._insert(_event(kid, observed_at=_BASE_MS, event_id=_EARLY_ID))
        again = self._insert(_event(kid, observed_at=_BASE_MS + 1, event_id=_EARLY_ID))
        ok = self._code(first) == "OK" and self._code(again) == "DuplicateItem"
        return Check(
            "insert-duplicate",
            "INSERT of an existing key fails alone with the per-statement code DuplicateItem",
            CONFIRMED if ok else DIFFERS,
            f"first INSERT: {self._code(first)}; second: {self._code(again)}",
        )

    def old_item_locations(self) -> list[Check]:
        kid = self._new_kid()
        self._insert(_event(kid, observed_at=_BASE_MS + 10, event_id=_EARLY_ID))
        older = self._update(_event(kid, observed_at=_BASE_MS, event_id=_EARLY_ID))
        where, item = self._old_item(older)
        found = self._code(older) == "ConditionalCheckFailed" and item.get("kid_id", {}).get("S") == kid
        missing = self._update(_event(self._new_kid(), observed_at=_BASE_MS, event_id=_EARLY_ID))
        none_where, _ = self._old_item(missing)
        return [
            Check(
                "old-item-returned",
                "an UPDATE whose condition fails returns the stored item (ALL_OLD) in Error.Item or in the "
                "response's Item",
                CONFIRMED if found else DIFFERS,
                f"{self._code(older)}, old item in {where}",
            ),
            Check(
                "no-item-when-no-row",
                "an UPDATE of a key with no item fails ConditionalCheckFailed with no item anywhere",
                CONFIRMED if self._code(missing) == "ConditionalCheckFailed" and none_where == "nowhere" else DIFFERS,
                f"{self._code(missing)}, item in {none_where}",
            ),
        ]

    def parenthesised_or(self) -> Check:
        kid = self._new_kid()
        self._insert(_event(kid, observed_at=_BASE_MS, event_id=_EARLY_ID))
        tie_wins = self._update(_event(kid, observed_at=_BASE_MS, event_id=_LATE_ID))
        tie_loses = self._update(_event(kid, observed_at=_BASE_MS, event_id=_EARLY_ID))
        older = self._update(_event(kid, observed_at=_BASE_MS - 1, event_id=_LATE_ID))
        newer = self._update(_event(kid, observed_at=_BASE_MS + 1, event_id=_EARLY_ID))
        codes = [self._code(r) for r in (tie_wins, tie_loses, older, newer)]
        want = ["OK", "ConditionalCheckFailed", "ConditionalCheckFailed", "OK"]
        return Check(
            "parenthesised-or",
            "WHERE kid_id = ? AND (observed_at < ? OR (observed_at = ? AND event_id < ?)) is the last-writer-wins "
            "rule: a tie on observed_at goes to the larger event_id",
            CONFIRMED if codes == want else DIFFERS,
            f"tie/larger id, tie/smaller id, older, newer: {', '.join(codes)} (want {', '.join(want)})",
        )

    def remove_absent(self) -> Check:
        kid = self._new_kid()
        self._insert(_event(kid, observed_at=_BASE_MS, event_id=_EARLY_ID))  # no note, location, app_version
        removed = self._update(_event(kid, observed_at=_BASE_MS + 1, event_id=_EARLY_ID))
        probe = self._update(_event(kid, observed_at=_BASE_MS - 1, event_id=_EARLY_ID))
        _, item = self._old_item(probe)
        ok = self._code(removed) == "OK" and str(item.get("observed_at", {}).get("N")) == str(_BASE_MS + 1)
        return Check(
            "remove-absent-attribute",
            "an UPDATE may REMOVE attributes the item does not have (the optional ones the event lacks)",
            CONFIRMED if ok else DIFFERS,
            f"UPDATE with REMOVE of absent attributes: {self._code(removed)}",
        )

    def out_of_range_number(self) -> Check:
        bad = _event(self._new_kid(), observed_at=_BASE_MS, event_id=_EARLY_ID, location={"lat": 1e-200, "lon": 0.0})
        good = _event(self._new_kid(), observed_at=_BASE_MS, event_id=_EARLY_ID)
        answer = self._send(insert_statement(self._table, bad, 1), insert_statement(self._table, good, 1))
        if "CallError" in answer:
            detail, outcome = f"the whole call refused: {answer['CallError']} (the worker splits it)", NOTED
        else:
            codes = [self._code(r) for r in answer.get("Responses", [])]
            detail = f"per statement: {', '.join(codes)}"
            outcome = CONFIRMED if codes == ["ValidationError", "OK"] else DIFFERS
        return Check(
            "out-of-range-number",
            "a number DynamoDB cannot store fails its own statement with ValidationError (or the whole call, "
            "which the worker then splits); the other statements are unaffected",
            outcome,
            detail,
        )

    def same_key_twice(self) -> Check:
        kid = self._new_kid()
        first = _event(kid, observed_at=_BASE_MS, event_id=_EARLY_ID)
        answer = self._send(insert_statement(self._table, first, 1), update_statement(self._table, first, 1))
        detail = answer.get("CallError") or ", ".join(self._code(r) for r in answer.get("Responses", []))
        return Check(
            "same-key-twice",
            "not relied on: the worker never sends two statements for one kid in a call",
            NOTED,
            f"INSERT and UPDATE of one key in one call: {detail}",
        )

    def failed_insert_billed(self) -> Check:
        kid = self._new_kid()
        self._insert(_event(kid, observed_at=_BASE_MS, event_id=_EARLY_ID))
        answer = self._send(
            insert_statement(self._table, _event(kid, observed_at=_BASE_MS, event_id=_LATE_ID), 1), consumed=True
        )
        units = [c.get("CapacityUnits") for c in answer.get("ConsumedCapacity", [])]
        return Check(
            "failed-insert-billed",
            "not relied on for safety; counted as one write statement in WriteStatementsPerKid either way",
            NOTED,
            f"a DuplicateItem INSERT consumed {units or 'nothing reported'}",
        )
