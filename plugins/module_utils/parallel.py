# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading many users at once: a bounded thread pool whose results come back in the order asked.

IAM answers each per-user call in tens of milliseconds on the network; a few calls in flight at once make
``source=live`` several times faster. boto3 clients are safe to share between threads for calls. Each call keeps
its own jittered backoff on throttling (a single call's, made with ``aws_retry=True`` on a clients.retrying client; a
paginated read's, calls.paginate).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

MAX_CONCURRENCY = 64
LIVE_READS_ARGSPEC = {"concurrency": {"type": "int", "default": 8}}  # documented in doc_fragments/selection.py (LIVE_READS)

Item = TypeVar("Item")
Result = TypeVar("Result")


def check_concurrency(value: int, name: str = "concurrency") -> list:
    """Problems with a concurrency option, naming it."""
    return [] if 1 <= value <= MAX_CONCURRENCY else [f"{name} must be from 1 to {MAX_CONCURRENCY}, not {value}"]


def bounded_map(function: Callable[[Item], Result], items: Iterable[Item], concurrency: int) -> Iterator[Result]:
    """``function(item)`` for each item, in the items' order, with at most ``concurrency`` running at once.

    The first exception (in the items' order) is raised where its result would have come. A caller that stops
    iterating (or an exception) cancels what has not started; what is running finishes and is dropped.
    With ``concurrency`` 1 no thread is made.
    """
    if concurrency <= 1:
        for item in items:
            yield function(item)
        return
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="awssec-mfa") as pool:
        futures = [pool.submit(function, item) for item in items]
        try:
            for future in futures:
                yield future.result()
        finally:
            for future in futures:
                future.cancel()
