"""A rich progress bar for long applies, shown only to a person at a terminal.

rich is imported only when a bar is shown: most commands never apply to enough tenants.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cinch.cli import output

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

MIN_TENANTS = 20  # below this an apply is instant: no bar


class LazyBar:
    """A progress callback that shows a bar only once there is enough work to watch, and only
    when stderr is a terminal (asked then, not before: asking imports rich)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._terminal: bool | None = None  # whether stderr is a terminal; None: not asked yet

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            if total < MIN_TENANTS or not self._at_terminal():
                return
            self._bar = _new_bar(self.label)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=total)
        assert self._task is not None
        self._bar.update(self._task, completed=done, total=total)
        if done >= total:
            self.close()

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
