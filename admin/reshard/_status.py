"""The ``status`` report: a pure function of what was read, as a table or as JSON-ready data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from admin.reshard._executor import StreamSummary
from admin.reshard._metrics import SHARD_METRICS, ShardLoad
from admin.reshard._model import Shard, Topology

NO_SHARD_METRICS = "no shard-level metrics"


@dataclass(frozen=True, kw_only=True)
class StatusReport:
    summary: StreamSummary
    topology: Topology
    #: per open shard, None when there are no shard-level metrics
    loads: Mapping[str, ShardLoad] | None
    #: why ``loads`` is None (e.g. "no shard-level metrics")
    metrics_note: str | None
    metrics_minutes: int

    def _shard_dict(self, shard: Shard) -> dict[str, Any]:
        row: dict[str, Any] = {
            "shard_id": shard.shard_id,
            "state": "open" if shard.is_open else "closed",
            "starting_hash_key": str(shard.start),
            "ending_hash_key": str(shard.end),
            "hash_space_percent": round(shard.share * 100, 6),
            "parent_shard_id": shard.parent_id,
            "adjacent_parent_shard_id": shard.adjacent_parent_id,
            "children": [c.shard_id for c in self.topology.children(shard.shard_id)],
            "starting_sequence_number": shard.starting_sequence,
            "ending_sequence_number": shard.ending_sequence,
        }
        if shard.is_open and self.loads is not None:
            load = self.loads.get(shard.shard_id)
            row["incoming_records_per_sec"] = load.records_per_sec if load else None
            row["incoming_bytes_per_sec"] = load.bytes_per_sec if load else None
        return row

    def to_dict(self) -> dict[str, Any]:
        s = self.summary
        return {
            "stream": s.stream,
            "status": s.status,
            "mode": s.mode,
            "retention_hours": s.retention_hours,
            "open_shard_count": self.topology.open_count,
            "closed_shard_count": len(self.topology.closed),
            "shard_level_metrics": list(s.shard_level_metrics),
            "metrics": self.metrics_note or f"average over the last {self.metrics_minutes} min",
            "worst_imbalance_percent": round(self.topology.worst_imbalance() * 100, 3),
            "open_shards": [self._shard_dict(x) for x in self.topology.open],
            "closed_shards": [self._shard_dict(x) for x in self.topology.closed],
        }

    def render(self) -> str:
        s = self.summary
        t = self.topology
        lines = [
            f"stream {s.stream}: {s.status}, {s.mode}, retention {s.retention_hours} h",
            f"{t.open_count} open shards, {len(t.closed)} closed; largest deviation from an even share "
            f"{t.worst_imbalance():.1%}",
            f"shard-level metrics: {', '.join(s.shard_level_metrics) or 'none enabled'}"
            + (
                f" ({self.metrics_note})"
                if self.metrics_note
                else f" (average over the last {self.metrics_minutes} min)"
            ),
            "",
        ]
        header = ["SHARD", "STATE", "HASH %", "PARENTS", "CHILDREN"]
        if self.loads is not None:
            header += ["RECORDS/S", "BYTES/S"]
        rows = [header]
        for shard in (*t.open, *sorted(t.closed, key=lambda x: x.shard_id)):
            row = [
                shard.shard_id,
                "open" if shard.is_open else "closed",
                f"{shard.share * 100:.2f}" if shard.is_open else "-",
                "+".join(shard.parents) or "-",
                ",".join(c.shard_id for c in t.children(shard.shard_id)) or "-",
            ]
            if self.loads is not None:
                load = self.loads.get(shard.shard_id) if shard.is_open else None
                row += [f"{load.records_per_sec:.1f}", f"{load.bytes_per_sec:.0f}"] if load else ["-", "-"]
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        return "\n".join(lines)


def metrics_available(summary: StreamSummary) -> bool:
    """Whether enhanced monitoring publishes both per-shard incoming metrics."""
    return all(summary.has_metric(name) for name in SHARD_METRICS)
