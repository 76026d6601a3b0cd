"""The distribution as a user gets it: the wheel built from this checkout, installed (not editable)
into a fresh virtualenv, works from a directory outside the source tree.

This is the check an editable install cannot make: a package missing from ``setup.py`` is still
importable from the checkout. It needs the PyPI packages of the ``local`` extra (pip's cache makes
the second run quick).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.test_public_api import shipped_packages

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the checkout's wheel and its ``local`` extra; returns its bin dir."""
    work = tmp_path_factory.mktemp("dist")
    wheels = work / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
        check=True,
        timeout=300,
        cwd=work,
    )
    (wheel,) = wheels.glob("nicelist-*.whl")
    venv.create(work / "venv", with_pip=True)
    bin_dir = work / "venv" / "bin"
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{wheel}[local]"],
        check=True,
        timeout=600,
        cwd=work,
        env=_clean_env(),
    )
    return bin_dir


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _run(bin_dir: Path, cwd: Path, *args: str) -> str:
    result = subprocess.run(
        [str(bin_dir / args[0]), *args[1:]], capture_output=True, text=True, timeout=120, cwd=cwd, env=_clean_env()
    )
    assert result.returncode == 0, f"{args}: exit {result.returncode}\n{result.stderr}"
    return result.stdout


def test_every_package_imports_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    packages = shipped_packages()
    code = (
        f"import {', '.join(packages)}, sys; "
        "bad = [m.__name__ for m in map(sys.modules.get, sys.argv[1:]) if 'site-packages' not in m.__file__]; "
        "assert not bad, bad"
    )
    _run(installed, tmp_path, "python", "-c", code, *packages)


def test_offline_commands_work_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    assert "nicelist" in _run(installed, tmp_path, "nicelist", "--version")
    assert "athena-ddl" in _run(installed, tmp_path, "nicelist", "--help")
    assert "CREATE EXTERNAL TABLE" in _run(
        installed, tmp_path, "nicelist", "athena-ddl", "--bucket", "nicelist-archive"
    )
    plan = _run(
        installed, tmp_path, "nicelist", "reshard", "plan", "--peak-events-per-sec", "500000", "--event-bytes", "130"
    )
    assert "shards" in plan


def test_the_installed_producer_has_its_type_marker_and_data_files(installed: Path, tmp_path: Path) -> None:
    code = (
        "from importlib import resources; "
        "assert resources.files('schemas').joinpath('avro').is_dir(); "
        "assert resources.files('properties').joinpath('local.properties').is_file(); "
        "assert resources.files('deploy').joinpath('iam_policies', 'worker.json').is_file()"
    )
    _run(installed, tmp_path, "python", "-c", code)


def test_the_installed_spool_writes_frames_in_c(installed: Path, tmp_path: Path) -> None:
    """The wheel carries producer._cframes (built where there is a C compiler), and a spool written
    by it is read back."""
    if shutil.which((sysconfig.get_config_var("CC") or "cc").split()[0]) is None:
        pytest.skip("no C compiler here: the wheel carries the pure-Python frame writer only")
    code = (
        "import tempfile; from producer import _frame_writer, _cframes; from producer._spool import Spool; "
        "assert _frame_writer.COMPILED and 'site-packages' in _cframes.__file__; "
        "d = tempfile.mkdtemp(); s = Spool(d, max_bytes=1 << 20, segment_bytes=8192, stream='s'); "
        "[s.append(b'x' * 100) for _ in range(200)]; s.close(); "
        "r = Spool(d, max_bytes=1 << 20, segment_bytes=8192, stream='s'); "
        "assert [p for _, p in r.replay()] == [b'x' * 100] * 200 and r.events_lost == 0; r.close()"
    )
    _run(installed, tmp_path, "python", "-c", code)
