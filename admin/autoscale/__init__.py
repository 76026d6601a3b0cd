"""Autoscaling the nicelist stream: a pure policy, its CloudWatch inputs, and a controller that
acts through the reshard executor.

- :mod:`._policy`: :func:`decide` (inputs -> one :class:`Decision` with its reason), the rules
- :mod:`._model`: what the policy reads and answers; :mod:`._shards`: hot shards, cold pairs
- :mod:`._signals`: the stream's AWS/Kinesis metrics per period
- :mod:`._lock`: one autoscaler per stream (a DynamoDB lease item)
- :mod:`._state`: UpdateShardCount calls of the last 24 h, last change, change in flight
- :mod:`._controller`: :class:`Autoscaler` (``step()`` once, ``run()`` until stopped)
"""

import logging

from admin.autoscale._controller import METRICS_NAMESPACE, AutoscaleConfig, Autoscaler, DecisionRecord
from admin.autoscale._lock import LOCK_KEY, LockLostError, StreamLock, lock_table_name
from admin.autoscale._model import (
    Decision,
    Floor,
    Observation,
    PeriodLoad,
    QuotaState,
    ShardLimits,
    ShardRate,
)
from admin.autoscale._policy import PolicyConfig, decide, max_up_target, min_down_target, quota_violations
from admin.autoscale._signals import read_loads
from admin.autoscale._state import AutoscaleState, InFlight, StateStore

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "LOCK_KEY",
    "METRICS_NAMESPACE",
    "AutoscaleConfig",
    "AutoscaleState",
    "Autoscaler",
    "Decision",
    "DecisionRecord",
    "Floor",
    "InFlight",
    "LockLostError",
    "Observation",
    "PeriodLoad",
    "PolicyConfig",
    "QuotaState",
    "ShardLimits",
    "ShardRate",
    "StateStore",
    "StreamLock",
    "decide",
    "lock_table_name",
    "max_up_target",
    "min_down_target",
    "quota_violations",
    "read_loads",
]
