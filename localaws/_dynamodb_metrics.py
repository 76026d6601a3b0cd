"""The AWS/DynamoDB CloudWatch metrics the embedded stack publishes in limits mode (pure).

DynamoDB publishes, per table (dimension ``TableName``), ``ConsumedWriteCapacityUnits`` (Sum
over the period: divide by the period's seconds for units per second), ``WriteThrottleEvents``
(requests, or items of a batch, that exceeded the table's capacity: Sum) and, for provisioned
tables, ``ProvisionedWriteCapacityUnits``
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html).
The stack publishes them with the Kinesis metrics, on the same periods and timestamps
(``_kinesis_metrics``), for every table written in the period. ``ProvisionedWriteCapacityUnits``
is the capacity the limiter applied (an on-demand table's too, which DynamoDB does not publish:
the demo plots consumed against it).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from ._dynamodb_limits import TableCounters, TableKey

NAMESPACE = "AWS/DynamoDB"


def build_table_metric_data(
    period: dict[TableKey, TableCounters], timestamp: datetime
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """PutMetricData entries per (account, region) for one period's table counters."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for (account, region, table), counters in sorted(period.items()):
        dimensions = [{"Name": "TableName", "Value": table}]
        values = (
            ("ConsumedWriteCapacityUnits", counters.values["ConsumedWriteCapacityUnits"]),
            ("WriteThrottleEvents", counters.values["WriteThrottleEvents"]),
            ("ProvisionedWriteCapacityUnits", counters.capacity_units_per_s),
        )
        for name, value in values:
            datum = {"MetricName": name, "Value": float(value), "Unit": "Count", "Dimensions": dimensions}
            out[(account, region)].append({**datum, "Timestamp": timestamp})
    return dict(out)
