"""Alarms as code: what each alarm watches and why (:func:`alarm_specs`), and applying them
idempotently with their SNS topic (:func:`apply_alarms`, :func:`ensure_topic`)."""

from ._apply import AlarmChange, TopicReport, alarm_states, apply_alarms, describe_alarms, ensure_topic, plan_alarms
from ._specs import AWS_PUBLISHED, AlarmSpec, MathInput, alarm_specs, is_published, topic_name, watched, watched_all

__all__ = [
    "AWS_PUBLISHED",
    "AlarmChange",
    "AlarmSpec",
    "MathInput",
    "TopicReport",
    "alarm_specs",
    "alarm_states",
    "apply_alarms",
    "describe_alarms",
    "ensure_topic",
    "is_published",
    "plan_alarms",
    "topic_name",
    "watched",
    "watched_all",
]
