"""How CloudWatch decides a metric alarm's state, as a pure function (no moto, no clock).

moto 5.2.x stores alarms but never evaluates them; the embedded stack's runner
(:mod:`localaws._alarm_runner`) reads the datapoints and calls :func:`evaluate`. The rules, each
from the CloudWatch User Guide:

- R1 (Using Amazon CloudWatch alarms, "Evaluating an alarm",
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html):
  each datapoint is the alarm's statistic over one Period; a datapoint breaches when
  ``value <operator> threshold`` holds; the alarm goes to ALARM when at least DatapointsToAlarm
  (M) of the EvaluationPeriods (N) datapoints evaluated breach ("M out of N"), otherwise OK.
- R2 (Configuring how CloudWatch alarms treat missing data, "How alarm state is evaluated when
  data is missing", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html):
  CloudWatch retrieves more datapoints than N: the evaluation range. If at least N of them are
  real, it evaluates the most recent N real ones and the missing-data setting is not used.
- R3 (same section): if fewer than N are real, the missing ones are filled with the setting,
  as few as possible, and every real datapoint in the range is included: ``breaching`` fills
  with breaching points, ``notBreaching`` with good ones.
- R4 (same page, the four settings): ``missing``: if every datapoint of the range is missing,
  INSUFFICIENT_DATA; ``ignore``: the current state is maintained.
- R5 (same page, the table of examples for N = M = 3): with ``missing`` and ``ignore`` a
  partial range is judged on its real datapoints alone; where they would alarm, ``missing``
  alarms and ``ignore`` keeps the current state ("- - X - -": ALARM, retain, ALARM, OK). The
  table's five rows are the test ``test_the_missing_data_table_of_the_user_guide``.
- R6 (PutMetricAlarm API reference, TreatMissingData): alarms on ``AWS/DynamoDB`` metrics always
  ignore missing data, whatever the setting.

Not documented, assumed here (docs/OPERATIONS.md, "The embedded stack evaluates its alarms"): the
evaluation range is N + 2 periods (the guide's examples use 5 for N = 3), and the datapoints are
the periods aligned to multiples of Period since the epoch that ended before the evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

OK = "OK"
ALARM = "ALARM"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
STATES = (OK, ALARM, INSUFFICIENT_DATA)

#: TreatMissingData values (PutMetricAlarm API reference); ``missing`` is the default
TREATMENTS = ("breaching", "notBreaching", "ignore", "missing")
#: periods retrieved beyond EvaluationPeriods (an assumption: see the module docstring)
EXTRA_PERIODS = 2

_COMPARE = {
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}


@dataclass(frozen=True, kw_only=True)
class Rule:
    """What an alarm compares (the fields of PutMetricAlarm that decide its state)."""

    comparison: str
    threshold: float
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str = "missing"

    def __post_init__(self) -> None:
        if self.comparison not in _COMPARE:
            raise ValueError(f"unsupported ComparisonOperator {self.comparison!r}")
        if not 1 <= self.datapoints_to_alarm <= self.evaluation_periods:
            raise ValueError("need 1 <= DatapointsToAlarm <= EvaluationPeriods")
        if self.treat_missing_data not in TREATMENTS:
            raise ValueError(f"TreatMissingData must be one of {TREATMENTS}, not {self.treat_missing_data!r}")

    @property
    def range_periods(self) -> int:
        return self.evaluation_periods + EXTRA_PERIODS

    def breaches(self, value: float) -> bool:
        return bool(_COMPARE[self.comparison](value, self.threshold))


@dataclass(frozen=True)
class Verdict:
    state: str
    reason: str


def treatment_for(namespace: str | None, treat_missing_data: str | None) -> str:
    """The setting CloudWatch applies: ``missing`` when none is set, ``ignore`` for AWS/DynamoDB (R6)."""
    if namespace == "AWS/DynamoDB":
        return "ignore"
    return treat_missing_data or "missing"


def evaluate(rule: Rule, datapoints: Sequence[float | None], current: str) -> Verdict:
    """The state after one evaluation. ``datapoints``: the evaluation range, oldest first, one per
    period, None where the period has no datapoint (NaN counts as missing)."""
    points = [None if p is None or math.isnan(p) else float(p) for p in datapoints][-rule.range_periods :]
    real = [p for p in points if p is not None]
    n, m = rule.evaluation_periods, rule.datapoints_to_alarm
    if len(real) >= n:  # R2: the most recent N real datapoints decide, missing data is not used
        return _judge(rule, real[-n:])
    treatment = rule.treat_missing_data
    if not real:  # R4 (and R3 for the two settings that fill)
        if treatment == "missing":
            return Verdict(INSUFFICIENT_DATA, f"no datapoints in the last {len(points)} periods (missing)")
        if treatment == "ignore":
            return Verdict(current, f"no datapoints in the last {len(points)} periods (ignore: state kept)")
    if treatment in ("breaching", "notBreaching"):  # R3: fill as few as possible, keep every real one
        return _judge(rule, real, filled=n - len(real), filled_breach=treatment == "breaching")
    # R5: missing/ignore on a partial range: the real datapoints alone
    breaching = sum(rule.breaches(p) for p in real)
    if breaching >= min(m, len(real)):
        if treatment == "ignore":
            return Verdict(current, f"{breaching} of {len(real)} real datapoints breach (ignore: state kept)")
        return Verdict(ALARM, f"{breaching} of {len(real)} real datapoints breach (the rest missing)")
    return Verdict(OK, f"{breaching} of {len(real)} real datapoints breach (the rest missing)")


def _judge(rule: Rule, real: Sequence[float], *, filled: int = 0, filled_breach: bool = False) -> Verdict:
    breaching = sum(rule.breaches(p) for p in real) + (filled if filled_breach else 0)
    values = [f"{p:g}" for p in real] + [("breaching" if filled_breach else "notBreaching") + " (missing)"] * filled
    operator = rule.comparison.replace("Threshold", "")
    detail = f"{breaching} of {len(values)} datapoints [{', '.join(values)}] {operator} {rule.threshold:g}"
    if breaching >= rule.datapoints_to_alarm:
        return Verdict(ALARM, f"Threshold Crossed: {detail}")
    return Verdict(OK, f"Threshold not crossed: {detail}")


#: what one stored datum contributes to a period: (sum, sample count, minimum, maximum)
Sample = tuple[float, float, float, float]


def period_statistic(statistic: str, samples: Sequence[Sample]) -> float | None:
    """``statistic`` over the samples that fell in one period; None when there are none."""
    if not samples:
        return None
    if statistic == "Sum":
        return float(sum(s[0] for s in samples))
    if statistic == "SampleCount":
        return float(sum(s[1] for s in samples))
    if statistic == "Average":
        count = sum(s[1] for s in samples)
        return float(sum(s[0] for s in samples) / count) if count else None
    if statistic == "Minimum":
        return float(min(s[2] for s in samples))
    if statistic == "Maximum":
        return float(max(s[3] for s in samples))
    raise ValueError(f"unsupported statistic {statistic!r}")
