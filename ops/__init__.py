"""Operating nicelist: the demo, the load generator, reconciliation and the Athena DDL.

Pure logic (reconciliation, load shapes, DDL text) lives apart from the modules that call AWS.
"""

import logging

from ._errors import CaughtUpTimeout, ConfigError, DemoError, OpsError, SourceError
from ._reconcile import DuplicateFinder, EventState, Reconciler, ReconcileReport
from ._reconcile_aws import describe as describe_report
from ._reconcile_aws import reconcile

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "CaughtUpTimeout",
    "ConfigError",
    "DemoError",
    "DuplicateFinder",
    "EventState",
    "OpsError",
    "ReconcileReport",
    "Reconciler",
    "SourceError",
    "describe_report",
    "reconcile",
]
