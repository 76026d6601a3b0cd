"""Configuration and the moto version pin (pure: nothing here starts a server or patches moto)."""

from __future__ import annotations

import pytest

from localaws import ServerConfig, StackConfig, UnsupportedMotoError
from localaws._kinesis_fixes import MOTO_VERSION, apply_all


def test_the_fixes_refuse_another_moto_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    monkeypatch.setattr(moto, "__version__", "5.3.0")
    with pytest.raises(UnsupportedMotoError, match=MOTO_VERSION):
        apply_all()


def test_the_pin_matches_the_installed_moto() -> None:
    import moto

    assert moto.__version__ == MOTO_VERSION, "setup.py pins moto; the fixes must be re-checked before a bump"


@pytest.mark.parametrize(
    "kwargs", [{"port": -1}, {"port": 70000}, {"host": ""}, {"listen_fd": -2}, {"max_body_bytes": 0}]
)
def test_bad_server_configs_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ServerConfig(**kwargs)  # type: ignore[arg-type]


def test_configs_from_env() -> None:
    server = ServerConfig.from_env({"LOCALAWS_PORT": "4567", "LOCALAWS_KINESIS_FIXES": "0"})
    assert (server.port, server.kinesis_fixes) == (4567, False)
    stack = StackConfig.from_env({"AWS_REGION": "eu-west-1"})
    assert (stack.port, stack.region, stack.kinesis_fixes) == (0, "eu-west-1", True)
    with pytest.raises(ValueError):
        StackConfig(start_timeout_s=0)
