"""``list`` and ``show``: the dead letters of an hour range, and one dead letter part by part.

Rows are streamed from each object (a dead letter of 174,752 parts is summarised without holding
them); an object under ``dead-letter/`` that is not a dead-letter file is skipped and reported
(key, size, why).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from foundation.avro_objects import BadObject, UnreadableObjectError, iter_container
from schemas import DEAD_LETTER, latest

from ._model import DeadLetterSummary, describe_part, status_of, summarise
from ._store import DeadLetterStore

#: parts ``show`` prints by default
DEFAULT_SHOWN_PARTS = 20


@dataclass(kw_only=True)
class Listing:
    dead_letters: list[DeadLetterSummary] = field(default_factory=list)
    skipped: list[BadObject] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dead_letters": [d.as_dict() for d in self.dead_letters],
            "skipped": [b.as_dict() for b in self.skipped],
        }


def dead_letter_rows(body: bytes) -> Iterator[dict[str, Any]]:
    """The rows of one dead-letter file, one at a time; UnreadableObjectError if it is not one."""
    return iter_container(body, latest(DEAD_LETTER).parsed)


def list_dead_letters(
    store: DeadLetterStore,
    *,
    first_hour: str | None = None,
    last_hour: str | None = None,
    reason_contains: str | None = None,
) -> Listing:
    """Every dead letter in the hours given (both included) whose parts include a reason
    containing ``reason_contains`` (case-insensitive), with its redrive status."""
    listed = store.keys(first_hour=first_hour, last_hour=last_hour)
    sizes = dict(listed)
    claimed, done = store.markers()
    out = Listing()
    for key, body in store.bodies(k for k, _ in listed):
        try:
            summary, matched = summarise(key, sizes[key], dead_letter_rows(body), reason_contains=reason_contains)
        except UnreadableObjectError as exc:
            out.skipped.append(BadObject(key, len(body), exc.reason))
            continue
        if matched:
            summary.status = status_of(key, claimed, done)
            out.dead_letters.append(summary)
    return out


def show_dead_letter(store: DeadLetterStore, key: str, *, parts: int = DEFAULT_SHOWN_PARTS) -> dict[str, Any]:
    """One dead letter: its summary (identity, reasons, status) and its first ``parts`` parts,
    each decoded where it decodes; UnreadableObjectError if it is not a dead-letter file."""
    body = store.read(key)
    summary, _ = summarise(key, len(body), dead_letter_rows(body))
    claimed, done = store.markers()
    summary.status = status_of(key, claimed, done)
    shown: list[dict[str, Any]] = []
    for row in dead_letter_rows(body):
        if len(shown) >= parts:
            break
        shown.append(describe_part(row))
    return {**summary.as_dict(), "parts_shown": shown}
