"""The S3 archive held against the DynamoDB table: missing, stale and orphaned items, and Kinesis
records archived twice.

- ``_model`` (pure): the reconciler and the duplicate finder
- ``_sources``: streaming reads of the archive and the table; ``_aws``: one run, and its report
"""

import logging

from ._aws import ArchiveReader, reconcile
from ._aws import describe as describe_report
from ._errors import SourceError
from ._model import DuplicateFinder, EventState, Reconciler, ReconcileReport
from ._sources import DEFAULT_WINDOW, RawArchive

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ArchiveReader",
    "DEFAULT_WINDOW",
    "RawArchive",
    "DuplicateFinder",
    "EventState",
    "ReconcileReport",
    "Reconciler",
    "SourceError",
    "describe_report",
    "reconcile",
]
