"""S3 conditional writes through the local stack's server (h2c/HTTP1 front, moto behind): the
archive relies on ``If-None-Match: *`` to never overwrite a file another worker wrote."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from localaws import LocalAWS
from tests.stack import unique_name


def test_put_if_absent_refuses_an_existing_key(local_aws: LocalAWS) -> None:
    s3 = local_aws.client("s3")
    bucket = unique_name("cond")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key="k", Body=b"second", IfNoneMatch="*")
    assert info.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"first"
