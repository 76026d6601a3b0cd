"""The demo: the whole pipeline on one machine through a December-23rd spike.

- ``_run``: ``run_demo``, the phases in order; ``_phases``: the phases on one run object (stack,
  provision, workers, elf fleet, reshard, catch-up, reconcile, report)
- ``_model``: its settings and summary; ``_workers``: the KCL workers; ``_reshard``: the mid-run reshard
- ``_watch``: archive progress; ``_summary``: the closing report
- ``_december``: the December rehearsal (limits mode, spike, autoscaler); ``_report``: its HTML
"""

import logging

from ._december import run_december
from ._december_model import DecemberConfig, DecemberSummary, describe_december, with_demo
from ._errors import CaughtUpTimeout, DemoError
from ._model import DEMO_WORKER_PROPERTIES, DemoConfig, DemoProbe, DemoSummary
from ._run import run_demo
from ._summary import describe_demo
from ._watch import ArchiveWatcher

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "DEMO_WORKER_PROPERTIES",
    "ArchiveWatcher",
    "CaughtUpTimeout",
    "DecemberConfig",
    "DecemberSummary",
    "DemoConfig",
    "DemoProbe",
    "DemoError",
    "DemoSummary",
    "describe_december",
    "describe_demo",
    "run_december",
    "run_demo",
    "with_demo",
]
