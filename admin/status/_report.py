"""``nicelist status``: one screen of the pipeline's health, a pure function of what was read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from admin.reshard import StatusReport


@dataclass(frozen=True)
class Lease:
    shard_id: str
    owner: str | None
    checkpoint: str | None


@dataclass(frozen=True, kw_only=True)
class PipelineStatus:
    """What ``nicelist status`` shows; ``None`` means "could not be read" (with a note why)."""

    stream: StatusReport | None
    leases: Sequence[Lease] | None
    #: per shard: MillisBehindLatest (max over the window) from the worker metrics
    lag_ms: Mapping[str, float | None]
    #: application-wide sums over the window, by metric name (None: no datapoints)
    totals: Mapping[str, float | None]
    alarms: Mapping[str, str] | None
    window_minutes: int
    notes: Sequence[str] = field(default_factory=tuple)
    generated_at: str = ""

    def workers(self) -> dict[str, int]:
        return dict(Counter(lease.owner or "(unowned)" for lease in self.leases or ()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at,
            "window_minutes": self.window_minutes,
            "stream": self.stream.to_dict() if self.stream else None,
            "leases": [vars(lease) for lease in self.leases] if self.leases is not None else None,
            "leases_per_worker": self.workers() if self.leases is not None else None,
            "lag_ms": dict(self.lag_ms),
            "totals": dict(self.totals),
            "alarms": dict(self.alarms) if self.alarms is not None else None,
            "notes": list(self.notes),
        }

    def render(self) -> str:
        lines = [f"nicelist status at {self.generated_at} (metrics: last {self.window_minutes} min)", ""]
        owners = {lease.shard_id: lease for lease in self.leases or ()}
        if self.stream is None:
            lines.append("stream: unreadable")
        else:
            s, t = self.stream.summary, self.stream.topology
            lines.append(f"stream {s.stream}: {s.status}, {t.open_count} open shards, {len(t.closed)} closed")
            rows = [["SHARD", "HASH %", "RECORDS/S", "OWNER", "LAG MS", "CHECKPOINT"]]
            loads = self.stream.loads or {}
            for shard in t.open:
                load = loads.get(shard.shard_id)
                lease = owners.get(shard.shard_id)
                lag = self.lag_ms.get(shard.shard_id)
                rows.append(
                    [
                        shard.shard_id,
                        f"{shard.share * 100:.2f}",
                        f"{load.records_per_sec:.1f}" if load else "-",
                        (lease.owner or "-") if lease else "-",
                        f"{lag:.0f}" if lag is not None else "-",
                        _short(lease.checkpoint) if lease else "-",
                    ]
                )
            lines += _table(rows)
        lines.append("")
        if self.leases is None:
            lines.append("leases: unreadable (is the KCL application's lease table there?)")
        else:
            per_worker = ", ".join(f"{w}: {n}" for w, n in sorted(self.workers().items())) or "none"
            lines.append(f"leases per worker: {per_worker}")
        totals = [f"{name} {_num(value)}" for name, value in self.totals.items()]
        lines.append("last window: " + ", ".join(totals))
        if self.alarms is None:
            lines.append("alarms: unreadable")
        else:
            firing = sorted(name for name, state in self.alarms.items() if state == "ALARM")
            states = Counter(self.alarms.values())
            summary = ", ".join(f"{n} {state}" for state, n in sorted(states.items())) or "none defined"
            lines.append(f"alarms: {summary}" + (f"; FIRING: {', '.join(firing)}" if firing else ""))
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _short(checkpoint: str | None) -> str:
    if not checkpoint:
        return "-"
    return checkpoint if len(checkpoint) <= 14 else f"...{checkpoint[-10:]}"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
