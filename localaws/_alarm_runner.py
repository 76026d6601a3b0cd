"""The embedded stack evaluates its CloudWatch alarms and notifies their SNS topics (moto 5.2.x
stores alarms but never evaluates them).

Every ``interval_s`` (real seconds) :class:`AlarmRunner` takes the one moto lock, reads every
metric alarm and the datapoints it watches from moto's CloudWatch backend, decides the state with
:func:`localaws._alarm_rules.evaluate` (metric math through :mod:`localaws._alarm_math`), sets it
with moto's own ``update_state`` (so DescribeAlarms and the history show it) and, on a change,
publishes the alarm's message to each SNS topic among the actions of the new state (AlarmActions
for ALARM, OKActions for OK, InsufficientDataActions; only with ActionsEnabled), as CloudWatch
does (Using Amazon CloudWatch alarms, "Alarm actions",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html).

Delivery stays on this machine: SQS subscriptions get the message through moto's SQS backend
(the SNS envelope, as moto's own Publish builds it); ``http``/``https`` subscriptions whose host
is a loopback address are POSTed the envelope after the lock is released; any other endpoint
(e-mail, a remote URL) is skipped and logged, never contacted.

moto fixes pinned here (moto 5.2.5): a new alarm starts in OK ("Unchecked: Initial alarm
creation") where CloudWatch starts it in INSUFFICIENT_DATA, and PutMetricAlarm on an existing
alarm resets its state where CloudWatch leaves it unchanged (PutMetricAlarm API reference);
the runner restores both.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from ._alarm_math import MathError, evaluate_expression
from ._alarm_rules import EXTRA_PERIODS, INSUFFICIENT_DATA, Rule, Sample, evaluate, period_statistic, treatment_for

logger = logging.getLogger(__name__)

_UNCHECKED = "Unchecked: Initial alarm creation"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: (namespace, metric name, sorted dimensions)
MetricKey = tuple[str, str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Transition:
    """One state change the runner made, and how many subscribers it reached."""

    alarm: str
    old: str
    new: str
    #: epoch seconds
    at: float
    reason: str
    delivered: int
    account: str = ""
    region: str = ""


def _epoch(timestamp: Any) -> float:
    if isinstance(timestamp, datetime):
        return (timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)).timestamp()
    if isinstance(timestamp, int | float):
        return float(timestamp)
    return datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")).timestamp()


def _sample(datum: Any) -> Sample:
    if hasattr(datum, "value"):
        value = float(datum.value)
        return (value, 1.0, value, value)
    return (float(datum.sum), float(datum.sample_count), float(datum.min), float(datum.max))


def _dims(dimensions: Iterable[Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(d.name), str(d.value)) for d in dimensions))


@dataclass(frozen=True)
class _Input:
    """One metric an alarm reads: as a plain alarm, or one MetricStat of a metric math alarm."""

    key: MetricKey
    statistic: str
    period_s: int


def _inputs(alarm: Any) -> tuple[dict[str, _Input], str | None]:
    """The alarm's metrics by query id (``m`` for a plain alarm) and its expression, if any."""
    if not alarm.metric_data_queries:
        key = (alarm.namespace, alarm.metric_name, _dims(alarm.dimensions))
        return {"m": _Input(key, str(alarm.statistic), int(alarm.period))}, None
    inputs, expression = {}, None
    for query in alarm.metric_data_queries:
        stat = query.metric_stat
        if stat is not None:
            metric = stat.metric
            inputs[query.id] = _Input(
                (metric.namespace, metric.metric_name, _dims(metric.dimensions)), str(stat.stat), int(stat.period)
            )
        elif query.expression and str(query.return_data).lower() != "false":
            expression = str(query.expression)
    return inputs, expression


class AlarmRunner:
    """Evaluates every metric alarm of every account and region once per ``interval_s``."""

    def __init__(
        self,
        lock: threading.Lock,
        *,
        interval_s: float,
        wall_clock: Callable[[], float] = time.time,
        post: Callable[[str, bytes], None] | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.interval_s = interval_s
        self._lock = lock
        self._wall_clock = wall_clock
        self._post = post or _post
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alarm-evaluator", daemon=True)
        #: (account, region, alarm) -> the state this runner last set
        self._known: dict[tuple[str, str, str], str] = {}
        self.transitions: list[Transition] = []
        self._history_lock = threading.Lock()
        self._skipped: set[str] = set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.evaluate_once()
            except Exception:  # keep evaluating: one bad alarm must not end the evaluator
                logger.exception("evaluating the alarms failed")

    def history(self) -> list[dict[str, Any]]:
        with self._history_lock:
            return [asdict(t) for t in self.transitions]

    def evaluate_once(self) -> list[Transition]:
        """One round over every alarm; returns the transitions it made."""
        from moto.cloudwatch.models import cloudwatch_backends

        now = self._wall_clock()
        made: list[Transition] = []
        posts: list[tuple[str, bytes]] = []
        with self._lock:
            for account, regions in list(cloudwatch_backends.items()):
                for region, backend in list(regions.items()):
                    alarms = [a for a in backend.alarms.values() if not getattr(a, "rule", None)]
                    if not alarms:
                        continue
                    data = _index(backend.metric_data, alarms)
                    for alarm in alarms:
                        transition = self._evaluate_alarm(alarm, data, now, account, region, posts)
                        if transition is not None:
                            made.append(transition)
        for url, body in posts:
            try:
                self._post(url, body)
            except OSError as exc:
                logger.warning("alarm notification to %s failed: %s", url, exc)
        with self._history_lock:
            self.transitions.extend(made)
        return made

    def _evaluate_alarm(
        self,
        alarm: Any,
        data: dict[MetricKey, list[tuple[float, Sample]]],
        now: float,
        account: str,
        region: str,
        posts: list[tuple[str, bytes]],
    ) -> Transition | None:
        key = (account, region, alarm.name)
        if alarm.state_reason == _UNCHECKED:  # created or updated: CloudWatch's state, not moto's
            reason = "configuration updated; state kept" if key in self._known else "created; not yet evaluated"
            alarm.update_state(reason, "{}", self._known.get(key, INSUFFICIENT_DATA))
        try:
            datapoints, namespace = _datapoints(alarm, data, now)
            rule = Rule(
                comparison=str(alarm.comparison_operator),
                threshold=float(alarm.threshold),
                evaluation_periods=int(alarm.evaluation_periods),
                datapoints_to_alarm=int(alarm.datapoints_to_alarm or alarm.evaluation_periods),
                treat_missing_data=treatment_for(namespace, alarm.treat_missing_data),
            )
        except (MathError, ValueError, TypeError) as exc:
            if alarm.name not in self._skipped:
                logger.warning("alarm %s is not evaluated: %s", alarm.name, exc)
                self._skipped.add(alarm.name)
            return None
        old = str(alarm.state_value)
        verdict = evaluate(rule, datapoints, old)
        self._known[key] = verdict.state
        if verdict.state == old:
            return None
        reason_data = json.dumps({"version": "1.0", "recentDatapoints": [p for p in datapoints if p is not None]})
        alarm.update_state(verdict.reason, reason_data, verdict.state)
        delivered = 0
        if alarm.actions_enabled:
            actions = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions}.get(
                verdict.state, alarm.insufficient_data_actions
            )
            message = _message(alarm, old, verdict.state, verdict.reason, now, account, region)
            subject = f'{verdict.state}: "{alarm.name}" in {region}'
            for arn in actions or ():
                delivered += _publish(arn, message, subject, posts, self._skipped)
        logger.info("alarm %s: %s -> %s (%s); %s notified", alarm.name, old, verdict.state, verdict.reason, delivered)
        return Transition(alarm.name, old, verdict.state, now, verdict.reason, delivered, account, region)


def _index(metric_data: Iterable[Any], alarms: Iterable[Any]) -> dict[MetricKey, list[tuple[float, Sample]]]:
    """The stored datapoints of the metrics these alarms watch, by metric: (epoch, sample)."""
    wanted: set[tuple[str, str]] = set()
    for alarm in alarms:
        try:
            wanted |= {(i.key[0], i.key[1]) for i in _inputs(alarm)[0].values()}
        except (TypeError, ValueError, AttributeError):
            continue
    found: dict[MetricKey, list[tuple[float, Sample]]] = defaultdict(list)
    for datum in list(metric_data):
        if (datum.namespace, datum.name) in wanted:
            key = (datum.namespace, datum.name, _dims(datum.dimensions))
            found[key].append((_epoch(datum.timestamp), _sample(datum)))
    return found


def _datapoints(
    alarm: Any, data: dict[MetricKey, list[tuple[float, Sample]]], now: float
) -> tuple[list[float | None], str | None]:
    """The evaluation range (oldest first) and the namespace that decides the missing-data rule."""
    inputs, expression = _inputs(alarm)
    if not inputs:
        raise ValueError("no metric to read")
    periods = int(alarm.evaluation_periods) + EXTRA_PERIODS
    series: dict[str, list[float | None]] = {}
    for query_id, metric in inputs.items():
        period = metric.period_s
        end = math.floor(now / period) * period  # the last period that ended (aligned to the epoch)
        starts = [end - period * k for k in range(periods, 0, -1)]
        buckets: list[list[Sample]] = [[] for _ in starts]
        for at, sample in data.get(metric.key, ()):
            index = int((at - starts[0]) // period)
            if 0 <= index < periods:
                buckets[index].append(sample)
        series[query_id] = [period_statistic(metric.statistic, bucket) for bucket in buckets]
    namespaces = {metric.key[0] for metric in inputs.values()}
    namespace = namespaces.pop() if len(namespaces) == 1 else None
    if expression is None:
        return series["m"], namespace
    return evaluate_expression(expression, series, periods), namespace


def _message(alarm: Any, old: str, new: str, reason: str, now: float, account: str, region: str) -> str:
    """The JSON CloudWatch publishes to SNS on a state change (its main fields)."""
    return json.dumps(
        {
            "AlarmName": alarm.name,
            "AlarmDescription": alarm.description,
            "AWSAccountId": account,
            "NewStateValue": new,
            "NewStateReason": reason,
            "StateChangeTime": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
            "Region": region,
            "AlarmArn": alarm.alarm_arn,
            "OldStateValue": old,
            "Trigger": {
                "MetricName": alarm.metric_name,
                "Namespace": alarm.namespace,
                "Statistic": alarm.statistic,
                "Period": alarm.period,
                "EvaluationPeriods": alarm.evaluation_periods,
                "DatapointsToAlarm": alarm.datapoints_to_alarm,
                "ComparisonOperator": alarm.comparison_operator,
                "Threshold": alarm.threshold,
                "TreatMissingData": alarm.treat_missing_data,
            },
        }
    )


def _publish(arn: str, message: str, subject: str, posts: list[tuple[str, bytes]], skipped: set[str]) -> int:
    """Deliver to the topic's local subscribers (under the moto lock); how many were reached or queued."""
    from moto.sns.models import sns_backends

    parts = arn.split(":")
    if len(parts) < 6 or parts[2] != "sns":
        return 0
    backend = sns_backends[parts[4]][parts[3]]
    topic = backend.topics.get(arn)
    if topic is None:
        logger.warning("alarm action %s: no such topic", arn)
        return 0
    message_id = str(uuid.uuid4())
    delivered = 0
    for subscription in [s for s in backend.subscriptions.values() if s.topic.arn == arn]:
        if subscription.protocol == "sqs":
            subscription.publish(message, message_id, subject=subject)
            delivered += 1
        elif subscription.protocol in ("http", "https") and urlparse(subscription.endpoint).hostname in _LOOPBACK:
            envelope = subscription.get_post_data(message, message_id, subject)
            posts.append((subscription.endpoint, json.dumps(envelope).encode()))
            delivered += 1
        elif subscription.endpoint not in skipped:
            skipped.add(subscription.endpoint)
            logger.warning("the embedded stack does not deliver to %s %s", subscription.protocol, subscription.endpoint)
    topic.sent_notifications.append((message_id, message, subject, None, None))
    return delivered


def _post(url: str, body: bytes) -> None:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "text/plain; charset=UTF-8"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # loopback only (see _publish)
        response.read()
