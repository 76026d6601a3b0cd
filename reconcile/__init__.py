"""The S3 archive held against the DynamoDB table: missing, stale and orphaned items, and Kinesis
records archived twice.

- ``_model`` (pure): the reconciler and the duplicate finder
- ``_sources``: streaming reads of the archive and the table; ``_aws``: one run, and its report
"""

import logging

from ._aws import describe as describe_report
from ._aws import reconcile
from ._errors import SourceError
from ._model import DuplicateFinder, EventState, Reconciler, ReconcileReport

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "DuplicateFinder",
    "EventState",
    "ReconcileReport",
    "Reconciler",
    "SourceError",
    "describe_report",
    "reconcile",
]
