"""CPU seconds per test file, measured inside a normal run (``-p tests.suite_cpu``).

Each test's CPU is this worker's own user + system time plus that of the processes it started
and reaped meanwhile (the cinch commands, hooks, servers and compilers a test runs), added to
its file; module fixtures fall into the first and last test of their file. With ``--dist
loadfile`` a file runs on one worker, so the figures add up to the run's pytest CPU, less the
workers' start and what session fixtures reap at the end. Lines ``cpu_seconds file`` are
appended to the file named by ``CINCH_SUITE_CPU`` (every worker appends its own); with
``CINCH_SUITE_CPU_BY=test``, one line per test instead.
"""

from __future__ import annotations

import os
import resource
from collections import defaultdict
from collections.abc import Iterator

import pytest

_SPENT: defaultdict[str, float] = defaultdict(float)


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    before = _cpu()
    yield
    key = item.nodeid if os.environ.get("CINCH_SUITE_CPU_BY") == "test" else \
        item.nodeid.split("::")[0]
    _SPENT[key] += _cpu() - before


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("CINCH_SUITE_CPU")
    if not target or not _SPENT:
        return
    with open(target, "a") as out:
        out.writelines(f"{spent:8.2f} {name}\n" for name, spent in sorted(_SPENT.items()))
