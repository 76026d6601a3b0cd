"""The plain demo's settings, what an observer of a running demo may look at, and its summary
(pure: what ``run_demo`` reads and fills and what ``describe_demo`` prints)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from foundation.errors import ConfigError
from foundation.settings import AwsSettings, PipelineNames
from loadgen import ElfFleet, LoadTally, Population, SpikeShape
from reconcile import ReconcileReport

from ._watch import ArchiveWatcher

#: With leaseAssignmentIntervalMillis at 2 s (properties/local.properties), KCL 3's variance-based
#: rebalancing moved leases back and forth between the two workers every few seconds; with moto,
#: runs ended with a child shard owned by a worker that no longer processed it. The demo keeps
#: the initial assignment (new child shards are still assigned) and does not rebalance.
DEMO_WORKER_PROPERTIES = {"varianceBalancingFrequency": "1000000"}


@dataclass(frozen=True, kw_only=True)
class DemoConfig:
    population: Population = field(default_factory=lambda: Population(kids=2_000, elves=4))
    shape: SpikeShape = field(default_factory=SpikeShape)
    seed: int = 23
    shards: int = 4
    workers: int = 2
    #: open shards after the mid-run reshard; None: twice ``shards``; 0: no reshard
    reshard_to: int | None = None
    #: share of the events accepted when the reshard starts; None: when the spike starts
    reshard_at: float | None = None
    names: PipelineNames = field(default_factory=PipelineNames)
    #: None: start the embedded local AWS; otherwise use these settings (LocalStack, AWS)
    aws: AwsSettings | None = None
    #: logs, spools and worker files; None: a temporary directory, removed after a clean run
    work_dir: Path | None = None
    workers_ready_timeout_s: float = 240.0
    catch_up_timeout_s: float = 300.0
    flush_timeout_s: float = 120.0
    #: archive files close this soon, so the archive catches up quickly at the end
    archive_max_file_age_s: float = 3.0
    #: extra environment for the workers and their record processors
    worker_env: Mapping[str, str] = field(default_factory=dict)
    #: undecodable records a broken elf app puts on the stream (plain PutRecords): each must end
    #: up in the bucket's dead-letter/ prefix, one object per record
    garbage_records: int = 3
    #: the workers' (KCL and record processors') log level; logs go to the work directory
    worker_log_level: str = "INFO"
    #: KCL properties for the demo's workers, over the template's
    worker_properties: Mapping[str, str] = field(default_factory=lambda: dict(DEMO_WORKER_PROPERTIES))
    poll_interval_s: float = 1.0

    def __post_init__(self) -> None:
        if self.shards < 1:
            raise ConfigError("shards", "need at least one shard")
        if self.workers < 1:
            raise ConfigError("workers", "need at least one worker")
        if self.reshard_to is not None and self.reshard_to < 0:
            raise ConfigError("reshard_to", "must be >= 0 (0: no reshard)")
        if self.garbage_records < 0:
            raise ConfigError("garbage_records", "must be >= 0")
        if self.reshard_at is not None and not 0.0 <= self.reshard_at <= 1.0:
            raise ConfigError("reshard_at", "must be between 0 and 1")
        for name in ("workers_ready_timeout_s", "catch_up_timeout_s", "flush_timeout_s", "archive_max_file_age_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(name, "must be positive")

    @property
    def reshard_target(self) -> int:
        return self.shards * 2 if self.reshard_to is None else self.reshard_to

    @property
    def reshard_after_events(self) -> int:
        share = self.shape.spike_start if self.reshard_at is None else self.reshard_at
        return round(self.shape.events * share)


@dataclass(frozen=True)
class DemoProbe:
    """What an observer of a running demo may look at (``run_demo(on_tick=...)``), once per poll."""

    phase: str  # "producing" or "catching-up"
    tally: LoadTally
    watcher: ArchiveWatcher
    fleet: ElfFleet


@dataclass(kw_only=True)
class DemoSummary:
    planned: int = 0
    accepted: int = 0
    delivered: int = 0
    failed: int = 0
    undelivered: int = 0
    archived_rows: int = 0
    archived_events: int = 0
    #: delivered events missing from the archive when the demo gave up waiting
    lost: int = 0
    lost_samples: list[str] = field(default_factory=list)
    dead_letters: int = 0
    garbage_sent: int = 0
    produce_s: float = 0.0
    #: first put() until the archive held every delivered event
    pipeline_s: float = 0.0
    reshard: str = "not run"
    reshard_ok: bool = True
    worker_restarts: int = 0
    report: ReconcileReport | None = None
    work_dir: Path | None = None
    interrupted: bool = False
    #: what the workers published to CloudWatch (demo/_metrics.py SHOWN labels)
    worker_metrics: dict[str, float | None] = field(default_factory=dict)
    #: compaction and one example query's answer, as summary lines
    analytics: list[str] = field(default_factory=list)

    @property
    def events_per_s(self) -> float:
        return self.delivered / self.pipeline_s if self.pipeline_s > 0 else 0.0

    @property
    def ok(self) -> bool:
        """Nothing lost: every accepted event delivered and archived, the table agrees."""
        return (
            not self.interrupted
            and self.failed == 0
            and self.undelivered == 0
            and self.lost == 0
            and self.delivered == self.planned
            and self.dead_letters == self.garbage_sent
            and self.reshard_ok
            and self.report is not None
            and self.report.ok
        )
