"""Progress of long applies: a rich bar for a person at a terminal, plain lines for a log.

rich is imported only when a bar is shown: most commands never apply to enough tenants.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cinch.cli import output

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

MIN_TENANTS = 20  # below this an apply is instant: no bar
LINE_EVERY = 2.0  # seconds between two progress lines written to a log


class LazyBar:
    """A progress callback that shows a bar once there is enough work to watch, when stderr is
    a terminal (asked then, not before: asking imports rich); otherwise (a CI log, a pipe) it
    writes a line to stderr every few seconds and at the end, so a long apply is seen to move.
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._terminal: bool | None = None  # whether stderr is a terminal; None: not asked yet
        self._last_line: float | None = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            if total < MIN_TENANTS:
                return
            if not self._at_terminal():
                self._line(done, total)
                return
            self._bar = _new_bar(self.label)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=total)
        assert self._task is not None
        self._bar.update(self._task, completed=done, total=total)
        if done >= total:
            self.close()

    def _line(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and self._last_line is not None and now - self._last_line < LINE_EVERY:
            return
        self._last_line = now
        sys.stderr.write(f"{self.label}: {done}/{total}\n")
        sys.stderr.flush()

    def _at_terminal(self) -> bool:
        if self._terminal is None:
            self._terminal = output.err_console.is_terminal
        return self._terminal

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _new_bar(label: str) -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=output.err_console, transient=True)


@contextmanager
def progress_bar(label: str, *, quiet: bool = False) -> Iterator[Callable[[int, int], None] | None]:
    if quiet:
        yield None
        return
    bar = LazyBar(label)
    try:
        yield bar
    finally:
        bar.close()
