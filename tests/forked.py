"""``python -m testrepo ARGS`` as a forked child of the test process.

A CLI process the tests start spends most of its CPU starting an
interpreter and importing testrepo, cliff and (for SQL URLs) SQLAlchemy,
which the test process has done already; about 250 such processes in a
pass of the suite.  :func:`run_forked` forks the test process instead and
makes the child what ``python -m testrepo`` would be: the project as the
working directory, the hermetic environment, fresh signal dispositions,
its own stdin/stdout/stderr on pipes (stdout block-buffered, stderr
line-buffered, as Python makes them for pipes), no exit handlers but its
own, then :func:`testrepo.cli.app.main`.  It is a real process: it is the
calling process's child, signals, the pool's subreaper and ``--pdb``'s
import happen in it, and it ends with the exit status the interpreter
would give.

What a fork cannot be is a fresh interpreter: the child has every module
the test process imported.  Tests of what a command imports start their
own interpreter (``subprocess.run([sys.executable, ...])``); setting
``TESTREPO_TEST_EXEC=1`` makes every CLI run here a fresh interpreter
again.  A test process with other threads running (a lock one of them
holds would stay held in the child) gets a fresh interpreter too.
"""

from __future__ import annotations

import atexit
import functools
import gc
import importlib
import io
import logging
import os
import selectors
import signal
import sys
import threading
import traceback

from testrepo.cli import app as cli_app
from tests.harness import _ERRORS, _exit_code, _process_state


def can_fork() -> bool:
    """Whether a CLI run may be a fork of this process."""
    return (hasattr(os, "fork") and os.environ.get("TESTREPO_TEST_EXEC") != "1"
            and threading.active_count() == 1)


# What ``testr run`` imports beyond what the harness has: imported once
# here, not again in every child (about 20 ms of a run's 150 ms of CPU).
_RUN_MODULES = ("testrepo.api.builtin", "testrepo.api.execute", "testrepo.api.modes",
                "testrepo.cli.base", "testrepo.config", "testrepo.execution.direct",
                "testrepo.execution.pool", "testrepo.plan", "testrepo.scheduler.worker_file",
                "testrepo.user_config")


@functools.cache
def _import_run_modules():
    for name in _RUN_MODULES:
        importlib.import_module(name)


def run_forked(project_path, *args, stdin=None, env=None, binary=False):
    """As :func:`tests.fixtures.run_testrepo`, in a forked child."""
    _import_run_modules()
    child_in, parent_in = os.pipe()
    parent_out, child_out = os.pipe()
    parent_err, child_err = os.pipe()
    # A collection in the child would write to (and so copy) every page
    # of the parent's objects; frozen, it looks at the child's own only.
    gc.freeze()
    try:
        pid = os.fork()
    except BaseException:
        gc.unfreeze()
        raise
    if pid == 0:
        os.dup2(child_in, 0)
        os.dup2(child_out, 1)
        os.dup2(child_err, 2)
        for fd in (child_in, child_out, child_err, parent_in, parent_out, parent_err):
            os.close(fd)
        _child(project_path, args, env)  # never returns
    gc.unfreeze()
    for fd in (child_in, child_out, child_err):
        os.close(fd)
    try:
        stdout, stderr = _communicate(parent_in, parent_out, parent_err, stdin or b"")
        _, status = os.waitpid(pid, 0)
    except BaseException:  # as subprocess.run: no process left behind
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    code = os.waitstatus_to_exitcode(status)
    return (code, stdout if binary else stdout.decode("utf-8", "replace"),
            stderr.decode("utf-8", "replace"))


def _communicate(stdin_fd, stdout_fd, stderr_fd, data: bytes):
    """Write ``data`` to the child's stdin and read its output to the end
    of both pipes (which the run's own children may hold open too)."""
    chunks = {stdout_fd: [], stderr_fd: []}
    with selectors.DefaultSelector() as selector:
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        if data:
            os.set_blocking(stdin_fd, False)
            selector.register(stdin_fd, selectors.EVENT_WRITE)
        else:
            os.close(stdin_fd)
        view = memoryview(data)
        while selector.get_map():
            for key, _ in selector.select():
                fd = key.fd
                if fd == stdin_fd:
                    try:
                        view = view[os.write(fd, view[:65536]):]
                    except BrokenPipeError:
                        view = view[:0]
                    if not view:
                        selector.unregister(fd)
                        os.close(fd)
                    continue
                chunk = os.read(fd, 65536)
                if chunk:
                    chunks[fd].append(chunk)
                else:
                    selector.unregister(fd)
                    os.close(fd)
    return b"".join(chunks[stdout_fd]), b"".join(chunks[stderr_fd])


def _child(project_path, args, env):
    """Be ``python -m testrepo ARGS`` and exit with its status."""
    code = 1
    try:
        _fresh_signals()
        atexit._clear()  # the test process's handlers are not this process's
        with _process_state(project_path, args, None, env):
            _fd_streams()
            code = _main(args)
            _finish()
    except BaseException:  # noqa: BLE001 - nothing may return into the test process
        try:
            traceback.print_exc()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
    finally:
        os._exit(code)


def _fresh_signals():
    """The dispositions a new interpreter starts with."""
    for signum in signal.valid_signals():
        if signum in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(signum, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    signal.set_wakeup_fd(-1)
    import faulthandler
    faulthandler.disable()


def _fd_streams():
    """sys.std* on file descriptors 0-2, buffered as Python buffers pipes."""
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(
        io.open(0, "rb", closefd=False), encoding="utf-8", errors=_ERRORS)
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(
        io.open(1, "wb", buffering=0 if unbuffered else -1, closefd=False),
        encoding="utf-8", errors=_ERRORS, write_through=unbuffered)
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(
        io.open(2, "wb", buffering=0 if unbuffered else -1, closefd=False),
        encoding="utf-8", errors="backslashreplace", line_buffering=True,
        write_through=unbuffered)


def _main(args) -> int:
    """``testrepo.__main__``, and the status the interpreter would exit with."""
    try:
        return _exit_code(cli_app.main(list(args)))
    except SystemExit as exit_:
        return _exit_code(exit_.code)
    except Exception:  # noqa: BLE001 - what the interpreter would print
        traceback.print_exc()
        return 1
    except KeyboardInterrupt:
        # An interpreter ends on an unhandled KeyboardInterrupt by
        # killing itself with SIGINT, after the traceback.
        traceback.print_exc()
        _finish()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        raise


def _finish():
    """An interpreter's exit: join threads, exit handlers, flush."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
