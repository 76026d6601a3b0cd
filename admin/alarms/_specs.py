"""The alarms that would have woken someone on December 23rd: pure definitions, no AWS.

Each :class:`AlarmSpec` names its metric exactly (namespace, name, dimensions), so a test can
check that every alarm watches something nicelist or AWS really publishes, and carries a
one-line reason for its threshold. ``nicelist alarms apply`` creates them, the CloudFormation
template (:mod:`deploy.template`) declares them, both from :func:`alarm_specs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from foundation.limits import MiB
from foundation.settings import PipelineNames
from observability import metrics as m

KINESIS = "AWS/Kinesis"
DYNAMODB = "AWS/DynamoDB"

#: comparison operators CloudWatch accepts, by their short form
_OPERATORS = {
    ">": "GreaterThanThreshold",
    ">=": "GreaterThanOrEqualToThreshold",
    "<": "LessThanThreshold",
    "<=": "LessThanOrEqualToThreshold",
}


@dataclass(frozen=True, kw_only=True)
class AlarmSpec:
    """One metric alarm: ``statistic`` of the metric over ``period_s`` is ``comparison``
    ``threshold`` in ``datapoints`` of the last ``evaluation_periods`` periods."""

    name: str
    #: why this threshold, in one line (the alarm's description; the playbook says what to do)
    reason: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str
    threshold: float
    comparison: str = ">"
    period_s: int = 60
    evaluation_periods: int = 5
    datapoints: int = 5
    #: missing data is normal for an idle pipeline: it neither breaches nor clears
    treat_missing_data: str = "notBreaching"

    def __post_init__(self) -> None:
        if self.comparison not in _OPERATORS:
            raise ValueError(f"comparison must be one of {sorted(_OPERATORS)}, not {self.comparison!r}")
        if not 1 <= self.datapoints <= self.evaluation_periods:
            raise ValueError("need 1 <= datapoints <= evaluation_periods")
        if self.period_s % 60:
            raise ValueError("period_s must be a multiple of 60")
        if len(self.reason.splitlines()) != 1:
            raise ValueError("reason must be one line")

    @property
    def comparison_operator(self) -> str:
        return _OPERATORS[self.comparison]

    def put_metric_alarm_args(self, topic_arn: str | None) -> dict[str, Any]:
        """The ``PutMetricAlarm`` request for this alarm, actions to ``topic_arn``."""
        actions = [topic_arn] if topic_arn else []
        return {
            "AlarmName": self.name,
            "AlarmDescription": self.reason,
            "ActionsEnabled": bool(actions),
            "AlarmActions": actions,
            "OKActions": actions,
            "Namespace": self.namespace,
            "MetricName": self.metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions],
            "Statistic": self.statistic,
            "Period": self.period_s,
            "EvaluationPeriods": self.evaluation_periods,
            "DatapointsToAlarm": self.datapoints,
            "Threshold": float(self.threshold),
            "ComparisonOperator": self.comparison_operator,
            "TreatMissingData": self.treat_missing_data,
        }


def topic_name(names: PipelineNames) -> str:
    """The SNS topic the alarms notify."""
    return f"{names.application}-alarms"


def alarm_specs(names: PipelineNames) -> list[AlarmSpec]:
    """Every alarm of a deployment with these names; each alarm's name starts with the application's
    (the admin policy allows ``alarm:<application>-*``)."""
    app = ((m.APPLICATION, names.application),)
    stream = (("StreamName", names.stream),)
    return [
        AlarmSpec(
            name=f"{names.application}-iterator-age",
            reason="records wait over 10 min in the stream for 5 min: workers are falling behind the spike",
            namespace=KINESIS,
            metric="GetRecords.IteratorAgeMilliseconds",
            dimensions=stream,
            statistic="Maximum",
            threshold=10 * 60_000,
        ),
        AlarmSpec(
            name=f"{names.application}-millis-behind-latest",
            reason="a processor is over 5 min behind its shard's tip for 5 min: that shard's kids go stale",
            namespace=m.NAMESPACE,
            metric=m.MILLIS_BEHIND_LATEST.name,
            dimensions=app,
            statistic="Maximum",
            threshold=5 * 60_000,
        ),
        AlarmSpec(
            name=f"{names.application}-stream-write-throttled",
            reason="puts throttled every minute for 5 min: producers are spooling, the stream needs shards",
            namespace=KINESIS,
            metric="WriteProvisionedThroughputExceeded",
            dimensions=stream,
            statistic="Sum",
            threshold=0,
        ),
        AlarmSpec(
            name=f"{names.application}-dynamodb-throttled",
            reason="kid-table writes throttled in 3 of 5 min: workers slow down and may give up (exit 70)",
            namespace=m.NAMESPACE,
            metric=m.DYNAMODB_THROTTLES.name,
            dimensions=app,
            statistic="Sum",
            threshold=0,
            datapoints=3,
        ),
        AlarmSpec(
            name=f"{names.application}-table-write-throttle-events",
            reason="DynamoDB itself reports write throttling on the kid table in 3 of 5 min",
            namespace=DYNAMODB,
            metric="WriteThrottleEvents",
            dimensions=(("TableName", names.table),),
            statistic="Sum",
            threshold=0,
            datapoints=3,
        ),
        AlarmSpec(
            name=f"{names.application}-dead-letters",
            reason="any undecodable record: an elf app sends garbage (look at dead-letter/ in Athena)",
            namespace=m.NAMESPACE,
            metric=m.DEAD_LETTERS.name,
            dimensions=app,
            statistic="Sum",
            threshold=0,
            evaluation_periods=1,
            datapoints=1,
        ),
        AlarmSpec(
            name=f"{names.application}-processor-stopped",
            reason="a processor gave up on a sink after its retries: its shard stalls until the sink recovers",
            namespace=m.NAMESPACE,
            metric=m.PROCESSOR_STOPPED.name,
            dimensions=app,
            statistic="Sum",
            threshold=0,
            evaluation_periods=1,
            datapoints=1,
        ),
        AlarmSpec(
            name=f"{names.application}-producer-spool-growing",
            reason="a producer's spool holds over 64 MiB for 5 min: Kinesis does not take the load, disks fill",
            namespace=m.NAMESPACE,
            metric=m.PRODUCER_SPOOL_BYTES.name,
            dimensions=((m.STREAM, names.stream),),
            statistic="Maximum",
            threshold=64 * MiB,
        ),
        AlarmSpec(
            name=f"{names.application}-producer-spool-events-lost",
            reason="a producer found damaged events in its spool at start: they are gone (its log names the file)",
            namespace=m.NAMESPACE,
            metric=m.PRODUCER_SPOOL_EVENTS_LOST.name,
            dimensions=((m.STREAM, names.stream),),
            statistic="Sum",
            threshold=0,
            evaluation_periods=1,
            datapoints=1,
        ),
    ]


#: (namespace, metric name, dimension names) AWS publishes that the alarms may watch
AWS_PUBLISHED: frozenset[tuple[str, str, tuple[str, ...]]] = frozenset(
    {
        (KINESIS, "GetRecords.IteratorAgeMilliseconds", ("StreamName",)),
        (KINESIS, "WriteProvisionedThroughputExceeded", ("StreamName",)),
        (KINESIS, "IncomingRecords", ("StreamName",)),
        (DYNAMODB, "WriteThrottleEvents", ("TableName",)),
        (DYNAMODB, "ThrottledRequests", ("TableName", "Operation")),
    }
)


def watched(spec: AlarmSpec) -> tuple[str, str, tuple[str, ...]]:
    """(namespace, metric, dimension names) of what ``spec`` watches."""
    return spec.namespace, spec.metric, tuple(name for name, _ in spec.dimensions)


def is_published(spec: AlarmSpec) -> bool:
    """Whether somebody publishes the metric ``spec`` watches (nicelist or AWS)."""
    namespace, metric, dimension_names = watched(spec)
    if namespace == m.NAMESPACE:
        return (metric, dimension_names) in m.PUBLISHED
    return (namespace, metric, dimension_names) in AWS_PUBLISHED
