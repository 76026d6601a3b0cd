"""The KCL hooks with fake sinks and a fake checkpointer: what is checkpointed, when, and the exit path."""

from __future__ import annotations

from typing import Any

import pytest
from amazon_kclpy import messages

from consumer import ProcessorConfig, RetryPolicy, SinkUnavailableError
from consumer.archive import read_rows
from consumer.processor import EXIT_SINK_FAILURE, NicelistProcessor
from schemas import encode_event
from tests.factories import make_event

from .helpers import (
    Clock,
    FakeArchive,
    FakeCheckpointer,
    FakeDynamoDB,
    FakeExit,
    initialize_input,
    kcl_record,
    process_input,
    with_checkpointer,
)

CONFIG = ProcessorConfig(
    archive_max_file_age_s=10.0,
    checkpoint_retry=RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.01),
)


class World:
    def __init__(self, dynamodb: FakeDynamoDB | None = None, archive: FakeArchive | None = None) -> None:
        self.dynamodb = dynamodb or FakeDynamoDB()
        self.archive = archive or FakeArchive()
        self.clock = Clock()
        self.exit = FakeExit()
        self.sleeps: list[float] = []
        self.processor = NicelistProcessor(
            config=CONFIG,
            dynamodb=self.dynamodb,  # type: ignore[arg-type]
            archive=self.archive,  # type: ignore[arg-type]
            monotonic=self.clock,
            wall_clock_ms=lambda: 1_766_448_000_000,
            sleep=self.sleeps.append,
            exit=self.exit,
        )
        self.processor.initialize(initialize_input())

    def process(self, records: list[Any], checkpointer: FakeCheckpointer) -> None:
        self.processor.process_records(process_input(records, checkpointer))

    def archived_positions(self) -> list[tuple[str, int]]:
        return sorted(
            (row["sequence_number"], row["subsequence_number"])
            for key, body in self.archive.objects.items()
            if key.startswith("events/")
            for row in read_rows(body)
        )


def events(n: int) -> list[bytes]:
    return [encode_event(make_event()) for _ in range(n)]


def test_checkpoints_only_after_the_archive_files_close() -> None:
    world = World()
    checkpointer = FakeCheckpointer()
    world.process([kcl_record(d, sequence=s) for s, d in zip((1, 2, 3), events(3), strict=True)], checkpointer)
    assert checkpointer.calls == [] and world.archive.objects == {}
    world.clock.now += 10  # the open file is now old enough
    world.process([kcl_record(events(1)[0], sequence=4)], checkpointer)
    assert [len(batch) for batch in world.dynamodb.batches] == [3, 1]
    assert checkpointer.calls == [("4", 0)]
    assert world.archived_positions() == [("1", 0), ("2", 0), ("3", 0), ("4", 0)]


def test_empty_batches_close_old_files() -> None:
    world = World()
    checkpointer = FakeCheckpointer()
    world.process([kcl_record(events(1)[0], sequence=7, sub=2)], checkpointer)
    world.process([], checkpointer)
    assert checkpointer.calls == []
    world.clock.now += 11
    world.process([], checkpointer)
    assert checkpointer.calls == [("7", 2)]
    world.process([], checkpointer)
    assert checkpointer.calls == [("7", 2)], "no second checkpoint at the same place"


def test_garbage_goes_to_dead_letters_and_the_shard_moves_on() -> None:
    world = World()
    checkpointer = FakeCheckpointer()
    world.process([kcl_record(b"garbage", sequence=5), kcl_record(b"\x00", sequence=6)], checkpointer)
    assert sorted(world.archive.objects) == [
        "dead-letter/dt=2025-12-23/hour=01/shardId-000000000001-5-0.avro",
        "dead-letter/dt=2025-12-23/hour=01/shardId-000000000001-6-0.avro",
    ]
    # nothing else buffered: the dead letters are durable, so the shard checkpoints at once
    assert checkpointer.calls == [("6", 0)]
    assert world.processor.counters["dead_letters"] == 2


def test_one_dead_letter_file_and_one_log_line_per_kinesis_record(caplog: pytest.LogCaptureFixture) -> None:
    """A 1 MiB aggregate of empty user records, as the KCL delivers it: ~175,000 user records of
    one sequence number. One PUT and one warning for all of them, every part kept with its reason."""
    world = World()
    checkpointer = FakeCheckpointer()
    parts = 5000
    good = events(2)
    batch = [kcl_record(good[0], sequence=41)]
    batch += [kcl_record(b"", sequence=42, sub=i) for i in range(parts)]
    batch += [kcl_record(good[1], sequence=42, sub=parts), kcl_record(b"junk", sequence=43)]
    with caplog.at_level("WARNING", logger="consumer.processor"):
        world.process(batch, checkpointer)
    dead = {k: read_rows(v) for k, v in world.archive.objects.items() if k.startswith("dead-letter/")}
    assert sorted(dead) == [
        "dead-letter/dt=2025-12-23/hour=01/shardId-000000000001-42-0.avro",
        "dead-letter/dt=2025-12-23/hour=01/shardId-000000000001-43-0.avro",
    ]
    rows = dead["dead-letter/dt=2025-12-23/hour=01/shardId-000000000001-42-0.avro"]
    assert [r["subsequence_number"] for r in rows] == list(range(parts))
    assert all(r["data"] == b"" and r["reason"] for r in rows)
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 2
    assert world.processor.counters["dead_letters"] == parts + 1
    assert len(world.dynamodb.batches[0]) == 2


def test_events_too_far_in_the_future_are_dead_lettered_not_written() -> None:
    world = World()
    checkpointer = FakeCheckpointer()
    arrived = 1_766_448_000_000
    ahead = encode_event(make_event(kid_id="kid-pinned", observed_at=arrived + CONFIG.max_future_skew_ms + 1))
    fine = encode_event(make_event(kid_id="kid-fine", observed_at=arrived + CONFIG.max_future_skew_ms))
    world.process(
        [kcl_record(ahead, sequence=50, arrived_ms=arrived), kcl_record(fine, sequence=51, arrived_ms=arrived)],
        checkpointer,
    )
    assert [e.kid_id for batch in world.dynamodb.batches for e in batch] == ["kid-fine"]
    [(key, body)] = [(k, v) for k, v in world.archive.objects.items() if k.startswith("dead-letter/")]
    [row] = read_rows(body)
    assert key.endswith("-50-0.avro") and "max_future_skew_ms" in row["reason"] and row["data"] == ahead


def test_a_replayed_dead_letter_file_stores_only_the_rows_the_stored_one_lacks() -> None:
    from consumer.archive import DeadLetterFile, dead_letter_files
    from consumer.records import KinesisRecord, Undecodable

    def bad(sub: int) -> Undecodable:
        return Undecodable(KinesisRecord("shardId-1", "42", sub, "pk", 1_766_448_000_000, b"x"), "bad")

    [stored] = dead_letter_files([bad(3), bad(1)], failed_at_ms=1)
    assert [r["subsequence_number"] for r in stored.rows] == [1, 3] and stored.key.endswith("shardId-1-42-1.avro")
    [replayed] = dead_letter_files([bad(1), bad(3), bad(7)], failed_at_ms=2)
    rest = replayed.without(read_rows(stored.body))
    assert isinstance(rest, DeadLetterFile) and [r["subsequence_number"] for r in rest.rows] == [7]
    assert rest.key.endswith("shardId-1-42-7.avro")
    assert replayed.without(read_rows(replayed.body)) is None


def test_shard_end_flushes_then_checkpoints_without_arguments() -> None:
    world = World()
    world.process([kcl_record(events(1)[0], sequence=9)], FakeCheckpointer())
    checkpointer = FakeCheckpointer()
    world.processor.shard_ended(with_checkpointer(messages.ShardEndedInput, "shardEnded", checkpointer))
    assert checkpointer.calls == [(None, None)]
    assert world.archived_positions() == [("9", 0)]


def test_shutdown_requested_flushes_then_checkpoints() -> None:
    world = World()
    world.process([kcl_record(events(1)[0], sequence=11)], FakeCheckpointer())
    checkpointer = FakeCheckpointer()
    world.processor.shutdown_requested(
        with_checkpointer(messages.ShutdownRequestedInput, "shutdownRequested", checkpointer)
    )
    assert checkpointer.calls == [("11", 0)]
    assert world.archived_positions() == [("11", 0)]


def test_lease_lost_never_checkpoints_and_drops_the_buffer() -> None:
    world = World()
    checkpointer = FakeCheckpointer()
    world.process([kcl_record(events(1)[0], sequence=12)], checkpointer)
    world.processor.lease_lost(messages.LeaseLostInput({"action": "leaseLost"}))
    assert checkpointer.calls == [] and world.archive.objects == {}
    assert len(world.processor.buffer) == 0


def test_checkpoint_throttling_is_retried() -> None:
    world = World()
    checkpointer = FakeCheckpointer(errors=["ThrottlingException", "ThrottlingException"])
    world.process([kcl_record(b"junk", sequence=13)], checkpointer)
    assert checkpointer.calls == [("13", 0)]
    assert len(world.sleeps) == 2


def test_checkpoint_throttled_for_too_long_is_skipped_and_caught_up_later() -> None:
    world = World()
    checkpointer = FakeCheckpointer(errors=["ThrottlingException"] * 3)
    world.process([kcl_record(b"junk", sequence=14)], checkpointer)
    assert checkpointer.calls == [] and world.exit.statuses == []
    world.process([kcl_record(b"junk", sequence=15)], checkpointer)
    assert checkpointer.calls == [("15", 0)]


def test_checkpoint_after_the_lease_moved_is_not_fatal() -> None:
    world = World()
    checkpointer = FakeCheckpointer(errors=["ShutdownException"])
    world.process([kcl_record(b"junk", sequence=16)], checkpointer)
    assert checkpointer.calls == [] and world.exit.statuses == []


def test_invalid_state_on_checkpoint_ends_the_process() -> None:
    world = World()
    world.process([kcl_record(b"junk", sequence=17)], FakeCheckpointer(errors=["InvalidStateException"]))
    assert world.exit.statuses == [EXIT_SINK_FAILURE]


@pytest.mark.parametrize("broken", ["dynamodb", "archive"])
def test_a_sink_failing_beyond_its_retries_ends_the_process_without_checkpoint(broken: str) -> None:
    failure = SinkUnavailableError("still throttled after 8 attempts")
    world = World(
        dynamodb=FakeDynamoDB(fail=failure if broken == "dynamodb" else None),
        archive=FakeArchive(fail=failure if broken == "archive" else None),
    )
    checkpointer = FakeCheckpointer()
    world.process([kcl_record(events(1)[0], sequence=18)], checkpointer)
    world.clock.now += 100
    world.process([], checkpointer)  # the archive file is due now
    assert world.exit.statuses == [EXIT_SINK_FAILURE]
    assert checkpointer.calls == []
    # were the exit to return (it does not: os._exit), nothing later would checkpoint either
    world.process([kcl_record(events(1)[0], sequence=19)], checkpointer)
    world.processor.shutdown_requested(
        with_checkpointer(messages.ShutdownRequestedInput, "shutdownRequested", checkpointer)
    )
    assert checkpointer.calls == [] and world.exit.statuses == [EXIT_SINK_FAILURE]


def test_the_default_exit_is_os_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    import consumer.processor as module

    statuses: list[int] = []
    monkeypatch.setattr(module.os, "_exit", statuses.append)
    module._exit_process(EXIT_SINK_FAILURE)
    assert statuses == [EXIT_SINK_FAILURE]
