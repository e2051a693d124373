"""Bringing many tenants along at once: a bounded set of workers, threads or processes.

A tenant's move is independent of every other's and all-or-nothing by itself (one
transaction per change set), so an apply can hand tenants to several workers. What a worker
spends its time on decides which kind it should be. Group commit
(``cinch.stores.group_commit``) took the disk's syncs out of each tenant's apply, which
leaves it bound by CPU: SQLite's own work and cinch's Python around some twenty statements
per tenant. Threads overlap what lets go of the GIL, but a second thread also costs CPU of
its own (the GIL handed back and forth around every SQLite call, SQLite's process-wide
mutexes): on two cores it gained about 10 % at 10,000 tenants. Processes share neither.

So an apply to many tenants forks worker processes (``cinch.engine.processes``: planned once
in the parent, moved in the children, outcomes back per durable group), and a small one runs
:func:`each` on threads here, where a fork would cost more than it saves; so do the applies
that must change shared records tenant by tenant (copies into child branches, lazy copies).
With one worker, one tenant after the other.

Nothing changes about each tenant's guarantees either way: every tenant is moved by one
worker, one transaction per change set, so a crash leaves each tenant at some commit of its
branch and ``cinch sync`` finishes, as it does after a serial apply.

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
