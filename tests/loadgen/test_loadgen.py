"""The simulated load: spike shape, population, plan, and the elf threads (with a fake producer)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import schemas
from foundation.errors import ConfigError
from loadgen import LoadTally, run_load
from loadgen._plan import AFTER, BEFORE, SPIKE, LoadPlan, Population, SpikeShape
from producer import BufferFullError, DeliveryFailedError


def test_spike_is_faster_and_in_the_middle() -> None:
    shape = SpikeShape(events=1000, base_rate=100, spike_factor=5, spike_start=0.3, spike_share=0.5)
    assert (shape.spike_begins, shape.spike_ends) == (300, 800)
    assert [shape.phase(i) for i in (0, 299, 300, 799, 800, 999)] == [BEFORE, BEFORE, SPIKE, SPIKE, AFTER, AFTER]
    assert shape.offset_s(300) == pytest.approx(3.0)
    assert shape.offset_s(800) == pytest.approx(3.0 + 500 / 500)
    assert shape.duration_s == pytest.approx(3.0 + 1.0 + 2.0)
    assert shape.rate(500) == 500 and shape.rate(0) == 100
    assert SpikeShape(events=10, base_rate=0).duration_s == 0


@given(
    st.integers(0, 3000),
    st.floats(1, 1000),
    st.floats(1, 10),
    st.floats(0, 0.5),
    st.floats(0, 0.5),
)
def test_offsets_never_go_back_in_time(events: int, rate: float, factor: float, start: float, share: float) -> None:
    shape = SpikeShape(events=events, base_rate=rate, spike_factor=factor, spike_start=start, spike_share=share)
    offsets = [shape.offset_s(i) for i in range(0, events + 1, max(1, events // 50))]
    assert offsets == sorted(offsets)


@pytest.mark.parametrize(
    ("factory", "setting"),
    [
        (lambda: Population(kids=0), "kids"),
        (lambda: Population(elves=0), "elves"),
        (lambda: Population(naughty_share=1.5), "naughty_share"),
        (lambda: SpikeShape(spike_factor=0.5), "spike_factor"),
        (lambda: SpikeShape(spike_start=0.8, spike_share=0.5), "spike_share"),
        (lambda: SpikeShape(base_rate=-1), "base_rate"),
    ],
)
def test_bad_settings_are_named(factory: Callable[[], Any], setting: str) -> None:
    with pytest.raises(ConfigError) as raised:
        factory()
    assert raised.value.setting == setting


def test_plan_covers_every_event_once_with_valid_events() -> None:
    plan = LoadPlan(Population(kids=50, elves=3), SpikeShape(events=300), seed=7)
    planned = [p for elf in range(3) for p in plan.events_of(elf)]
    assert sorted(p.index for p in planned) == list(range(300))
    assert len({p.event["event_id"] for p in planned}) == 300
    for p in planned:
        schemas.validate_event({**p.event, "observed_at": 1_766_448_000_000})
        assert p.event["elf_id"] == Population.elf_id(p.elf)
    # a seed reproduces the run
    again = LoadPlan(Population(kids=50, elves=3), SpikeShape(events=300), seed=7)
    assert [p.event for p in again.events_of(1)] == [p.event for p in plan.events_of(1)]


def test_the_spike_repeats_updates_for_hot_kids() -> None:
    plan = LoadPlan(Population(kids=2000, elves=2), SpikeShape(events=4000, hot_kids=0.05, hot_share=0.8))
    planned = [p for elf in range(2) for p in plan.events_of(elf)]
    spike = [p.event["kid_id"] for p in planned if p.phase == SPIKE]
    calm = [p.event["kid_id"] for p in planned if p.phase != SPIKE]
    # during the spike far fewer distinct kids per event: many repeat updates
    assert len(set(spike)) / len(spike) < 0.5 * len(set(calm)) / len(calm)
    assert Counter(spike).most_common(1)[0][1] > 5


class FakeSink:
    """A producer stand-in: delivers at once, refuses the first ``full`` puts, fails some ids."""

    def __init__(self, *, full: int = 0, fail: frozenset[str] = frozenset()) -> None:
        self.full = full
        self.fail = fail
        self.events: list[dict[str, Any]] = []

    def put(self, event: Any, callback: Callable[[Any], None] | None = None) -> Any:
        if self.full:
            self.full -= 1
            raise BufferFullError("full")
        self.events.append(event)
        doomed = event["event_id"] in self.fail
        future = _Done(DeliveryFailedError("AccessDenied", "no", attempts=1, payloads=[]) if doomed else None)
        if callback is not None:
            callback(future)
        return future


class _Done:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def exception(self, timeout: float | None = None) -> Exception | None:
        return self.error


def test_elves_send_everything_through_backpressure_and_count_failures() -> None:
    plan = LoadPlan(Population(kids=20, elves=2), SpikeShape(events=100, base_rate=0))
    doomed = next(plan.events_of(1)).event["event_id"]
    sinks = [FakeSink(full=3), FakeSink(fail=frozenset({doomed}))]
    tally = LoadTally(keep_ids=True)
    for thread in run_load(plan, sinks, tally):
        thread.join(timeout=30)
    assert tally.accepted == 100 and tally.delivered == 99 and tally.failed == 1
    assert tally.backpressured == 3
    assert doomed not in tally.delivered_ids and len(tally.delivered_ids) == 99
    assert tally.failures[0][0] == doomed
    assert [e["elf_id"] for e in sinks[0].events] == ["elf-000"] * 50


def test_elves_keep_to_the_schedule_with_an_injected_clock() -> None:
    """The elves wait on the stop event until each event is due; a stop ends them at once."""
    now = [0.0]
    plan = LoadPlan(Population(kids=5, elves=1), SpikeShape(events=10, base_rate=1.0, spike_share=0))
    stop = threading.Event()
    sink = FakeSink()
    tally = LoadTally()
    threads = run_load(plan, [sink], tally, stop=stop, clock=lambda: now[0])
    # at t=0 only event 0 is due; the elf now waits about 1 s of real time for event 1
    deadline = threading.Event()
    for _ in range(200):
        if tally.accepted >= 1:
            break
        deadline.wait(0.01)
    stop.set()
    threads[0].join(timeout=10)
    assert not threads[0].is_alive()
    assert tally.accepted in (1, 2)


def test_one_producer_per_elf() -> None:
    plan = LoadPlan(Population(elves=2), SpikeShape(events=1))
    with pytest.raises(ValueError):
        run_load(plan, [FakeSink()], LoadTally())
