"""Bringing many tenants along in worker processes: a large apply split across cores.

A large apply is bound by CPU (SQLite's own work and cinch's Python around some twenty
statements per tenant) once group commit has taken the disk's syncs out of it. Threads share
one GIL and SQLite's process-wide mutexes, so a second thread costs more CPU than it saves;
processes share neither. The parent plans everything it can share (the head, the target log,
the expected schema, the template) and forks; each child moves the names it is handed with
its own connections and its own group commits, and sends each group's outcomes back only once
the group is durable. The parent keeps everything that touches shared records: the catalog,
progress, fork records, the synced mark.

Fork is safe here because of what the parent guarantees at the fork and what a child never
does:

- the parent has one thread (no lock of SQLite, libgit2 or the allocator can be held by a
  thread that does not exist in the child) and no SQLite connection open to a file a child
  opens (its pool and its tenants' read connections were closed first);
- a child never uses, closes or lets the garbage collector finalise a connection it inherited
  (closing one would checkpoint or delete the parent's WAL): it freezes the inherited objects
  at once and leaves through ``os._exit``, which runs no finaliser and no ``atexit``;
- a child does not use the git repository: what needs git is planned by the parent, and a
  tenant whose move would need git after all is handed back for the parent to move.

Interrupts: a child ignores SIGINT (a terminal sends it to the whole group). The parent, on
any exception while work is out, asks each child to stop (SIGTERM: it ends the tenant in hand,
makes its group durable and leaves), waits for them all, then raises. A child that dies leaves
every tenant it touched at some commit of the branch (each change set is one transaction, and
a killed process loses nothing a commit wrote); the tenants it had not reported come back as
:class:`~cinch.errors.TenantError` naming it, and ``cinch sync`` finishes them.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from cinch import errors
from cinch.errors import CinchError, TenantError

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

_STOPS = {signal.SIGINT, signal.SIGTERM}

# One chunk of names in, one list of (name, outcome) out; ``stopped()`` turns true when the
# worker is asked to stop (it ends the tenant in hand and returns what it did).
Work = Callable[[list[str], Callable[[], bool]], list[tuple[str, object]]]


class ParentOnly(Exception):  # a signal to the parent, not an error
    """Raised by a child's work for a tenant only the parent can move (its move needs git):
    the parent moves it itself."""


def usable() -> bool:
    """Whether worker processes may be forked here: a platform with fork (Linux) and a process
    with one thread."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


class Workers:
    """``count`` forked processes running ``work``; hand them chunks with :meth:`map`.

    Fork happens in the constructor: call it once the parent is ready to be copied (see the
    module's docstring). ``with Workers(...) as workers:`` stops and reaps them at the end."""

    def __init__(self, work: Work, count: int, leave: Callable[[], None] = lambda: None,
                 ) -> None:
        # only here: most commands never fork
        from multiprocessing import Pipe

        self._children: dict[int, Connection] = {}  # pid -> the parent's end of its pipe
        # Held back across the fork: a child takes its own handlers before either can reach
        # it, and never runs on into the parent's code.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
        try:
            for _ in range(count):
                mine, theirs = Pipe()
                pid = os.fork()
                if pid == 0:
                    try:
                        _child(theirs, work, leave, held, [mine, *self._children.values()])
                    finally:
                        os._exit(1)
                theirs.close()
                self._children[pid] = mine
        except BaseException:
            self.stop()
            raise
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    @property
    def pids(self) -> list[int]:
        return list(self._children)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None:
            self.close()
        else:
            self.stop()

    def map(self, chunks: Iterable[list[str]]) -> Iterator[tuple[str, object | Exception]]:
        """Every name of ``chunks`` with its outcome (a value, or the exception its move
        raised), chunk by chunk as workers finish them; a worker gets its next chunk when one
        comes back, with one more kept waiting in its pipe so it is never idle. Outcomes
        :class:`ParentOnly` are left for the caller. If every worker is gone, the remaining
        names fail."""
        from multiprocessing.connection import wait

        waiting = deque(chunks)
        out: dict[int, deque[list[str]]] = {pid: deque() for pid in self._children}
        finished = False
        try:
            self._fill(waiting, out)
            while any(out.values()):
                busy = {self._children[pid]: pid for pid, sent in out.items() if sent}
                for conn in wait(list(busy)):
                    pid = busy[conn]  # type: ignore[index]
                    try:
                        message = conn.recv()  # type: ignore[union-attr]
                    except (EOFError, OSError):  # it died: the chunk in hand is lost
                        sent = out.pop(pid)
                        yield from self._lost(pid, sent.popleft(), sent, waiting)
                        continue
                    chunk = out[pid].popleft()
                    if message[0] == "fatal":
                        raise _rebuild(message[1], chunk[0] if chunk else "", pid)
                    seen = set()
                    for name, outcome in message[1]:
                        seen.add(name)
                        yield name, _decode(name, outcome, pid)
                    if len(seen) < len(chunk):  # it was asked to stop (SIGTERM from outside)
                        sent = out.pop(pid)
                        sent.appendleft([name for name in chunk if name not in seen])
                        yield from self._lost(pid, [], sent, waiting)
                self._fill(waiting, out)
            for name in (name for chunk in waiting for name in chunk):  # every worker is gone
                yield name, TenantError(
                    f"tenant {name}: not moved, every apply worker process had ended",
                    tenant=name, hint="`cinch sync` brings it to the head")
            finished = True
        finally:
            if not finished:
                self.stop()

    def _fill(self, waiting: deque[list[str]], out: dict[int, deque[list[str]]]) -> None:
        """Keep every worker with a chunk in hand and one more waiting in its pipe."""
        for pid in list(self._children):
            while waiting and len(out[pid]) < 2:
                chunk = waiting.popleft()
                try:
                    self._children[pid].send(chunk)
                except OSError:  # gone: its chunks out are lost once its pipe ends
                    waiting.appendleft(chunk)
                    if not out[pid]:
                        self._reap(pid)
                        del out[pid]
                    break
                out[pid].append(chunk)

    def _lost(self, pid: int, started: list[str], untouched: deque[list[str]],
              waiting: deque[list[str]]) -> Iterator[tuple[str, Exception]]:
        """A worker ended without reporting ``started`` (each of those tenants may or may not
        have moved, and is at some commit of its branch); ``untouched`` it never began (it
        reports a chunk before taking the next) go to the others, or fail too if no worker is
        left."""
        how = self._reap(pid)
        waiting.extendleft(reversed(untouched))
        lost = list(started)
        if not self._children:
            lost += [name for chunk in waiting for name in chunk]
            waiting.clear()
        for name in lost:
            yield name, TenantError(
                f"tenant {name}: the apply worker process {pid} {how} before reporting it; "
                "the tenant is at some commit of its branch", tenant=name, worker=pid,
                hint="`cinch sync` brings it to the head")

    def _reap(self, pid: int) -> str:
        conn = self._children.pop(pid)
        conn.close()
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return "ended"
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = str(number)
            return f"was killed ({name})"
        return f"ended (exit status {os.WEXITSTATUS(status)})"

    def stop(self) -> None:
        """Ask every worker to end the tenant in hand and leave; wait until they have."""
        for pid in self._children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        self.close()

    def close(self) -> None:
        """Let the workers go once they are done (their pipes end) and reap them."""
        children, self._children = self._children, {}
        for conn in children.values():
            conn.close()
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                while True:
                    try:
                        os.waitpid(pid, 0)
                        break
                    except InterruptedError:
                        continue


def _child(conn: Connection, work: Work, leave: Callable[[], None], mask: Iterable[int],
           inherited: list[Connection]) -> None:
    """A worker's whole life: chunks in, outcomes out, until its pipe ends; then ``leave``
    (closing what the child itself opened) and out."""
    gc.freeze()  # never finalise an inherited object (an SQLite connection among them)
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for other in inherited:  # the parent's ends: its pipes must end when the parent does
            other.close()
        while not stopping.is_set():
            try:
                chunk = conn.recv()
            except (EOFError, OSError):
                break
            if chunk is None:
                break
            try:
                done = work(chunk, stopping.is_set)
            except BaseException as exc:  # told to the parent, which raises it
                conn.send(("fatal", _encode(exc)))
                code = 1
                break
            conn.send(("done", [(name, _encode_outcome(outcome)) for name, outcome in done]))
    except BaseException:  # the parent sees the pipe end and names the tenants
        code = 1
    finally:
        try:
            leave()
        except BaseException:
            code = 1
        os._exit(code)


def _encode_outcome(outcome: object) -> tuple[str, Any]:
    if isinstance(outcome, BaseException):
        return _encode(outcome)
    return ("ok", outcome)


def _encode(exc: BaseException) -> tuple[str, Any]:
    if isinstance(exc, ParentOnly):
        return ("parent", str(exc))
    if isinstance(exc, CinchError):
        return ("cinch", (type(exc).__name__, exc.message, exc.hint, _plain(exc.details)))
    import traceback

    text = "".join(traceback.format_exception(exc))
    return ("unexpected", (type(exc).__name__, str(exc), text))


def _plain(details: dict[str, Any]) -> dict[str, Any]:
    """Details that cross a pipe: JSON-like values as they are, anything else as text."""
    import pickle

    out = {}
    for key, value in details.items():
        try:
            pickle.dumps(value)
            out[key] = value
        except Exception:  # any value that does not pickle is shown as text
            out[key] = str(value)
    return out


def _decode(name: str, outcome: tuple[str, Any], pid: int) -> object | Exception:
    kind, payload = outcome
    if kind == "ok":
        return payload
    return _rebuild(outcome, name, pid)


def _rebuild(outcome: tuple[str, Any], name: str, pid: int) -> Exception:
    """The exception a worker met, as the parent raises or reports it: the same CinchError
    class, message, hint and details; anything unexpected as an error naming the tenant."""
    kind, payload = outcome
    if kind == "parent":
        return ParentOnly(payload)
    if kind == "cinch":
        class_name, message, hint, details = payload
        cls = getattr(errors, class_name, None)
        if not (isinstance(cls, type) and issubclass(cls, CinchError)):
            cls = CinchError
        return cls(message, hint=hint, **details)
    class_name, message, text = payload
    return RuntimeError(f"tenant {name}: {class_name}: {message} (in apply worker process "
                        f"{pid})\n{text}")
