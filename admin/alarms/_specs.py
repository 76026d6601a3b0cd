"""The alarms that would have woken someone on December 23rd: pure definitions, no AWS.

Each :class:`AlarmSpec` names its metric exactly (namespace, name, dimensions), or the metrics of
its metric math expression, so a test can check that every alarm watches something nicelist or
AWS really publishes, and carries a one-line reason for its threshold and one for how it treats
missing data (CloudWatch's ``TreatMissingData``: ``breaching``, ``notBreaching``, ``ignore`` or
``missing``). Silence is an alarm too: ``worker-heartbeat`` treats missing data as breaching, and
``records-unread`` compares what arrives in the stream with what is read from it.
``nicelist alarms apply`` creates them, the CloudFormation
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


#: TreatMissingData values (PutMetricAlarm API reference)
MISSING_DATA = ("breaching", "notBreaching", "ignore", "missing")


@dataclass(frozen=True, kw_only=True)
class MathInput:
    """One metric of a metric math alarm, named ``id`` in the expression."""

    id: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str


@dataclass(frozen=True, kw_only=True)
class AlarmSpec:
    """One metric alarm: ``statistic`` of the metric over ``period_s`` is ``comparison``
    ``threshold`` in ``datapoints`` of the last ``evaluation_periods`` periods."""

    name: str
    #: why this threshold, in one line (the alarm's description; the playbook says what to do)
    reason: str
    namespace: str = ""
    metric: str = ""
    dimensions: tuple[tuple[str, str], ...] = ()
    statistic: str = ""
    threshold: float
    comparison: str = ">"
    period_s: int = 60
    evaluation_periods: int = 5
    datapoints: int = 5
    #: what a period without a datapoint counts as (CloudWatch's own default is ``missing``)
    treat_missing_data: str = "notBreaching"
    #: why that choice, in one line (every alarm states one; a test checks)
    missing_data_reason: str = ""
    #: metric math instead of one metric: ``expression`` over ``inputs`` (by id); then leave
    #: namespace, metric, dimensions and statistic empty
    expression: str = ""
    inputs: tuple[MathInput, ...] = ()

    def __post_init__(self) -> None:
        if self.treat_missing_data not in MISSING_DATA:
            raise ValueError(f"treat_missing_data must be one of {MISSING_DATA}, not {self.treat_missing_data!r}")
        if bool(self.expression) != bool(self.inputs) or bool(self.expression) == bool(self.metric):
            raise ValueError("an alarm watches either one metric or an expression over its inputs")
        if len(self.missing_data_reason.splitlines()) > 1:
            raise ValueError("missing_data_reason must be one line")
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

    @property
    def description(self) -> str:
        """The alarm's description: the reason, then the missing-data choice and why."""
        why = f": {self.missing_data_reason}" if self.missing_data_reason else ""
        return f"{self.reason} (missing data: {self.treat_missing_data}{why})"

    def put_metric_alarm_args(self, topic_arn: str | None, *, period_s: int | None = None) -> dict[str, Any]:
        """The ``PutMetricAlarm`` request for this alarm, actions to ``topic_arn``. ``period_s``:
        another period (the embedded stack's scaled rehearsals; CloudWatch takes 10, 20, 30 or
        multiples of 60)."""
        period = period_s or self.period_s
        actions = [topic_arn] if topic_arn else []
        args: dict[str, Any] = {
            "AlarmName": self.name,
            "AlarmDescription": self.description,
            "ActionsEnabled": bool(actions),
            "AlarmActions": actions,
            "OKActions": actions,
        }
        if self.expression:
            args["Metrics"] = [
                {
                    "Id": i.id,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": i.namespace,
                            "MetricName": i.metric,
                            "Dimensions": [{"Name": k, "Value": v} for k, v in i.dimensions],
                        },
                        "Period": period,
                        "Stat": i.statistic,
                    },
                    "ReturnData": False,
                }
                for i in self.inputs
            ] + [{"Id": "e1", "Expression": self.expression, "Label": self.name, "ReturnData": True}]
        else:
            args |= {
                "Namespace": self.namespace,
                "MetricName": self.metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions],
                "Statistic": self.statistic,
                "Period": period,
            }
        return args | {
            "EvaluationPeriods": self.evaluation_periods,
            "DatapointsToAlarm": self.datapoints,
            "Threshold": float(self.threshold),
            "ComparisonOperator": self.comparison_operator,
            "TreatMissingData": self.treat_missing_data,
        }


#: ids of records-unread's metrics in its expression
_INCOMING, _READ = "incoming", "read"
#: ids of dynamodb-throttled's metrics: throttled calls (botocore's view) and throttled statements
_CALLS, _STATEMENTS = "calls", "statements"


def topic_name(names: PipelineNames) -> str:
    """The SNS topic the alarms notify."""
    return f"{names.application}-alarms"


#: the order alarm_specs lists the alarms in (by name after the application's): the order
#: ``nicelist alarms`` shows and applies them and the template declares them; a new alarm goes last
_ORDER = (
    "iterator-age",
    "millis-behind-latest",
    "stream-write-throttled",
    "dynamodb-throttled",
    "table-write-throttle-events",
    "dead-letters",
    "processor-stopped",
    "producer-spool-growing",
    "heartbeat",
    "records-unread",
    "producer-spool-events-lost",
)


def alarm_specs(names: PipelineNames) -> list[AlarmSpec]:
    """Every alarm of a deployment with these names, in ``_ORDER``; each alarm's name starts with
    the application's (the admin policy allows ``alarm:<application>-*``)."""
    specs = [
        *_stream_alarms(names),
        *_worker_alarms(names),
        *_dynamodb_alarms(names),
        *_producer_alarms(names),
        *_silence_alarms(names),
    ]
    rank = {f"{names.application}-{suffix}": i for i, suffix in enumerate(_ORDER)}
    if sorted(spec.name for spec in specs) != sorted(rank):  # a programming error: say which alarm
        raise RuntimeError(f"_ORDER and the alarm groups disagree: {sorted({s.name for s in specs} ^ set(rank))}")
    return sorted(specs, key=lambda spec: rank[spec.name])


def _stream_alarms(names: PipelineNames) -> list[AlarmSpec]:
    """The stream's own health, as AWS/Kinesis reports it: lag of its readers, throttled puts."""
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
            treat_missing_data="ignore",
            missing_data_reason="no GetRecords, no datapoint: a lag alarm must not clear because the readers died "
            "(worker-heartbeat and records-unread catch that)",
        ),
        AlarmSpec(
            name=f"{names.application}-stream-write-throttled",
            reason="puts throttled every minute for 5 min: producers are spooling, the stream needs shards",
            namespace=KINESIS,
            metric="WriteProvisionedThroughputExceeded",
            dimensions=stream,
            statistic="Sum",
            threshold=0,
            treat_missing_data="notBreaching",
            missing_data_reason="no puts in a minute, no throttling in it",
        ),
    ]


def _worker_alarms(names: PipelineNames) -> list[AlarmSpec]:
    """What the record processors report: how far behind they are, dead letters, a stop."""
    app = ((m.APPLICATION, names.application),)
    return [
        AlarmSpec(
            name=f"{names.application}-millis-behind-latest",
            reason="a processor is over 5 min behind its shard's tip for 5 min: that shard's kids go stale",
            namespace=m.NAMESPACE,
            metric=m.MILLIS_BEHIND_LATEST.name,
            dimensions=app,
            statistic="Maximum",
            threshold=5 * 60_000,
            treat_missing_data="ignore",
            missing_data_reason="sent only with records: an idle shard sends none, and a dead processor must not "
            "clear the alarm (worker-heartbeat catches that)",
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
            treat_missing_data="notBreaching",
            missing_data_reason="processors send 0 every minute; none at all means none runs: worker-heartbeat's alarm",
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
            treat_missing_data="notBreaching",
            missing_data_reason="running processors send 0; a stop is sent before the exit, so silence is no stop",
        ),
    ]


def _dynamodb_alarms(names: PipelineNames) -> list[AlarmSpec]:
    """Throttled writes to the kid table, as the processors and DynamoDB itself see them."""
    app = ((m.APPLICATION, names.application),)
    return [
        AlarmSpec(
            name=f"{names.application}-dynamodb-throttled",
            reason="kid-table writes throttled (whole calls or single statements) in 3 of 5 min: workers slow "
            "down and wait it out (they never give up on throttling alone)",
            expression=f"FILL({_CALLS}, 0) + FILL({_STATEMENTS}, 0)",
            inputs=(
                MathInput(
                    id=_CALLS, namespace=m.NAMESPACE, metric=m.DYNAMODB_THROTTLES.name, dimensions=app, statistic="Sum"
                ),
                MathInput(
                    id=_STATEMENTS,
                    namespace=m.NAMESPACE,
                    metric=m.DYNAMODB_THROTTLED_STATEMENTS.name,
                    dimensions=app,
                    statistic="Sum",
                ),
            ),
            threshold=0,
            datapoints=3,
            treat_missing_data="notBreaching",
            missing_data_reason="processors send 0 every minute; none at all means none runs: worker-heartbeat's alarm",
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
            treat_missing_data="ignore",
            missing_data_reason="CloudWatch ignores missing data for AWS/DynamoDB metrics whatever is set "
            "(PutMetricAlarm API reference): say so",
        ),
    ]


def _producer_alarms(names: PipelineNames) -> list[AlarmSpec]:
    """What the producers report about their spools: growing, or events lost in them."""
    return [
        AlarmSpec(
            name=f"{names.application}-producer-spool-growing",
            reason="a producer's spool holds over 64 MiB for 5 min: Kinesis does not take the load, disks fill",
            namespace=m.NAMESPACE,
            metric=m.PRODUCER_SPOOL_BYTES.name,
            dimensions=((m.STREAM, names.stream),),
            statistic="Maximum",
            threshold=64 * MiB,
            treat_missing_data="notBreaching",
            missing_data_reason="producers publish only when asked to (metrics_interval_s): no producer, no spool",
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
            treat_missing_data="notBreaching",
            missing_data_reason="a producer publishes only while it runs: no producer, no loss to report",
        ),
    ]


def _silence_alarms(names: PipelineNames) -> list[AlarmSpec]:
    """Silence as an alarm: no heartbeat from any processor, records arriving that nobody reads."""
    app = ((m.APPLICATION, names.application),)
    stream = (("StreamName", names.stream),)
    return [
        AlarmSpec(
            name=f"{names.application}-heartbeat",
            reason="no record processor sent its once-a-minute heartbeat for 3 min: every worker is down or cut off",
            namespace=m.NAMESPACE,
            metric=m.WORKER_HEARTBEAT.name,
            dimensions=app,
            statistic="Sum",
            threshold=1,
            comparison="<",
            evaluation_periods=3,
            datapoints=3,
            treat_missing_data="breaching",
            missing_data_reason="silence is the signal: a dead worker sends nothing, so no datapoint must page",
        ),
        AlarmSpec(
            name=f"{names.application}-records-unread",
            reason="records arrive in the stream but GetRecords returned none for 3 min: nobody reads the stream",
            expression=f"IF(FILL({_READ}, 0) == 0, {_INCOMING}, 0)",
            inputs=(
                MathInput(
                    id=_INCOMING, namespace=KINESIS, metric="IncomingRecords", dimensions=stream, statistic="Sum"
                ),
                MathInput(id=_READ, namespace=KINESIS, metric="GetRecords.Records", dimensions=stream, statistic="Sum"),
            ),
            threshold=0,
            evaluation_periods=3,
            datapoints=3,
            treat_missing_data="notBreaching",
            missing_data_reason="no IncomingRecords datapoint: nothing arrived to read; no reads at all is FILLed as 0",
        ),
    ]


#: (namespace, metric name, dimension names) AWS publishes that the alarms may watch
AWS_PUBLISHED: frozenset[tuple[str, str, tuple[str, ...]]] = frozenset(
    {
        (KINESIS, "GetRecords.IteratorAgeMilliseconds", ("StreamName",)),
        (KINESIS, "WriteProvisionedThroughputExceeded", ("StreamName",)),
        (KINESIS, "IncomingRecords", ("StreamName",)),
        (KINESIS, "GetRecords.Records", ("StreamName",)),
        (DYNAMODB, "WriteThrottleEvents", ("TableName",)),
        (DYNAMODB, "ThrottledRequests", ("TableName", "Operation")),
    }
)


def watched(spec: AlarmSpec) -> tuple[str, str, tuple[str, ...]]:
    """(namespace, metric, dimension names) of what ``spec`` watches."""
    return spec.namespace, spec.metric, tuple(name for name, _ in spec.dimensions)


def watched_all(spec: AlarmSpec) -> list[tuple[str, str, tuple[str, ...]]]:
    """(namespace, metric, dimension names) of every metric ``spec`` reads (its inputs for metric math)."""
    if not spec.expression:
        return [watched(spec)]
    return [(i.namespace, i.metric, tuple(name for name, _ in i.dimensions)) for i in spec.inputs]


def is_published(spec: AlarmSpec) -> bool:
    """Whether somebody publishes every metric ``spec`` watches (nicelist or AWS)."""
    for namespace, metric, dimension_names in watched_all(spec):
        if namespace == m.NAMESPACE:
            if (metric, dimension_names) not in m.PUBLISHED:
                return False
        elif (namespace, metric, dimension_names) not in AWS_PUBLISHED:
            return False
    return True
