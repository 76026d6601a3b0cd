"""Creating the alarms and their SNS topic, idempotently: read what exists, write only what differs.

``apply_alarms`` compares each :class:`AlarmSpec`'s ``PutMetricAlarm`` request with what
``DescribeAlarms`` returns and calls ``PutMetricAlarm`` only for alarms that are missing or
differ, so a second run changes nothing. Alarms it did not define are left alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._specs import AlarmSpec

log = logging.getLogger(__name__)

#: DescribeAlarms accepts at most 100 alarm names per call (API reference)
_NAMES_PER_DESCRIBE = 100


@dataclass(frozen=True)
class AlarmChange:
    """What applying one alarm does: ``create``, ``update`` (with the fields that differ) or ``unchanged``."""

    name: str
    action: str
    differences: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.action == "update":
            return f"update {self.name} ({', '.join(self.differences)})"
        return f"{self.action} {self.name}"


def describe_alarms(cloudwatch: Any, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The metric alarms among ``names`` that exist, by name."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(names), _NAMES_PER_DESCRIBE):
        kwargs: dict[str, Any] = {"AlarmNames": list(names[start : start + _NAMES_PER_DESCRIBE])}
        while True:
            response = cloudwatch.describe_alarms(**kwargs)
            for alarm in response.get("MetricAlarms", ()):
                found[alarm["AlarmName"]] = alarm
            token = response.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    return found


def _normal(key: str, value: Any, current: Mapping[str, Any]) -> Any:
    if key in ("AlarmActions", "OKActions"):
        return sorted(value or [])
    if key == "Dimensions":
        return sorted((d["Name"], d["Value"]) for d in value or [])
    if key == "Metrics":  # metric math: the queries by id, each with its dimensions in order
        return sorted(json.dumps(_metric_query(q), sort_keys=True) for q in value or [])
    if key == "Threshold":
        return float(value) if value is not None else None
    if key == "DatapointsToAlarm" and value is None:
        return current.get("EvaluationPeriods")  # CloudWatch omits it when it equals EvaluationPeriods
    if key == "TreatMissingData" and value is None:
        return "missing"
    return value


def _metric_query(query: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in query.items() if v is not None}
    stat = out.get("MetricStat")
    if stat:
        metric = dict(stat["Metric"])
        metric["Dimensions"] = sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions") or [])
        out["MetricStat"] = {**stat, "Metric": metric}
    out.setdefault("ReturnData", True)  # CloudWatch's default
    return out


def differences(wanted: Mapping[str, Any], current: Mapping[str, Any]) -> tuple[str, ...]:
    """The request fields whose value the existing alarm does not have."""
    return tuple(
        key for key, value in wanted.items() if _normal(key, value, wanted) != _normal(key, current.get(key), current)
    )


def plan_alarms(cloudwatch: Any, specs: Sequence[AlarmSpec], topic_arn: str | None) -> list[AlarmChange]:
    existing = describe_alarms(cloudwatch, [s.name for s in specs])
    changes = []
    for spec in specs:
        current = existing.get(spec.name)
        if current is None:
            changes.append(AlarmChange(spec.name, "create"))
            continue
        diff = differences(spec.put_metric_alarm_args(topic_arn), current)
        changes.append(AlarmChange(spec.name, "update", diff) if diff else AlarmChange(spec.name, "unchanged"))
    return changes


def apply_alarms(
    cloudwatch: Any, specs: Sequence[AlarmSpec], topic_arn: str | None, *, dry_run: bool = False
) -> list[AlarmChange]:
    """Create or update the alarms that are missing or differ; return what was (or would be) done."""
    changes = plan_alarms(cloudwatch, specs, topic_arn)
    by_name = {s.name: s for s in specs}
    for change in changes:
        if change.action != "unchanged" and not dry_run:
            cloudwatch.put_metric_alarm(**by_name[change.name].put_metric_alarm_args(topic_arn))
            log.info("%s", change.describe())
    return changes


def alarm_states(cloudwatch: Any, names: Sequence[str]) -> dict[str, str]:
    """``OK``, ``ALARM`` or ``INSUFFICIENT_DATA`` of each alarm that exists."""
    return {name: str(alarm.get("StateValue", "?")) for name, alarm in describe_alarms(cloudwatch, names).items()}


@dataclass
class TopicReport:
    arn: str
    actions: list[str] = field(default_factory=list)


def ensure_topic(
    sns: Any, name: str, *, emails: Iterable[str] = (), https: Iterable[str] = (), dry_run: bool = False
) -> TopicReport:
    """The topic ``name`` (CreateTopic is idempotent) with an email or HTTPS subscription for each
    address not yet subscribed. Email and HTTPS subscriptions stay pending until confirmed."""
    if dry_run:
        return TopicReport(arn="", actions=[f"(dry run) topic {name}"])
    arn = str(sns.create_topic(Name=name)["TopicArn"])
    report = TopicReport(arn=arn)
    existing: set[tuple[str, str]] = set()
    kwargs: dict[str, Any] = {"TopicArn": arn}
    while True:
        response = sns.list_subscriptions_by_topic(**kwargs)
        existing |= {(s["Protocol"], s["Endpoint"]) for s in response.get("Subscriptions", ())}
        token = response.get("NextToken")
        if not token:
            break
        kwargs["NextToken"] = token
    wanted = [("email", e) for e in emails] + [("https", u) for u in https]
    for protocol, endpoint in wanted:
        if (protocol, endpoint) in existing:
            continue
        if protocol == "https" and not endpoint.startswith("https://"):
            raise ValueError(f"an HTTPS subscription needs an https:// URL, not {endpoint!r}")
        sns.subscribe(TopicArn=arn, Protocol=protocol, Endpoint=endpoint)
        report.actions.append(f"subscribed {protocol} {endpoint} to {name} (pending until confirmed)")
    return report
