"""foundation.settings: names and AWS settings are checked before they reach a file, an ARN or a URL."""

from __future__ import annotations

import pytest

from foundation.errors import ConfigError
from foundation.settings import AwsSettings, PipelineNames


@pytest.mark.parametrize("name", ["stream", "table", "bucket", "application"])
@pytest.mark.parametrize("bad", ["nice\nlist", "nice\rlist", "nice\x00list", "nicelist\u2028", "tab\there"])
def test_a_control_character_in_a_name_is_refused_naming_the_setting(name: str, bad: str) -> None:
    with pytest.raises(ConfigError) as refused:
        PipelineNames(**{name: bad})
    assert refused.value.setting.startswith(f"{name} name (NICELIST_{name.upper()}")


def test_names_follow_the_aws_character_sets() -> None:
    PipelineNames(stream="My_Stream.1", table="Kids-2", bucket="north.pole-1", application="app_1")
    for kwargs in ({"stream": "a b"}, {"bucket": "Upper"}, {"table": "x=y"}, {"application": ""}):
        with pytest.raises(ConfigError):
            PipelineNames(**kwargs)
    with pytest.raises(ConfigError):
        PipelineNames.from_env({"NICELIST_STREAM": "evil\nexecutableName = sh -c 'rm -rf /'"})


def test_region_and_endpoint_are_checked() -> None:
    assert AwsSettings(region="eu-west-1", endpoint_url="http://127.0.0.1:4566").region == "eu-west-1"
    with pytest.raises(ConfigError, match="region"):
        AwsSettings(region="eu-west-1\nkinesisEndpoint = http://evil")
    with pytest.raises(ConfigError, match="endpoint"):
        AwsSettings(endpoint_url="http://127.0.0.1:1\nx=y")
