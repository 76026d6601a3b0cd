"""Packing aggregated records into PutRecords requests: within limits, nothing lost or duplicated."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foundation.limits import KINESIS_MAX_BYTES_PER_PUT, KINESIS_MAX_RECORD_BYTES, KINESIS_MAX_RECORDS_PER_PUT
from producer._batch import RequestLimits, pack_requests, take_request

sizes = st.lists(st.integers(min_value=1, max_value=KINESIS_MAX_RECORD_BYTES), max_size=1500)


@settings(max_examples=300, deadline=None)
@given(sizes=sizes)
def test_requests_stay_within_kinesis_limits_and_keep_every_record_once(sizes: list[int]) -> None:
    records = list(enumerate(sizes))
    requests = pack_requests(records, lambda r: r[1], RequestLimits())
    assert [r for request in requests for r in request] == records  # same records, same order, once each
    for request in requests:
        assert 1 <= len(request) <= KINESIS_MAX_RECORDS_PER_PUT
        assert sum(size for _, size in request) <= KINESIS_MAX_BYTES_PER_PUT


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(min_value=1, max_value=1000), max_size=200), max_records=st.integers(1, 20))
def test_requests_are_full_before_a_new_one_starts(sizes: list[int], max_records: int) -> None:
    limits = RequestLimits(max_records=max_records, max_bytes=2000, max_record_bytes=1000)
    requests = pack_requests(sizes, lambda s: s, limits)
    for request, following in zip(requests, requests[1:], strict=False):
        assert len(request) == max_records or sum(request) + following[0] > 2000


def test_an_oversized_record_is_a_bug_not_a_silent_drop() -> None:
    queue = deque([KINESIS_MAX_RECORD_BYTES + 1])
    with pytest.raises(ValueError, match="record limit"):
        take_request(queue, lambda s: s, RequestLimits())
    assert list(queue) == [KINESIS_MAX_RECORD_BYTES + 1]


def test_limits_cannot_exceed_the_service() -> None:
    with pytest.raises(ValueError):
        RequestLimits(max_records=KINESIS_MAX_RECORDS_PER_PUT + 1)
    with pytest.raises(ValueError):
        RequestLimits(max_bytes=KINESIS_MAX_BYTES_PER_PUT + 1)
