"""The demo: the whole pipeline on one machine through a December-23rd spike.

- ``_run``: orchestration (stack, provision, workers, elf fleet, reshard, reconcile)
- ``_watch``: archive progress; ``_summary``: the closing report
"""

import logging

from ._errors import CaughtUpTimeout, DemoError
from ._run import DEMO_WORKER_PROPERTIES, DemoConfig, DemoSummary, run_demo
from ._summary import describe_demo
from ._watch import ArchiveWatcher

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "DEMO_WORKER_PROPERTIES",
    "ArchiveWatcher",
    "CaughtUpTimeout",
    "DemoConfig",
    "DemoError",
    "DemoSummary",
    "describe_demo",
    "run_demo",
]
