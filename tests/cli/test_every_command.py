"""Every ``nicelist`` sub-command answers bad input and an unreachable endpoint with one line on
stderr, no traceback and a non-zero exit (2: usage, 1: operational). The sub-commands are read
from the parser, so a new one is covered (or fails here until it is) without editing this file."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nicelist.cli import build_parser, main
from nicelist.commands import _options, _types

ROOT = Path(__file__).resolve().parents[2]

#: extra arguments a command needs to reach AWS (its required ones, and --yes / --once)
NEEDS = {
    "alarms": ["apply"],
    "autoscale": ["--once"],
    "produce": ["--events", "5", "--elves", "1", "--flush-timeout", "1", "--no-progress"],
    "query": ["--example", "per-day"],
    "compact": ["--no-progress"],
    "reconcile": ["--no-progress"],
    "reshard scale": ["--shards", "2", "--yes"],
    "reshard split": ["shardId-000000000000", "--yes"],
    "reshard merge": ["shardId-000000000000", "shardId-000000000001", "--yes"],
    "reshard rebalance": ["--yes"],
    "selfcheck": ["--scratch-table", "scratch-selfcheck"],
    "dead-letters redrive": ["--all"],
    "dead-letters show": ["dead-letter/dt=2026-12-23/hour=08/x.avro"],
}
#: long-running commands: only bad arguments (they would start a server, the KCL or the demo)
NEVER_RUN = {"worker", "demo", "local"}
#: a value no checked type accepts: not a number, not a name (the slash), not a day, an address,
#: a URL, a port or KEY=VALUE, and a path whose folder does not exist
BAD = "nan/x"
#: types that accept any string by design
_FREE = (None, str, Path)


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    children = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not children:
        yield path, parser
    for action in children:
        for name, child in action.choices.items():
            yield from _leaves(child, (*path, name))


LEAVES = dict(_leaves(build_parser()))


def _options_of(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.nargs != 0 and not isinstance(a, argparse._HelpAction)]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``main(argv)`` in-process: its exit code (argparse's SystemExit included) and stderr."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    return code, capsys.readouterr().err


def assert_one_line(code: int, err: str, expected: int) -> None:
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert code == expected, err


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound and released: connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _one_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # a refused connection is not retried: fast


def test_the_commands_are_found() -> None:
    assert {"provision", "status", "reshard scale", "reshard plan", "worker"} <= {" ".join(p) for p in LEAVES}


@pytest.mark.parametrize("path", sorted(LEAVES), ids=" ".join)
def test_every_number_is_checked(path: tuple[str, ...]) -> None:
    """No option takes a bare int or float (float accepts nan and inf; neither has bounds)."""
    bare = [a.option_strings[0] for a in _options_of(LEAVES[path]) if a.type in (int, float)]
    assert not bare, f"nicelist {' '.join(path)}: use a type from nicelist/commands/_types.py for {bare}"


@pytest.mark.parametrize("path", sorted(LEAVES), ids=" ".join)
def test_bad_values_are_one_line_and_exit_2(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    checked = [a for a in _options_of(LEAVES[path]) if a.type not in _FREE]
    for action in checked:
        code, err = run([*path, action.option_strings[-1], BAD], capsys)
        assert_one_line(code, err, 2)
        assert action.option_strings[-1] in err
    code, err = run([*path, "--no-such-flag"], capsys)
    assert_one_line(code, err, 2)


@pytest.mark.parametrize(
    "argv",
    [
        ["provision", "--bucket", "Bad_Bucket"],
        ["provision", "--bucket", "ab"],
        ["provision", "--stream="],
        ["provision", "--timeout", "0"],
        ["provision", "--shards", "100000"],
        ["template", "--shards", "0"],
        ["template", "--stream", "bad/name"],
        ["alarms", "apply", "--email", "not an address"],
        ["alarms", "apply", "--https", "http://insecure.example"],
        ["reshard", "plan", "--peak-events-per-sec", "inf", "--event-bytes", "100"],
        ["reshard", "plan", "--peak-events-per-sec", "10", "--event-bytes", "2000000"],
        ["query", "--from-day", "yesterday", "--example", "per-day"],
        ["query", "SELECT 1; SELECT 2"],
        ["query", "--from-day", "2026-12-24", "--to-day", "2026-12-01", "--example", "per-day"],
        ["compact", "--grace-minutes", "nan"],
        ["local", "--port", "99999"],
        ["local", "--port", "-1"],
        ["local", "--limits-scale", "nan"],
        ["athena-ddl", "-o", "/no/such/folder/x.sql"],
        ["status", "--endpoint", "localhost:4566"],
        ["status", "--region", "Mars"],
        ["demo", "--events", "0"],
        ["demo", "--spike-share", "1.5"],
        ["worker", "--set", "novalue"],
        ["worker", "--archive-max-file-age-s", "inf"],
    ],
    ids=" ".join,
)
def test_the_probes_bad_inputs(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert_one_line(*run(argv, capsys), 2)


def _talks_to_aws(path: tuple[str, ...]) -> bool:
    return path[0] not in NEVER_RUN and any("--endpoint" in a.option_strings for a in LEAVES[path]._actions)


@pytest.mark.parametrize("path", sorted(filter(_talks_to_aws, LEAVES)), ids=" ".join)
def test_an_unreachable_endpoint_is_one_line_and_exit_1(
    path: tuple[str, ...], closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*path, *NEEDS.get(" ".join(path), []), "--endpoint", f"http://127.0.0.1:{closed_port}"]
    code, err = run(argv, capsys)
    assert_one_line(code, err, 1)
    assert f"http://127.0.0.1:{closed_port}" in err


def test_verbose_shows_the_traceback(closed_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["status", "--verbose", "--endpoint", f"http://127.0.0.1:{closed_port}"], capsys)
    assert code == 1
    assert "Traceback" in err and "EndpointConnectionError" in err
    assert err.strip().splitlines()[-1].startswith("nicelist status: cannot reach")


def test_a_missing_resource_names_it_and_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    from moto import mock_aws

    with mock_aws():
        code, err = run(["alarms", "apply", "--stream", "nope"], capsys)
        assert_one_line(code, err, 1)
        assert "Stream nope" in err and "--stream" in err and "nicelist provision" in err
        code, err = run(["status", "--stream", "nope"], capsys)
        assert_one_line(code, err, 1)
        assert "Stream nope" in err


def test_a_file_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        boto3.client("kinesis", region_name="us-east-1").create_stream(StreamName="nicelist", ShardCount=1)
        code, err = run(["produce", "--spool-dir", "/proc/x", "--events", "5", "--elves", "1", "--no-progress"], capsys)
    assert_one_line(code, err, 1)
    assert "/proc/x/elf-000" in err


def test_an_unknown_failure_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(args: argparse.Namespace) -> int:
        raise KeyError("a bug")

    monkeypatch.setattr("nicelist.commands.template.run", broken)
    code, err = run(["template"], capsys)
    assert_one_line(code, err, 1)
    assert "internal error: KeyError" in err and "--verbose" in err


def test_the_produce_flush_timeout_bounds_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing does not wait again after the flush, and no PutRecords call outlasts the timeout
    (the 125 s run of issue 21: 4 elves x a 30 s close after a 5 s flush)."""
    from loadgen._fleet import PRODUCER_CLIENT_CONFIG
    from nicelist.commands import produce

    seen: dict[str, Any] = {}

    def fake_produce(plan: Any, config: Any, **kwargs: Any) -> Any:
        seen.update(config=config, **kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr("loadgen.produce", fake_produce)
    assert main(["produce", "--flush-timeout", "5", "--no-progress", "--endpoint", "http://127.0.0.1:1"]) == 1
    config = seen["config"]
    assert seen["flush_timeout_s"] == 5 and config.producer_options["close_timeout_s"] == 0
    client = produce._bounded_clients(config.aws, 5.0)("kinesis", **PRODUCER_CLIENT_CONFIG)
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (5.0, 5.0)
    assert client.meta.config.retries["total_max_attempts"] == 1


def test_the_shared_options_have_one_help_text_each() -> None:
    helps: dict[str, set[str]] = {}
    for parser in LEAVES.values():
        for action in parser._actions:
            for flag in ("--stream", "--table", "--bucket", "--application", "--endpoint", "--region", "--json"):
                if flag in action.option_strings:
                    helps.setdefault(flag, set()).add(str(action.help))
    assert helps["--endpoint"] == {_options.ENDPOINT_HELP}
    assert all(len(texts) == 1 for texts in helps.values()), helps


def test_a_name_type_follows_aws_rules() -> None:
    bucket = _types.aws_name("bucket")
    assert bucket("my-archive.2026") == "my-archive.2026"
    for bad in ("ab", "a" * 64, "-archive", "arch..ive", "192.168.1.1", "xn--archive", "archive-s3alias", "Archive"):
        with pytest.raises(argparse.ArgumentTypeError):
            bucket(bad)
    with pytest.raises(argparse.ArgumentTypeError):
        _types.aws_name("stream")("s" * 129)
    assert _types.aws_name("table")("kid") == "kid"


def test_one_subprocess_run(closed_port: int) -> None:
    """The console entry point as an operator runs it: logging set up, one line, exit 1."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_MAX_ATTEMPTS": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nicelist",
            "reconcile",
            "--no-progress",
            "--endpoint",
            f"http://127.0.0.1:{closed_port}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert_one_line(done.returncode, done.stderr, 1)
    assert f"nicelist reconcile: cannot reach http://127.0.0.1:{closed_port}" in done.stderr
