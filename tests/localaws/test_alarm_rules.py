"""The embedded stack's alarm rules (pure): the CloudWatch User Guide's rules, R1-R6 in
localaws/_alarm_rules.py, and the small metric math the alarms use."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localaws._alarm_math import MathError, evaluate_expression
from localaws._alarm_rules import ALARM, INSUFFICIENT_DATA, OK, Rule, evaluate, period_statistic, treatment_for

X, G, _ = 1.0, 0.0, None  # breaching, good (not breaching), missing (threshold 0.5, ">")


def rule(treat: str, n: int = 3, m: int = 3) -> Rule:
    return Rule(
        comparison="GreaterThanThreshold",
        threshold=0.5,
        evaluation_periods=n,
        datapoints_to_alarm=m,
        treat_missing_data=treat,
    )


# The guide's table ("Configuring how CloudWatch alarms treat missing data"), N = M = 3, an
# evaluation range of 5; columns missing, ignore, breaching, notBreaching; "keep": retain state.
TABLE = [
    ((G, _, X, _, X), (OK, OK, OK, OK)),
    ((_, _, _, _, G), (OK, OK, OK, OK)),
    ((_, _, _, _, _), (INSUFFICIENT_DATA, "keep", ALARM, OK)),
    ((G, X, X, _, X), (ALARM, ALARM, ALARM, ALARM)),
    ((_, _, X, _, _), (ALARM, "keep", ALARM, OK)),
]


@pytest.mark.parametrize(("points", "expected"), TABLE)
@pytest.mark.parametrize("current", [OK, ALARM, INSUFFICIENT_DATA])
def test_the_missing_data_table_of_the_user_guide(
    points: tuple[float | None, ...], expected: tuple[str, ...], current: str
) -> None:
    for treat, want in zip(("missing", "ignore", "breaching", "notBreaching"), expected, strict=True):
        got = evaluate(rule(treat), points, current).state
        assert got == (current if want == "keep" else want), (treat, points, current)


def test_m_out_of_n_counts_breaching_datapoints() -> None:  # R1
    assert evaluate(rule("missing", n=5, m=3), (X, G, X, G, X), OK).state == ALARM
    assert evaluate(rule("missing", n=5, m=3), (X, G, X, G, G), ALARM).state == OK
    # R2: enough real datapoints: the most recent N decide, older ones and gaps do not
    assert evaluate(rule("breaching", n=2, m=2), (X, _, _, G, G), ALARM).state == OK


def test_breaching_fills_only_as_few_missing_points_as_needed() -> None:  # R3
    # one real good point, two filled breaching: 2 of 3 is not 3 of 3
    assert evaluate(rule("breaching"), (_, _, _, _, G), ALARM).state == OK
    assert evaluate(rule("breaching", m=2), (_, _, _, _, G), OK).state == ALARM


def test_dynamodb_metrics_always_ignore_missing_data() -> None:  # R6
    assert treatment_for("AWS/DynamoDB", "breaching") == "ignore"
    assert treatment_for("nicelist", None) == "missing"
    assert treatment_for("nicelist", "breaching") == "breaching"


def test_statistics_over_raw_and_aggregated_samples() -> None:
    samples = [(2.0, 1.0, 2.0, 2.0), (10.0, 4.0, 1.0, 5.0)]
    assert period_statistic("Sum", samples) == 12.0
    assert period_statistic("SampleCount", samples) == 5.0
    assert period_statistic("Average", samples) == 12.0 / 5.0
    assert period_statistic("Minimum", samples) == 1.0
    assert period_statistic("Maximum", samples) == 5.0
    assert period_statistic("Sum", []) is None
    with pytest.raises(ValueError):
        period_statistic("p99", samples)


@given(
    st.lists(st.one_of(st.none(), st.floats(-10, 10)), min_size=0, max_size=8),
    st.sampled_from(["missing", "ignore", "breaching", "notBreaching"]),
    st.sampled_from([OK, ALARM, INSUFFICIENT_DATA]),
    st.integers(1, 4),
)
def test_every_range_gets_a_state(points: list[float | None], treat: str, current: str, n: int) -> None:
    verdict = evaluate(rule(treat, n=n, m=max(1, n - 1)), points, current)
    assert verdict.state in (OK, ALARM, INSUFFICIENT_DATA) and verdict.reason
    if verdict.state == INSUFFICIENT_DATA and current != INSUFFICIENT_DATA:
        assert treat == "missing" and all(p is None for p in points[-(n + 2) :])


def test_records_unread_expression() -> None:
    expression = "IF(FILL(read, 0) == 0, incoming, 0)"
    series = {"incoming": [5.0, 5.0, None, 0.0], "read": [None, 3.0, None, None]}
    assert evaluate_expression(expression, series, 4) == [5.0, 0.0, None, 0.0]


def test_math_operators_and_errors() -> None:
    series = {"a": [1.0, 2.0, None], "b": [1.0, 0.0, 4.0]}
    assert evaluate_expression("a / b", series, 3) == [1.0, None, None]
    assert evaluate_expression("-a + 2 * b", series, 3) == [1.0, -2.0, None]
    assert evaluate_expression("a > 1 AND b < 1 || a == 1", series, 3) == [1.0, 1.0, None]
    assert evaluate_expression("IF(b, a)", series, 3) == [1.0, None, None]
    for bad in ("a +", "SUM(a)", "c", "a $ b", "(a"):
        with pytest.raises(MathError):
            evaluate_expression(bad, series, 3)
