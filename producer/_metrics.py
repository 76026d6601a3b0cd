"""ProducerMetrics: a snapshot of a producer's counters, as :meth:`Producer.metrics` returns it."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class ProducerMetrics:
    """Counters since the producer started, taken at one instant (under the producer's lock).

    Events: ``accepted`` by put(), ``sent`` (acknowledged by Kinesis), ``failed`` (given up on),
    ``spooled`` (written to the spool by put()), ``replayed`` (read back from an earlier run's
    spool), ``pending_events`` (accepted or replayed, not yet final, backlog included).
    Aggregated records: ``aggregated_records`` sealed, ``retried`` re-queued, ``throttled``
    refusals. Calls: ``put_records_calls``. Bytes: ``bytes_sent`` (data + partition keys),
    ``buffered_bytes`` (encoded events held in memory), ``spool_bytes`` (on disk). Damage found in
    the spool at start: ``spool_events_lost`` (exact, but for damage at the end of the segment a
    crashed producer was writing: then at least; the log says which), ``spool_frames_lost`` (the
    same: one frame holds one event) and ``spool_bytes_lost``; ``spool_foreign_segments`` refused
    at start (another stream's or endpoint's, moved aside, never sent); ``spool_errors`` the spool
    errors the sender thread logged and went on from (e.g. a segment it could not delete: its
    events may be sent again by the next producer).
    """

    accepted: int = 0
    sent: int = 0
    failed: int = 0
    spooled: int = 0
    replayed: int = 0
    pending_events: int = 0
    aggregated_records: int = 0
    retried: int = 0
    throttled: int = 0
    put_records_calls: int = 0
    bytes_sent: int = 0
    buffered_bytes: int = 0
    spool_bytes: int = 0
    spool_frames_lost: int = 0
    spool_bytes_lost: int = 0
    spool_events_lost: int = 0
    spool_foreign_segments: int = 0
    spool_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name (the shape ``metrics()`` returned before it was a dataclass)."""
        return asdict(self)
