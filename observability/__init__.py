"""Metrics nicelist publishes to CloudWatch (namespace ``nicelist``): their names
(:mod:`observability.metrics`), a period's accumulator and the publisher both the record
processor and the producer use. Ground floor: imports only :mod:`foundation`.
"""

import logging

from . import metrics
from ._accumulator import Accumulator, Period, bucket, percentile
from ._publisher import MetricsPublisher
from ._reader import Query, dims, read_metrics

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "Accumulator",
    "MetricsPublisher",
    "Period",
    "Query",
    "bucket",
    "dims",
    "metrics",
    "percentile",
    "read_metrics",
]
