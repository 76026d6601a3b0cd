"""The ground floor's helpers: AWS error reading, deadline polling, config errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from foundation.aws_errors import ErrorKind, classify, error_code, error_message, http_status
from foundation.errors import ConfigError
from foundation.polling import PollTimeout, poll, wait_until


def client_error(code: str, status: int = 400, message: str = "no") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutItem"
    )


def test_error_reading_is_duck_typed() -> None:
    exc = client_error("ThrottlingException", 400, "slow down")
    assert (error_code(exc), error_message(exc), http_status(exc)) == ("ThrottlingException", "slow down", 400)
    assert (error_code(ValueError("x")), error_message(ValueError("x")), http_status(ValueError("x"))) == ("", "", None)


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("ProvisionedThroughputExceededException", 400, ErrorKind.THROTTLED),
        ("SlowDown", 503, ErrorKind.THROTTLED),
        ("Whatever", 429, ErrorKind.THROTTLED),
        ("InternalServerError", 500, ErrorKind.TRANSIENT),
        ("Unknown", 502, ErrorKind.TRANSIENT),
        ("AccessDeniedException", 400, ErrorKind.OTHER),
        ("ValidationException", 400, ErrorKind.OTHER),
    ],
)
def test_classify(code: str, status: int, kind: ErrorKind) -> None:
    assert classify(code, status) is kind


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_until_returns_the_first_truthy_answer_without_real_sleeps() -> None:
    clock = FakeClock()
    answers = iter([None, 0, "", "ready"])
    assert (
        wait_until(lambda: next(answers), timeout_s=10, what="x", poll_s=1, clock=clock, sleep=clock.sleep) == "ready"
    )
    assert clock.sleeps == [1, 1, 1]


def test_wait_until_names_what_it_waited_for_at_the_deadline() -> None:
    clock = FakeClock()
    with pytest.raises(PollTimeout, match="after 3 s waiting for the stream"):
        wait_until(lambda: None, timeout_s=3, what="the stream", poll_s=2, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [2, 1]  # never sleeps past the deadline


def test_config_error_in_both_forms() -> None:
    assert str(ConfigError("linger_ms", "must be >= 0")) == "linger_ms: must be >= 0"
    error = ConfigError("bad everything")
    assert (str(error), error.setting, isinstance(error, ValueError)) == ("bad everything", "", True)


def test_poll_returns_the_last_answer_and_whether_it_was_done() -> None:
    clock = FakeClock()
    answers = iter([1, 2, 3, 4, 5])
    assert poll(lambda: next(answers), lambda n: n >= 3, timeout_s=10, poll_s=1, clock=clock, sleep=clock.sleep) == (
        3,
        True,
    )
    clock = FakeClock()
    assert poll(lambda: 0, lambda n: n > 0, timeout_s=3, poll_s=2, clock=clock, sleep=clock.sleep) == (0, False)
    assert clock.sleeps == [2, 1]
