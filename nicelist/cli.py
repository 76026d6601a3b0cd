"""The ``nicelist`` console script: one sub-command per module in :mod:`nicelist.commands`.

Each command module exposes ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``; modules import their heavy dependencies inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

#: sub-command name -> module; the order is the order of ``nicelist --help``.
COMMANDS = {
    "demo": "nicelist.commands.demo",
    "local": "nicelist.commands.local",
    "provision": "nicelist.commands.provision",
    "worker": "nicelist.commands.worker",
    "produce": "nicelist.commands.produce",
    "reconcile": "nicelist.commands.reconcile",
    "athena-ddl": "nicelist.commands.athena_ddl",
    "compact": "nicelist.commands.compact",
    "query": "nicelist.commands.query",
    "reshard": "nicelist.commands.reshard",
    "alarms": "nicelist.commands.alarms",
    "status": "nicelist.commands.status",
    "template": "nicelist.commands.template",
    "autoscale": "nicelist.commands.autoscale",
    "dead-letters": "nicelist.commands.dead_letters",
}


def version() -> str:
    """The installed distribution's version (``unknown`` when run from a bare source tree)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("nicelist")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nicelist",
        description="nicelist: the Kinesis pipeline that keeps the naughty/nice list true through December.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (to stderr)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.WARNING - 10 * args.verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
