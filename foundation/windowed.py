"""``map_ordered``: a function over items in a small thread pool, results in input order, at most
``window`` in flight (so at most ``window`` results held in memory). Used to fetch S3 objects."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_ordered(
    fn: Callable[[T], R], items: Iterable[T], *, window: int, thread_name_prefix: str = "windowed"
) -> Iterator[tuple[T, R]]:
    """``(item, fn(item))`` for each item, in ``items`` order; exceptions surface in that order."""
    if window < 1:
        raise ValueError("window must be at least 1")
    with ThreadPoolExecutor(max_workers=window, thread_name_prefix=thread_name_prefix) as pool:
        pending: deque[tuple[T, Future[R]]] = deque()
        for item in items:
            pending.append((item, pool.submit(fn, item)))
            if len(pending) >= window:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
