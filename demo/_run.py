"""``run_demo()``: the whole pipeline on one machine, and the proof that nothing was lost.

Phases (:mod:`demo._phases`): start the embedded local AWS (unless an endpoint is configured)
and provision the stream, table and bucket; start the KCL workers and wait until they hold every
lease; run the elf apps (with the December-23rd spike) and reshard mid-run; wait until the
archive holds every delivered event; reconcile the archive with the table; and report what the
workers published and what the archive answers. Everything started is stopped on the way out,
also on Ctrl-C (by PID: the stack and each worker's process group).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from foundation.progress import Progress

from ._model import DemoConfig, DemoProbe, DemoSummary
from ._phases import DemoRun

log = logging.getLogger(__name__)


def run_demo(
    config: DemoConfig,
    *,
    progress: Progress | None = None,
    say: Callable[[str], None] = lambda line: log.info("%s", line),
    stack: Any = None,
    on_tick: Callable[[DemoProbe], None] | None = None,
) -> DemoSummary:
    """Run the demo; the summary's ``ok`` says whether nothing was lost. ``stack``: a running
    :class:`localaws.LocalAWS` to use (and leave running) instead of starting one; ``on_tick``:
    called on every progress poll while producing and catching up."""
    run = DemoRun(config, progress=progress, say=say, on_tick=on_tick)
    with run.session(stack):
        run.start_workers()
        run.start_load()
        run.produce()
        run.catch_up()
        run.verify()
        run.report()
    return run.summary
