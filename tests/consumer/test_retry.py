from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from consumer import ConfigError, RetryPolicy, SinkError, SinkUnavailableError
from consumer.retry import call_with_retries, is_retryable


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


def test_delays_double_up_to_the_cap_with_bounded_jitter() -> None:
    policy = RetryPolicy(max_attempts=6, base_delay_s=0.1, max_delay_s=0.5)
    assert list(policy.delays(rng=lambda: 1.0)) == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])
    assert list(policy.delays(rng=lambda: 0.0)) == pytest.approx([0.05, 0.1, 0.2, 0.25, 0.25])
    assert policy.worst_case_s == pytest.approx(1.7)


def test_policy_is_validated() -> None:
    with pytest.raises(ConfigError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ConfigError):
        RetryPolicy(base_delay_s=2, max_delay_s=1)


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (client_error("ProvisionedThroughputExceededException"), True),
        (client_error("ThrottlingException"), True),
        (client_error("SlowDown", 503), True),
        (client_error("Whatever", 500), True),
        (EndpointConnectionError(endpoint_url="http://x"), True),
        (client_error("ConditionalCheckFailedException"), False),
        (client_error("ResourceNotFoundException"), False),
        (SinkError("x", retryable=True), True),
        (ValueError("bug"), False),
    ],
)
def test_is_retryable(error: BaseException, retryable: bool) -> None:
    assert is_retryable(error) is retryable


def test_retries_throttling_then_succeeds_sleeping_the_policy() -> None:
    sleeps: list[float] = []
    outcomes: list[BaseException | str] = [client_error("ThrottlingException")] * 3 + ["ok"]

    def call() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    policy = RetryPolicy(max_attempts=5, base_delay_s=0.1, max_delay_s=1)
    assert call_with_retries(call, policy=policy, what="t", sleep=sleeps.append, rng=lambda: 1.0) == "ok"
    assert sleeps == pytest.approx([0.1, 0.2, 0.4])


def test_gives_up_after_max_attempts() -> None:
    calls = []

    def call() -> None:
        calls.append(1)
        raise client_error("ThrottlingException")

    with pytest.raises(SinkUnavailableError, match="after 3 attempts") as info:
        call_with_retries(call, policy=RetryPolicy(max_attempts=3), what="t", sleep=lambda s: None)
    assert len(calls) == 3
    assert isinstance(info.value.__cause__, ClientError)


def test_non_retryable_errors_pass_through_at_once() -> None:
    def call() -> None:
        raise client_error("ValidationException")

    with pytest.raises(ClientError):
        call_with_retries(call, policy=RetryPolicy(), what="t", sleep=lambda s: pytest.fail("slept"))


def test_waiting_out_throttling_spends_no_attempts_but_errors_still_do() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.1, max_delay_s=0.4)
    errors = [client_error("SlowDown", 503)] * 50 + [client_error("InternalError", 500)] * 2
    calls: list[int] = []
    sleeps: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "stored"

    assert call_with_retries(flaky, policy=policy, what="t", sleep=sleeps.append, wait_out_throttling=True) == "stored"
    assert len(calls) == 53 and len(sleeps) == 52 and max(sleeps) <= 0.4
    errors[:] = [client_error("ThrottlingException")] * 10 + [client_error("InternalError", 500)] * 3
    with pytest.raises(SinkUnavailableError, match="after 3 attempts"):
        call_with_retries(flaky, policy=policy, what="t", sleep=sleeps.append, wait_out_throttling=True)


def test_throttling_spends_the_attempts_unless_waited_out() -> None:
    def throttled() -> None:
        raise client_error("SlowDown", 503)

    with pytest.raises(SinkUnavailableError):
        call_with_retries(throttled, policy=RetryPolicy(max_attempts=3), what="t", sleep=lambda s: None)
