"""Error classification and backoff, with a seeded rng instead of sleeping."""

from __future__ import annotations

import random

import pytest

from producer._retry import Backoff, ErrorKind, classify


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("ProvisionedThroughputExceededException", 400, ErrorKind.THROTTLED),
        ("ThrottlingException", 400, ErrorKind.THROTTLED),
        ("LimitExceededException", 400, ErrorKind.THROTTLED),
        ("KMSThrottlingException", None, ErrorKind.THROTTLED),
        ("Whatever", 429, ErrorKind.THROTTLED),
        ("InternalFailure", None, ErrorKind.TRANSIENT),
        ("ServiceUnavailable", 503, ErrorKind.TRANSIENT),
        ("HTTP502", 502, ErrorKind.TRANSIENT),
        ("ConnectionError", None, ErrorKind.TRANSIENT),
        ("AccessDeniedException", 400, ErrorKind.OTHER),
        ("ResourceNotFoundException", 400, ErrorKind.OTHER),
        ("KMSAccessDeniedException", None, ErrorKind.OTHER),
        ("ValidationException", 400, ErrorKind.OTHER),
    ],
)
def test_classify(code: str, status: int | None, kind: ErrorKind) -> None:
    assert classify(code, status) is kind


def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() -> None:
    backoff = Backoff(base_s=0.1, max_s=1.0)
    assert [backoff.cap_s(a) for a in (1, 2, 3, 4, 5, 6)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    rng = random.Random(7)
    for attempt in range(1, 200):
        cap = backoff.cap_s(attempt)
        assert cap / 2 <= backoff.delay_s(attempt, rng) <= cap


def test_backoff_is_deterministic_with_a_seeded_rng() -> None:
    backoff = Backoff(base_s=0.1, max_s=10.0)
    first = [backoff.delay_s(a, random.Random(1)) for a in range(1, 6)]
    assert first == [backoff.delay_s(a, random.Random(1)) for a in range(1, 6)]
    assert backoff.delay_s(3, random.Random(1)) == pytest.approx(0.2 + random.Random(1).uniform(0, 0.2))


def test_backoff_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        Backoff(base_s=0, max_s=1)
    with pytest.raises(ValueError):
        Backoff(base_s=2, max_s=1)
    with pytest.raises(ValueError):
        Backoff().cap_s(0)
