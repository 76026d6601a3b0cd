"""Operating nicelist: the demo, the load generator, reconciliation, the Athena DDL and the IAM
policies.

Pure logic (reconciliation, load shapes, DDL text) lives apart from the modules that call AWS:

- ``_reconcile`` (pure) and ``_reconcile_aws``/``_sources`` (S3 and DynamoDB reading)
- ``_loadgen`` (pure: population, spike shape, plan), ``_loadrun`` (elf threads), ``_fleet``
  (one producer per elf), ``_produce``
- ``_demo`` (orchestration), ``_watch`` (archive progress), ``_summary``, ``_progress``
- ``_athena`` (pure DDL text), ``_iam`` (the shipped policy documents)
"""

import logging

from ._athena import AthenaNames, Statement
from ._athena import render as render_athena
from ._athena import statements as athena_statements
from ._demo import DemoConfig, DemoSummary, run_demo
from ._errors import CaughtUpTimeout, ConfigError, DemoError, OpsError, SourceError
from ._fleet import ElfFleet, FleetConfig
from ._iam import ROLES, load_policy, policy_for
from ._loadgen import LoadPlan, Population, SpikeShape
from ._loadrun import LoadTally, run_load
from ._produce import ProduceResult, produce
from ._progress import Progress
from ._reconcile import DuplicateFinder, EventState, Reconciler, ReconcileReport
from ._reconcile_aws import describe as describe_report
from ._reconcile_aws import reconcile
from ._summary import describe_demo
from ._watch import ArchiveWatcher

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ROLES",
    "ArchiveWatcher",
    "AthenaNames",
    "CaughtUpTimeout",
    "ConfigError",
    "DemoConfig",
    "DemoError",
    "DemoSummary",
    "DuplicateFinder",
    "ElfFleet",
    "EventState",
    "FleetConfig",
    "LoadPlan",
    "LoadTally",
    "OpsError",
    "Population",
    "ProduceResult",
    "Progress",
    "ReconcileReport",
    "Reconciler",
    "SourceError",
    "SpikeShape",
    "Statement",
    "athena_statements",
    "describe_demo",
    "describe_report",
    "load_policy",
    "policy_for",
    "produce",
    "reconcile",
    "render_athena",
    "run_demo",
    "run_load",
]
