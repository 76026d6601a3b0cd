"""What the autoscaler remembers between runs (a JSON file; ``--once`` from cron needs it; and,
with the cross-host lock, the lock's item, so that a host taking over knows what the last holder
did: :func:`take_over`).

- the UpdateShardCount calls of the last 24 hours (DescribeLimits does not report them);
- when the shard count last changed (cool-off);
- the change under way, written BEFORE the first call, so a run that crashed mid-reshard
  finishes it on the next start (the reshard executor re-reads the stream and carries on).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class InFlight:
    action: str
    target: int
    shard_id: str | None = None
    #: adjacent pairs of a "merge" (lower range first)
    merges: tuple[tuple[str, str], ...] = ()


@dataclass
class AutoscaleState:
    update_calls: list[datetime] = field(default_factory=list)
    last_change_at: datetime | None = None
    in_flight: InFlight | None = None

    def calls_since(self, now: datetime, hours: float = 24.0) -> int:
        cutoff = now - timedelta(hours=hours)
        return sum(1 for at in self.update_calls if at > cutoff)

    def prune(self, now: datetime) -> None:
        cutoff = now - timedelta(hours=24)
        self.update_calls = [at for at in self.update_calls if at > cutoff]

    def to_json(self) -> dict[str, Any]:
        flight = self.in_flight
        return {
            "update_calls": [at.isoformat() for at in self.update_calls],
            "last_change_at": None if self.last_change_at is None else self.last_change_at.isoformat(),
            "in_flight": None
            if flight is None
            else {
                "action": flight.action,
                "target": flight.target,
                "shard_id": flight.shard_id,
                "merges": [list(pair) for pair in flight.merges],
            },
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> AutoscaleState:
        flight = document.get("in_flight")
        last = document.get("last_change_at")
        return cls(
            update_calls=[datetime.fromisoformat(at) for at in document.get("update_calls", ())],
            last_change_at=None if last is None else datetime.fromisoformat(last),
            in_flight=None
            if not flight
            else InFlight(
                action=str(flight["action"]),
                target=int(flight["target"]),
                shard_id=flight.get("shard_id"),
                merges=tuple((str(low), str(high)) for low, high in flight.get("merges", ())),
            ),
        )


def take_over(local: AutoscaleState, shared: AutoscaleState) -> AutoscaleState:
    """This host's state once it holds the lock whose item carried ``shared`` (the last holder's,
    maybe this host's own): every call either made (Kinesis counts them per stream), the later
    last change, and the change in flight as the last holder left it (ours may be stale: the
    other host may have finished it)."""
    calls = sorted(set(local.update_calls) | set(shared.update_calls))
    changes = [at for at in (local.last_change_at, shared.last_change_at) if at is not None]
    return AutoscaleState(
        update_calls=calls, last_change_at=max(changes) if changes else None, in_flight=shared.in_flight
    )


class StateStore:
    """Loads and saves :class:`AutoscaleState` atomically; ``path=None`` keeps it in memory."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def load(self) -> AutoscaleState:
        if self.path is None or not self.path.exists():
            return AutoscaleState()
        try:
            return AutoscaleState.from_json(json.loads(self.path.read_text()))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"autoscaler state {self.path} is unreadable ({exc}); fix or remove it") from exc

    def save(self, state: AutoscaleState) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        with os.fdopen(handle, "w") as out:
            json.dump(state.to_json(), out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
