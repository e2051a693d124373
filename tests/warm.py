"""A warm start for the processes a test does not test the start of: every ``cinch`` command a
test runs (``run_cinch``, ``python -m cinch.cli.app``, the documentation's shell pages), every
hook cinch installs (it writes the interpreter it runs under into them, and the session's
interpreter is ``bin/python`` below), and the ``cinch serve`` the HTTP tests run against
(importing FastAPI, uvicorn and cinch's routes cost ~1.2 s of CPU a server).

Each of those is a real process, but most of its CPU went on importing cinch (~0.4-0.7 s each,
hundreds per run). Here one server process imports cinch once; a command becomes a tiny client
(python without site: a few ms) that hands the server its argv, working folder, environment,
parent pid and its stdin/stdout/stderr file descriptors (SCM_RIGHTS). The server forks; the
child takes all of those over and runs the console script's entry point (or ``python -m
git_hooks``) exactly as the real process would, then ends as the interpreter does (threads
joined, atexit handlers, output flushed; the shared modules are left as they are); the server
reaps it and hands its exit status back to the client, which exits with
it. So the command's code, files, output, exit code and view of its parents (the hooks read
git's command line from /proc) are those of a real process; only the imports are shared. The
client passes SIGTERM, SIGINT and SIGHUP on to the child (a test stops a server with
terminate(), a page with `kill`); a client killed outright takes its child with it, a moment
later (the server notices), so a test that kills a command at a chosen moment runs it real.

Process start and death stay tested where they are the subject, on the real interpreter (the
``real_processes`` fixture, or ``REAL_PYTHON``: tests/conftest.py): tests/cli/test_startup.py,
tests/cli/test_first_use.py's `cinch serve` starts, a test of tests/hooks/test_git_hooks.py
whose hooks run on the interpreter cinch was installed with, and the kill tests
(tests/tenants/test_crash.py and the kills in test_parallel.py and
tests/history/test_any_history.py).
"""
from __future__ import annotations

import contextlib
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOCKET_ENV = "CINCH_TEST_WARM_SOCKET"
# The `cinch` tests run (tests/conftest.py's run_cinch, the HTTP tests' servers): this worker's
# warm one while the session's `warm_processes` fixture is active. Here, in a module imported
# once, because pytest loads a conftest under a name of its own beside the `tests.conftest` the
# test files import.
CINCH: list[str] = []
CODE: list[str] = []  # the same for ``python -c`` (tests/conftest.py's python_c)

# The client, run as ``python -S -E CLIENT MODE ARGS...`` (no site, no environment-driven
# imports: it starts in a few milliseconds). MODE is ``cinch``, ``hook`` or ``code``.
CLIENT = r'''
import json, os, socket, sys
mode, args = sys.argv[1], sys.argv[2:]
fds, mask = [], []
for fd in (0, 1, 2):
    try:
        os.fstat(fd)
    except OSError:
        mask.append(False)
        continue
    fds.append(fd)
    mask.append(True)
env = {k: v for k, v in os.environ.items() if k != "CINCH_TEST_WARM_CLIENT_PY"}
request = json.dumps({"mode": mode, "args": args, "cwd": os.getcwd(), "env": env,
                      "ppid": os.getppid(), "fds": mask}).encode()
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(os.environ["CINCH_TEST_WARM_SOCKET"])
socket.send_fds(sock, [len(request).to_bytes(8, "big") + request], fds)
for fd in fds:
    os.close(fd)
# First the child's pid (signals sent to this process are passed on to it: a test stops a
# `cinch serve` with terminate()), then how it ended.
answer, child = b"", 0
while True:
    chunk = sock.recv(64)
    if not chunk:
        break
    answer += chunk
    if not child and b"\n" in answer:
        line, _, answer = answer.partition(b"\n")
        child = int(line.split()[1])
        import signal
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, lambda number, _frame: os.kill(child, number))
kind, _, value = answer.decode().partition(" ")
if kind == "signal":
    import signal
    signal.signal(int(value), signal.SIG_DFL)
    os.kill(os.getpid(), int(value))
os._exit(int(value) if kind == "exit" else 1)
'''


def _prepare() -> None:
    """What every command would import: imported once here, shared by every fork."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    import importlib

    for name in ("cinch.cli.app", "cinch.engine.project", "cinch.engine.history",
                 "cinch.engine.tenants", "cinch.engine.checks", "cinch.engine.staged",
                 "git_hooks.__main__", "cinch.server.app", "cinch.server.protocol", "uvicorn",
                 "uvicorn.lifespan.on", "uvicorn.loops.auto", "uvicorn.protocols.http.auto",
                 "uvicorn.protocols.websockets.auto"):
        importlib.import_module(name)
    for name in ("uvloop", "uvicorn.loops.uvloop"):  # optional: `cinch serve` uses it if there
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _run_child(request: dict, fds: list[int]) -> None:
    """In the forked child: become the requested process, run it, exit as it would."""
    import io
    import signal

    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    given = iter(fds)
    for target, present in enumerate(request["fds"]):
        if present:
            fd = next(given)
            os.dup2(fd, target)
            os.close(fd)
        else:
            os.close(target)
    for name, fd, mode in (("stdin", 0, "r"), ("stdout", 1, "w"), ("stderr", 2, "w")):
        old = getattr(sys, name)
        try:
            raw = io.FileIO(fd, mode + "b", closefd=False)
        except OSError:
            setattr(sys, name, None)
            continue
        buffered = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
        stream = io.TextIOWrapper(buffered, encoding=old.encoding, errors=old.errors,
                                  line_buffering=mode == "w" and (fd == 2 or raw.isatty()),
                                  write_through=fd == 2)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    parent = request["ppid"]
    os.getppid = lambda: parent  # the client's parent: the shell git or the page started
    python = os.environ.get("CINCH_TEST_WARM_PYTHON")
    if python:
        sys.executable = python  # hooks `cinch init` writes start warm too
    try:
        if request["mode"] == "hook":
            import runpy

            sys.argv = [str(ROOT / "git_hooks" / "__main__.py"), *request["args"]]
            # Imported by the server for what it imports; run afresh as __main__ (runpy warns
            # of a module it finds imported already).
            sys.modules.pop("git_hooks.__main__", None)
            runpy.run_module("git_hooks", run_name="__main__", alter_sys=True)
        elif request["mode"] == "code":
            source, *rest = request["args"]
            sys.argv = ["-c", *rest]
            exec(compile(source, "<string>", "exec"), {"__name__": "__main__"})
        else:
            from cinch.cli.app import main

            sys.argv = [os.environ.get("CINCH_TEST_WARM_CINCH", "cinch"), *request["args"]]
            main()
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except KeyboardInterrupt:
        sys.excepthook(*sys.exc_info())
        code = -signal.SIGINT
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    _shut_down(code)


def _exit_code(value: object) -> int:
    """What the interpreter exits with for ``sys.exit(value)``."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    sys.stderr.write(f"{value}\n")
    return 1


def _shut_down(code: int) -> None:
    """The interpreter's shutdown as a command sees it (non-daemon threads joined, atexit
    handlers run, output flushed; a KeyboardInterrupt ends the process by SIGINT), without
    tearing down the modules it shares with the server: that touched every page the fork
    shares and cost more than the command itself."""
    import atexit
    import signal

    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()
    if code == -signal.SIGINT:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(code)


def serve(path: str) -> None:
    """Accept requests on the unix socket ``path`` until stdin closes (the test ended)."""
    import json
    import select
    import signal

    _prepare()
    # The children share what is imported here; frozen, a child's collections skip it (and
    # leave its pages unwritten: a written page is copied).
    import gc

    gc.collect()
    gc.freeze()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    waiting: dict[int, socket.socket] = {}
    watched: dict[socket.socket, int] = {}  # clients still alive, by their child's pid
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        ready, _, _ = select.select([listener, wake_r, sys.stdin, *watched], [], [])
        if sys.stdin in ready and not sys.stdin.read(1):
            break
        if wake_r in ready:
            os.read(wake_r, 4096)
        for conn in [c for c in ready if c in watched]:
            # A client only reads: readable means it died (killed with SIGKILL, which it
            # cannot pass on), so its process dies the same way.
            try:
                alive = bool(conn.recv(1))
            except OSError:
                alive = False
            if not alive:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(watched.pop(conn), signal.SIGKILL)
        while waiting:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            conn = waiting.pop(pid, None)
            if conn is not None:
                watched.pop(conn, None)
                sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
                answer = f"signal {sig}" if sig else f"exit {os.waitstatus_to_exitcode(status)}"
                with contextlib.suppress(OSError):
                    conn.sendall(answer.encode())
                conn.close()
        if listener in ready:
            conn, _ = listener.accept()
            head, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
            size = int.from_bytes(head[:8], "big")
            data = head[8:]
            while len(data) < size:
                data += conn.recv(size - len(data))
            request = json.loads(data)
            pid = os.fork()
            if pid == 0:
                listener.close()
                conn.close()
                for other in waiting.values():
                    other.close()
                os.close(wake_r)
                os.close(wake_w)
                _run_child(request, fds)
                return  # not reached: the child exits through sys.exit
            for fd in fds:
                os.close(fd)
            with contextlib.suppress(OSError):
                conn.sendall(f"pid {pid}\n".encode())
            waiting[pid] = conn
            watched[conn] = pid
    # The session ended: commands still running finish (their clients wait for them); a
    # server a test left running is stopped.
    deadline = time.monotonic() + 20
    while waiting:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            if time.monotonic() > deadline:
                for left in waiting:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(left, signal.SIGKILL)
            time.sleep(0.05)
            continue
        conn = waiting.pop(pid, None)
        if conn is not None:
            conn.close()


class WarmServer:
    """The server process and the commands that reach it: ``bin/cinch``, ``bin/python`` (which
    sends ``-m git_hooks ...`` and ``-m cinch.cli.app ...`` to the server and runs anything else
    with the real interpreter, as the same process: ``exec``) and ``bin/python-c CODE ARGS``
    (``python -c``, forked warm)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.bin = folder / "bin"
        self.bin.mkdir(exist_ok=True)
        self.socket = str(folder / "warm.sock")
        client = folder / "client.py"
        client.write_text(CLIENT)
        real = sys.executable
        self.cinch = self.bin / "cinch"
        self.python = self.bin / "python"
        self._script(self.cinch, f'exec "{real}" -S -E "{client}" cinch "$@"\n')
        self.python_c = self.bin / "python-c"
        self._script(self.python_c, f'exec "{real}" -S -E "{client}" code "$@"\n')
        self._script(self.python,
                     'if [ "$1" = -m ] && [ "$2" = git_hooks ]; then\n'
                     f'  shift 2; exec "{real}" -S -E "{client}" hook "$@"\n'
                     'fi\n'
                     'if [ "$1" = -m ] && [ "$2" = cinch.cli.app ]; then\n'
                     f'  shift 2; exec "{real}" -S -E "{client}" cinch "$@"\n'
                     f'fi\nexec "{real}" "$@"\n')
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [real, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                         f"from tests.warm import serve; serve({self.socket!r})"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=ROOT)
        line = self.process.stdout.readline()  # type: ignore[union-attr]
        if line.strip() != b"ready":
            raise AssertionError("the warm cinch server did not start")

    def _script(self, path: Path, body: str) -> None:
        real_cinch = Path(sys.executable).parent / "cinch"
        path.write_text("#!/bin/sh\n" + f'export {SOCKET_ENV}="{self.socket}"\n'
                        f'export CINCH_TEST_WARM_PYTHON="{self.python}"\n'
                        f'export CINCH_TEST_WARM_CINCH="{real_cinch}"\n' + body)
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)

    def close(self) -> None:
        self.process.stdin.close()  # type: ignore[union-attr]
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()  # type: ignore[union-attr]

