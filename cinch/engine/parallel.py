"""Bringing many tenants along at once: a bounded set of worker threads.

An apply spends its time inside SQLite (statements, commits, checkpoints), in the file-system
syncs that make a group of tenants durable (``cinch.stores.group_commit``) and in file copies,
and CPython lets go of the GIL for all of them, so threads overlap that work; what is left in
Python per tenant is small. Threads rather than processes: a process would have to open the
project again and plan every move again, and a worker's failure stays one tenant's failure,
reported like a serial apply reports it.

Nothing changes about each tenant's guarantees: every tenant is moved by one worker, one
transaction per change set, so a crash leaves each tenant at some commit of its branch and
``cinch sync`` finishes, as it does after a serial apply.

The number of workers: ``CINCH_APPLY_WORKERS`` (1 applies one tenant after the other), else
the number of cores this process may run on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

from cinch.errors import UsageError

if TYPE_CHECKING:
    from concurrent.futures import Future

ENV = "CINCH_APPLY_WORKERS"

T = TypeVar("T")
R = TypeVar("R")


def cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def worker_count(wanted: int | None = None) -> int:
    """``wanted`` if given, else ``CINCH_APPLY_WORKERS``, else the number of cores."""
    if wanted is None:
        raw = os.environ.get(ENV, "").strip()
        if not raw:
            return cores()
        try:
            wanted = int(raw)
        except ValueError:
            raise UsageError(f"{ENV} must be a whole number of workers, not {raw!r}",
                             setting=ENV) from None
    if wanted < 1:
        raise UsageError(f"the number of apply workers must be 1 or more, not {wanted}",
                         setting=ENV)
    return wanted


def each(items: Iterable[T], work: Callable[[T], R], workers: int,
         ) -> Iterator[tuple[T, R | Exception]]:
    """``work(item)`` for every item on ``workers`` threads, as each finishes: the result, or
    the :class:`Exception` it raised (the others go on). At most a few items per worker are in
    flight, so memory does not grow with the number of items.

    A ``BaseException`` that is not an ``Exception`` (an interrupt) stops handing out items,
    waits for those already running (each ends its own transaction) and is raised."""
    if workers <= 1:
        for item in items:
            try:
                yield item, work(item)
            except Exception as exc:
                yield item, exc
        return
    # only here: concurrent.futures (and the logging it imports) would cost every command's
    # start, and most commands apply nothing or to one tenant
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    source = iter(items)
    window = workers * 4
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cinch-apply") as pool:
        running: dict[Future[R], T] = {}
        try:
            for item in source:
                running[pool.submit(work, item)] = item
                if len(running) >= window:
                    break
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    item = running.pop(future)
                    error = future.exception()
                    if error is not None and not isinstance(error, Exception):
                        raise error
                    yield item, (error if error is not None else future.result())
                    following = next(source, _END)
                    if following is not _END:
                        running[pool.submit(work, following)] = following  # type: ignore[arg-type]
        finally:
            for future in running:
                future.cancel()


_END = object()
