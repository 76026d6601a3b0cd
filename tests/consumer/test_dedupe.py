from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from consumer.dedupe import condition_values, latest_per_kid, to_item
from consumer.records import DecodedEvent, KinesisRecord
from tests.factories import make_event


def decoded(event: dict, sequence: int = 1, sub: int = 0) -> DecodedEvent:
    record = KinesisRecord("shardId-1", str(sequence), sub, "pk", 1_766_448_000_000, b"")
    return DecodedEvent(record, event, "ab" * 8)


def test_latest_wins_by_observed_at_then_event_id() -> None:
    old = make_event(kid_id="k1", observed_at=1_766_448_000_000)
    new = make_event(kid_id="k1", observed_at=1_766_448_000_005)
    tie_low = make_event(kid_id="k2", observed_at=1_766_448_000_000, event_id="00000000-0000-4000-8000-000000000000")
    tie_high = make_event(kid_id="k2", observed_at=1_766_448_000_000, event_id="ffffffff-0000-4000-8000-000000000000")
    result = latest_per_kid([decoded(new), decoded(old), decoded(tie_high), decoded(tie_low), decoded(new)])
    assert sorted((d.kid_id, d.event["event_id"]) for d in result) == [
        ("k1", new["event_id"]),
        ("k2", tie_high["event_id"]),
    ]


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 50)), min_size=1, max_size=60))
def test_one_winner_per_kid_and_it_is_the_maximum(spec: list[tuple[int, int]]) -> None:
    events = [decoded(make_event(kid_id=f"k{kid}", observed_at=1_766_448_000_000 + t)) for kid, t in spec]
    result = latest_per_kid(events)
    assert len(result) == len({kid for kid, _ in spec})
    for winner in result:
        same_kid = [e for e in events if e.kid_id == winner.kid_id]
        assert winner.order_key == max(e.order_key for e in same_kid)


def test_item_format_matches_the_shared_interface() -> None:
    event = make_event(note="kind", location={"lat": 10.25, "lon": -3.0}, app_version="1.2.3")
    item = to_item(decoded(event, sequence=4960, sub=2), written_at_ms=1_766_448_001_000)
    assert item == {
        "kid_id": {"S": event["kid_id"]},
        "behaviour": {"S": event["behaviour"]},
        "elf_id": {"S": event["elf_id"]},
        "event_id": {"S": event["event_id"]},
        "observed_at": {"N": str(event["observed_at"])},
        "note": {"S": "kind"},
        "location": {"M": {"lat": {"N": "10.25"}, "lon": {"N": "-3.0"}}},
        "app_version": {"S": "1.2.3"},
        "shard_id": {"S": "shardId-1"},
        "sequence_number": {"S": "4960"},
        "subsequence_number": {"N": "2"},
        "written_at": {"N": "1766448001000"},
    }


def test_null_fields_are_absent() -> None:
    item = to_item(decoded(make_event(note=None, location=None, app_version=None)), written_at_ms=1)
    assert not {"note", "location", "app_version"} & item.keys()


def test_condition_values() -> None:
    event = make_event()
    assert condition_values(decoded(event)) == {
        ":observed_at": {"N": str(event["observed_at"])},
        ":event_id": {"S": event["event_id"]},
    }
