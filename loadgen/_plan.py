"""The simulated load: who reports on whom, and when. Pure: no clock, no AWS.

A run sends ``events`` behaviour events from ``elves`` elf apps about ``kids`` kids. Event ``i``
belongs to elf ``i % elves`` and is due ``shape.offset_s(i)`` seconds after the start. The
December-23rd spike is a stretch of the run where the rate is ``spike_factor`` times the base
rate and most reports are repeat updates about a small set of "hot" kids (the ones the
consumer's per-kid collapse should absorb).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from foundation.errors import ConfigError

BEFORE, SPIKE, AFTER = "before", "spike", "after"
_NOTES = (
    "shared the sledge",
    "ate the cookies left for Santa",
    "helped with the dishes",
    "pulled the cat's tail",
    "wrote a thank-you card",
    "peeked at the presents",
)


@dataclass(frozen=True, kw_only=True)
class Population:
    """The kids and the elves reporting on them."""

    kids: int = 2_000
    elves: int = 4
    #: chance that one report says NAUGHTY
    naughty_share: float = 0.25
    #: chance that a report carries a note, and a location
    note_share: float = 0.2
    location_share: float = 0.5
    app_version: str = "demo-1.0"

    def __post_init__(self) -> None:
        if self.kids < 1:
            raise ConfigError("kids", "need at least one kid")
        if self.elves < 1:
            raise ConfigError("elves", "need at least one elf")
        for name in ("naughty_share", "note_share", "location_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(name, "must be between 0 and 1")

    @staticmethod
    def kid_id(index: int) -> str:
        return f"kid-{index:07d}"

    @staticmethod
    def elf_id(index: int) -> str:
        return f"elf-{index:03d}"


@dataclass(frozen=True, kw_only=True)
class SpikeShape:
    """How many events, how fast, and the spike within the run."""

    events: int = 8_000
    #: events/s over all elves outside the spike; 0: as fast as the producers accept them
    base_rate: float = 150.0
    #: the spike's rate is this many times the base rate
    spike_factor: float = 5.0
    #: share of the events sent before the spike starts
    spike_start: float = 0.3
    #: share of the events sent during the spike
    spike_share: float = 0.5
    #: share of the kids the spike keeps reporting on
    hot_kids: float = 0.05
    #: share of the spike's events that are about a hot kid
    hot_share: float = 0.8

    def __post_init__(self) -> None:
        if self.events < 0:
            raise ConfigError("events", "must be >= 0")
        if self.base_rate < 0:
            raise ConfigError("base_rate", "must be >= 0 (0: unthrottled)")
        if self.spike_factor < 1:
            raise ConfigError("spike_factor", "must be >= 1")
        for name in ("spike_start", "spike_share", "hot_kids", "hot_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(name, "must be between 0 and 1")
        if self.spike_start + self.spike_share > 1.0:
            raise ConfigError("spike_share", "spike_start + spike_share must be <= 1")

    @property
    def spike_begins(self) -> int:
        """Index of the first spike event."""
        return round(self.events * self.spike_start)

    @property
    def spike_ends(self) -> int:
        """Index of the first event after the spike."""
        return min(self.events, self.spike_begins + round(self.events * self.spike_share))

    def phase(self, index: int) -> str:
        if index < self.spike_begins:
            return BEFORE
        if index < self.spike_ends:
            return SPIKE
        return AFTER

    def rate(self, index: int) -> float:
        """Events/s at event ``index`` (0: unthrottled)."""
        return self.base_rate * (self.spike_factor if self.phase(index) == SPIKE else 1.0)

    def offset_s(self, index: int) -> float:
        """When event ``index`` is due, in seconds after the start."""
        if self.base_rate == 0:
            return 0.0
        begins, ends = self.spike_begins, self.spike_ends
        spike_rate = self.base_rate * self.spike_factor
        before = min(index, begins)
        during = min(max(index - begins, 0), ends - begins)
        after = max(index - ends, 0)
        return before / self.base_rate + during / spike_rate + after / self.base_rate

    @property
    def duration_s(self) -> float:
        """How long sending every event takes at the planned rates."""
        return self.offset_s(self.events)


@dataclass(frozen=True)
class PlannedEvent:
    index: int
    elf: int
    due_s: float
    phase: str
    event: dict[str, Any]


class LoadPlan:
    """The events of one run. Each elf's events are drawn from its own seeded RNG, so elves can
    generate them concurrently and a seed reproduces the run."""

    def __init__(self, population: Population, shape: SpikeShape, *, seed: int = 23) -> None:
        self.population = population
        self.shape = shape
        self.seed = seed
        self.hot_kids = max(1, round(population.kids * shape.hot_kids))

    def indices_of(self, elf: int) -> range:
        return range(elf, self.shape.events, self.population.elves)

    def events_of(self, elf: int) -> Iterator[PlannedEvent]:
        """Elf ``elf``'s events in the order they are due."""
        rng = random.Random(f"{self.seed}:{elf}")
        for index in self.indices_of(elf):
            yield self._event(index, elf, rng)

    def _event(self, index: int, elf: int, rng: random.Random) -> PlannedEvent:
        pop, shape = self.population, self.shape
        phase = shape.phase(index)
        if phase == SPIKE and rng.random() < shape.hot_share:
            kid = rng.randrange(self.hot_kids)
        else:
            kid = rng.randrange(pop.kids)
        event: dict[str, Any] = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "kid_id": pop.kid_id(kid),
            "elf_id": pop.elf_id(elf),
            "behaviour": "NAUGHTY" if rng.random() < pop.naughty_share else "NICE",
            "note": rng.choice(_NOTES) if rng.random() < pop.note_share else None,
            "location": (
                {"lat": round(rng.uniform(-90, 90), 4), "lon": round(rng.uniform(-180, 180), 4)}
                if rng.random() < pop.location_share
                else None
            ),
            "app_version": pop.app_version,
        }
        return PlannedEvent(index=index, elf=elf, due_s=shape.offset_s(index), phase=phase, event=event)
