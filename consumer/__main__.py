"""``python -m consumer``: the record processor the MultiLangDaemon starts, one per shard lease.

stdout is the daemon's protocol channel: it is handed to the KCL loop and ``sys.stdout`` is
pointed at stderr, so a stray print anywhere cannot corrupt the protocol. Logs go to stderr.
"""

from __future__ import annotations

import logging
import os
import sys


def main() -> None:
    protocol_out = sys.stdout
    sys.stdout = sys.stderr
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get("NICELIST_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s",
    )
    logging.getLogger("botocore").setLevel(logging.WARNING)  # one INFO line per client otherwise
    from ._lifeline import watch_parent

    daemon = watch_parent()  # never outlive the daemon (a processor also exits when its stdin closes)
    logging.getLogger("consumer").info("record processor %s dies with its daemon %s", os.getpid(), daemon)
    from amazon_kclpy import kcl

    from .app import build_processor
    from .config import ProcessorConfig

    processor = build_processor(ProcessorConfig.from_env())
    kcl.KCLProcess(processor, input_file=sys.stdin, output_file=protocol_out, error_file=sys.stderr).run()


if __name__ == "__main__":
    main()
