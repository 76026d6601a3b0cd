"""Load generation on the producer SDK: elf fleets with a December spike and hot kids.

- ``_plan`` (pure): population, spike shape, the plan of who reports what and when
- ``_run``: elf threads pacing their puts; ``_fleet``: one producer per elf; ``_produce``: a whole run
"""

import logging

from ._fleet import ElfFleet, FleetConfig
from ._plan import LoadPlan, Population, SpikeShape
from ._produce import ProduceResult, produce
from ._run import LoadTally, run_load

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ElfFleet",
    "FleetConfig",
    "LoadPlan",
    "LoadTally",
    "Population",
    "ProduceResult",
    "SpikeShape",
    "produce",
    "run_load",
]
