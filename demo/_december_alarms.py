"""The rehearsal's alarms: every alarm of ``nicelist alarms`` on the embedded stack, with its period
scaled to the rehearsal's metric period (a "scaled minute"; lag thresholds with it), notifying the
alarm topic, to which a local SQS queue (the pager) is subscribed. The stack evaluates them
(localaws._alarm_runner); at the end the pager's messages are counted and each alarm's
transitions listed with their times.

:class:`RehearsalAlarms` talks to AWS; :func:`alarm_lines` and :func:`alarm_markers` are pure.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from admin.alarms import AlarmSpec, alarm_specs, ensure_topic, topic_name
from foundation.polling import poll
from foundation.settings import PipelineNames
from observability import metrics as m

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class AlarmRecord:
    """What the rehearsal's alarms did: state changes (the stack's) and the pager's messages."""

    period_s: int = 0
    #: the alarms' names start with it (left out in the lines)
    application: str = ""
    #: {"alarm", "old", "new", "at" (epoch s), "reason", "delivered"}, oldest first
    transitions: list[dict[str, Any]] = field(default_factory=list)
    #: the CloudWatch messages the pager received (AlarmName, NewStateValue, StateChangeTime, ...)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    #: epoch seconds when every worker had stopped (the end of the run), if the silence was awaited
    workers_stopped_at: float | None = None

    def count(self, state: str) -> int:
        return sum(1 for n in self.notifications if n.get("NewStateValue") == state)


class RehearsalAlarms:
    """Applies the scaled alarms once a worker's heartbeat is seen; collects what reached the pager."""

    def __init__(self, stack: Any, names: PipelineNames, period_s: int) -> None:
        self._stack = stack
        self._names = names
        self.record = AlarmRecord(period_s=period_s, application=names.application)
        self._queue_url: str | None = None

    def apply(self, timeout_s: float = 60.0) -> None:
        """The pager queue, the topic, and the alarms (after the first heartbeat, so the heartbeat
        alarm does not start in ALARM merely because the processors have not published yet)."""
        cloudwatch, sns, sqs = (self._stack.client(s) for s in ("cloudwatch", "sns", "sqs"))
        self._queue_url = sqs.create_queue(QueueName=f"{self._names.application}-pager")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])
        topic = ensure_topic(sns, topic_name(self._names))
        sns.subscribe(TopicArn=topic.arn, Protocol="sqs", Endpoint=attributes["Attributes"]["QueueArn"])
        _, seen = poll(lambda: self._heartbeats(cloudwatch), bool, timeout_s=timeout_s, poll_s=1.0)
        if seen:  # alarms judge whole periods: wait until the period holding that heartbeat has ended
            period = self.record.period_s
            ended = (math.floor(time.time() / period) + 1) * period + 0.5
            poll(time.time, lambda now: now >= ended, timeout_s=period + 1.0, poll_s=0.2)
        for spec in alarm_specs(self._names):
            cloudwatch.put_metric_alarm(**scaled_args(spec, topic.arn, self.record.period_s))

    def _heartbeats(self, cloudwatch: Any) -> bool:
        metrics = cloudwatch.list_metrics(
            Namespace=m.NAMESPACE,
            MetricName=m.WORKER_HEARTBEAT.name,
            Dimensions=[{"Name": m.APPLICATION, "Value": self._names.application}],
        )
        return bool(metrics.get("Metrics"))

    def await_silence(self, stopped_at: float, timeout_s: float) -> bool:
        """Every worker has stopped (at ``stopped_at``): wait until the heartbeat alarm says so."""
        heartbeat = next(s.name for s in alarm_specs(self._names) if s.treat_missing_data == "breaching")
        self.record.workers_stopped_at = stopped_at

        def raised() -> bool:
            return any(
                t["alarm"] == heartbeat and t["new"] == "ALARM" and t["at"] >= stopped_at
                for t in self._stack.alarm_transitions()
            )

        _, done = poll(raised, bool, timeout_s=timeout_s, poll_s=1.0)
        return done

    def collect(self) -> AlarmRecord:
        """Drain the pager and read the stack's transitions of these alarms."""
        names = {spec.name for spec in alarm_specs(self._names)}
        self.record.transitions = [t for t in self._stack.alarm_transitions() if t["alarm"] in names]
        if self._queue_url is None:
            return self.record
        sqs = self._stack.client("sqs")
        while True:
            batch = sqs.receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return self.record
            for message in batch:
                self.record.notifications.append(json.loads(json.loads(message["Body"])["Message"]))
                sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])


#: metrics whose values are durations: their thresholds scale with the minute
_DURATIONS = frozenset({"GetRecords.IteratorAgeMilliseconds", m.MILLIS_BEHIND_LATEST.name})


def scaled_args(spec: AlarmSpec, topic_arn: str | None, period_s: int) -> dict[str, Any]:
    """``spec``'s PutMetricAlarm request in scaled time: its period, and a duration threshold
    ("10 min behind"), shrunk by the same factor as the minute (60 s -> ``period_s``)."""
    args = spec.put_metric_alarm_args(topic_arn, period_s=period_s)
    if spec.metric in _DURATIONS:
        args["Threshold"] = float(spec.threshold) * period_s / spec.period_s
    return args


def _short(alarm: str, application: str) -> str:
    return alarm.removeprefix(application + "-")


def alarm_lines(record: AlarmRecord | None, wall_started: float | None) -> list[str]:
    """``alarm notifications delivered: N`` and each alarm's trips to ALARM and back, with times."""
    if record is None:
        return []
    t0 = wall_started or 0.0
    lines = [
        f"alarm notifications delivered: {len(record.notifications)} ({record.count('ALARM')} ALARM, "
        f"{record.count('OK')} OK) to the local SQS pager; alarm periods scaled to {record.period_s} s"
    ]
    trips = [t for t in record.transitions if "ALARM" in (t["old"], t["new"])]
    for t in trips:
        clock = (datetime.fromtimestamp(t["at"], UTC)).strftime("%H:%M:%S")
        lines.append(
            f"  {clock} (t={t['at'] - t0:.0f} s) {_short(t['alarm'], record.application)}: {t['old']} -> {t['new']}"
            f" [{t['delivered']} notified] {t['reason']}"
        )
    if not trips:
        lines.append("  no alarm went to ALARM")
    stopped = record.workers_stopped_at
    if stopped is not None:
        raised = [t for t in trips if t["new"] == "ALARM" and t["at"] >= stopped and "heartbeat" in t["alarm"]]
        lines.append(
            f"silence: every worker stopped at t={stopped - t0:.0f} s; "
            + (
                f"heartbeat alarm raised {raised[0]['at'] - stopped:.0f} s later, pager notified"
                if raised
                else "the heartbeat alarm did NOT go to ALARM in time"
            )
        )
    return lines


def alarm_markers(record: AlarmRecord | None, wall_started: float | None) -> list[tuple[float, str]]:
    """Chart markers (seconds since the load started, label) for each change to or from ALARM."""
    if record is None or wall_started is None:
        return []
    return [
        (max(0.0, t["at"] - wall_started), f"{t['new']}: {_short(t['alarm'], record.application)}")
        for t in record.transitions
        if "ALARM" in (t["old"], t["new"])
    ]
