"""The ``nicelist`` console script: one sub-command per module in :mod:`nicelist.commands`.

Each command module exposes ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``; modules import their heavy dependencies inside ``run``. The options many
commands share (names, ``--endpoint``, ``--region``, ``--json``) come from
:mod:`nicelist.commands._options`, their checks from :mod:`nicelist.commands._types`.

A command raises; :func:`main` is the one place that catches, and turns a known error into one
line on stderr and an exit code (:mod:`nicelist._cli_errors`: 1 operational failure, 2 usage
error); the traceback is shown only with ``--verbose``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback
import typing
from collections.abc import Iterator, Sequence

from nicelist._cli_errors import explain
from nicelist.commands._options import VERBOSE_HELP, add_verbose

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
    "selfcheck": "nicelist.commands.selfcheck",
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


class _Parser(argparse.ArgumentParser):
    """An argument error is one line (no usage block), exit 2."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """``parser`` and every sub-command parser below it."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield from _parsers(child)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nicelist",
        description="nicelist: the Kinesis pipeline that keeps the naughty/nice list true through December.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help=VERBOSE_HELP)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    for child in list(_parsers(parser))[1:]:
        add_verbose(child)
        child.set_defaults(_prog=child.prog)  # the deepest parser's wins: "nicelist reshard scale"
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one sub-command and return its exit code (argparse raises SystemExit: 0 after --help or
    --version, 2 for a bad argument, with one line on stderr)."""
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
    except Exception as exc:  # noqa: BLE001 - the one boundary: every failure becomes one line
        failure = explain(exc)
        if args.verbose:
            traceback.print_exception(exc, file=sys.stderr)
        print(f"{args._prog}: {failure.message}", file=sys.stderr, flush=True)
        return failure.exit_code


if __name__ == "__main__":
    sys.exit(main())
