"""Resharding the nicelist stream: status, capacity planning, scale, split, merge, rebalance.

Pure planning (:mod:`._model`, :mod:`._plan`, :mod:`._steps`) is apart from the code that calls
Kinesis (:mod:`._executor`, :mod:`._metrics`); :mod:`._api` has one-call functions for scripts::

    from admin.reshard import scale
    scale(kinesis_client, "nicelist", 8, progress=print)
"""

import logging

from admin.reshard._api import merge, read_status, rebalance, scale, split
from admin.reshard._cost import CostInputs, ScenarioCost
from admin.reshard._errors import (
    ClosedShardError,
    InvalidHashKeyError,
    InvalidTargetError,
    LimitExceededError,
    NotAdjacentError,
    NotProvisionedError,
    ReshardError,
    ReshardTimeoutError,
    StreamNotActiveError,
    StreamNotFoundError,
    TopologyError,
    UnknownShardError,
)
from admin.reshard._executor import (
    AccountLimits,
    ReshardConfig,
    Resharder,
    ReshardPlan,
    ReshardResult,
    StreamSummary,
)
from admin.reshard._model import HASH_SPACE, Shard, Topology
from admin.reshard._plan import (
    DEFAULT_CONSUMER_EVENTS_PER_SHARD_S,
    DEFAULT_CONSUMER_SOURCE,
    DEFAULT_WRITE_STATEMENTS_PER_KID,
    CapacityInputs,
    CapacityPlan,
    ConsumerNeed,
    consumer_capacity_from_bench,
    plan_capacity,
)
from admin.reshard._prices import PRICE_REGION, Prices
from admin.reshard._status import StatusReport
from admin.reshard._steps import (
    MergeShards,
    RebalanceGoal,
    ScaleGoal,
    SplitShard,
    Step,
    UpdateShardCount,
    even_starts,
    plan_steps,
    update_shard_count_targets,
)

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "DEFAULT_CONSUMER_EVENTS_PER_SHARD_S",
    "DEFAULT_CONSUMER_SOURCE",
    "DEFAULT_WRITE_STATEMENTS_PER_KID",
    "HASH_SPACE",
    "PRICE_REGION",
    "AccountLimits",
    "CapacityInputs",
    "CapacityPlan",
    "ClosedShardError",
    "ConsumerNeed",
    "CostInputs",
    "InvalidHashKeyError",
    "InvalidTargetError",
    "LimitExceededError",
    "MergeShards",
    "NotAdjacentError",
    "NotProvisionedError",
    "Prices",
    "RebalanceGoal",
    "ReshardConfig",
    "ReshardError",
    "ReshardPlan",
    "ReshardResult",
    "ReshardTimeoutError",
    "Resharder",
    "ScenarioCost",
    "ScaleGoal",
    "Shard",
    "SplitShard",
    "StatusReport",
    "Step",
    "StreamNotActiveError",
    "StreamNotFoundError",
    "StreamSummary",
    "Topology",
    "TopologyError",
    "UnknownShardError",
    "UpdateShardCount",
    "consumer_capacity_from_bench",
    "even_starts",
    "merge",
    "plan_capacity",
    "plan_steps",
    "read_status",
    "rebalance",
    "scale",
    "split",
    "update_shard_count_targets",
]
