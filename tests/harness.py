"""The ``testr`` command line run in the test process.

:func:`run_cli` is :func:`tests.fixtures.run_testrepo` without the
process: it calls :func:`testrepo.cli.app.main` here, with what the
process would have had (the project as the working directory, the
hermetic environment of :func:`tests.fixtures.testrepo_env`, ``sys.argv``
as ``python -m testrepo`` sets it, stdin from ``stdin`` or empty,
stdout and stderr captured as text with a ``.buffer``, logging as a fresh
interpreter has it), and returns ``(exit code, stdout, stderr)`` as
``run_testrepo`` does.  Everything ``main`` may change is put back
afterwards: the SIGTERM handler it installs, the locale cliff sets, the
working directory, the environment, ``sys.argv``, the standard streams,
the root logger's handlers and level, the warning filters.

It is for tests of what a command prints and the code it exits with.
Tests of signals, crashes, process isolation and real runners start a
process (``run_testrepo``, a fork of this one: :mod:`tests.forked`).  So does every ``testr run`` that gets as far
as running tests: the built-in runner's pool makes the calling process a
child subreaper for the run and kills the orphans it adopted
(``testrepo/execution/reaper.py``), and ``--pdb`` imports and runs the
tests in the calling process; in the test process both would touch the
test process's own children and modules.  ``run_cli`` may run ``testr
run`` only to a usage, configuration or listing error: if the run reaches
the pool or ``--pdb``'s import, the test fails (:class:`ProcessNeeded`)
instead.
"""

from __future__ import annotations

import contextlib
import io
import locale
import logging
import os
import signal
import sys
import traceback
import warnings

import cliff.app

import testrepo.__main__
from testrepo.cli import app as cli_app
from tests.fixtures import run_testrepo, testrepo_env

# What `python -m testrepo` puts in sys.argv[0] (argparse's prog comes from it).
_ARGV0 = os.path.abspath(testrepo.__main__.__file__)
# cliff names the program (--version, help) by sys.argv[0] when it is first
# imported: in `python -m testrepo` that is the package directory's name.
_CLIFF_NAME = os.path.basename(os.path.dirname(_ARGV0))
# Python's own output streams outside the UTF-8 mode are strict.
_ERRORS = "surrogateescape" if sys.flags.utf8_mode else "strict"
# The warning filters of a fresh interpreter without -W or PYTHONWARNINGS.
_DEFAULT_FILTERS = (("default", DeprecationWarning, "__main__"),
                    ("ignore", DeprecationWarning, None),
                    ("ignore", PendingDeprecationWarning, None),
                    ("ignore", ImportWarning, None),
                    ("ignore", ResourceWarning, None))
class ProcessNeeded(AssertionError):
    """``testr run`` got as far as running tests in ``run_cli``."""


class _Refused(BaseException):
    """Raised where the run would start tests: a BaseException, so that the
    command's own error handling (exit 70 for any Exception) lets it
    through to ``run_cli``, which raises ProcessNeeded."""


def _refuse(*args, **kwargs):
    raise _Refused()


# The global options that take a value (testrepo's and cliff's).
_VALUE_OPTIONS = {"-d", "--here", "-c", "--config", "-r", "--repo-url", "--repository",
                  "--user-config", "--log-file"}


def _text_stream(data=b""):
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors=_ERRORS,
                            write_through=True)


def _exit_code(code) -> int:
    """The status a process ending with ``sys.exit(code)`` would have."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    sys.stderr.write(f"{code}\n")
    return 1


@contextlib.contextmanager
def _process_state(project_path, args, stdin, env):
    """The process-wide state a CLI process starts with, restored after."""
    saved_environ = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_argv = sys.argv
    saved_streams = (sys.stdin, sys.stdout, sys.stderr,
                     sys.__stdin__, sys.__stdout__, sys.__stderr__)
    saved_sigterm = signal.getsignal(signal.SIGTERM)
    saved_locale = locale.setlocale(locale.LC_ALL)
    saved_cliff = cliff.app.App.NAME, cliff.app.App.LOG
    root = logging.getLogger()
    saved_logging = (root.handlers[:], root.level)
    out, err = _text_stream(), _text_stream()
    try:
        with warnings.catch_warnings():
            warnings.resetwarnings()
            for action, category, module in reversed(_DEFAULT_FILTERS):
                warnings.filterwarnings(action, category=category, module=module or "")
            environment = testrepo_env(env)  # made from os.environ: before clearing it
            os.environ.clear()
            os.environ.update(environment)
            os.chdir(project_path)
            sys.argv = [_ARGV0, *args]
            cliff.app.App.NAME = _CLIFF_NAME
            cliff.app.App.LOG = logging.getLogger(_CLIFF_NAME)
            sys.stdin = sys.__stdin__ = _text_stream(stdin or b"")
            sys.stdout = sys.__stdout__ = out
            sys.stderr = sys.__stderr__ = err
            root.handlers[:] = []
            root.setLevel(logging.WARNING)
            yield out, err
    finally:
        (sys.stdin, sys.stdout, sys.stderr,
         sys.__stdin__, sys.__stdout__, sys.__stderr__) = saved_streams
        sys.argv = saved_argv
        cliff.app.App.NAME, cliff.app.App.LOG = saved_cliff
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
        signal.signal(signal.SIGTERM, saved_sigterm)
        locale.setlocale(locale.LC_ALL, saved_locale)
        for handler in root.handlers:
            if handler not in saved_logging[0]:
                handler.close()
        root.handlers[:] = saved_logging[0]
        root.setLevel(saved_logging[1])


def _is_run(argv) -> bool:
    """Does ``argv`` name ``testr run`` (or a prefix cliff may take for it)?"""
    words = iter(argv)
    for word in words:
        if word in _VALUE_OPTIONS:
            next(words, None)
        elif not word.startswith("-"):
            return "run".startswith(word)
    return False


@contextlib.contextmanager
def _no_test_running(args):
    """For ``testr run``: the pool's start and ``--pdb``'s import refused."""
    if not _is_run(cli_app.split_test_args(list(args))[0]):
        yield
        return
    from testrepo.execution import direct, pool

    saved = pool.WorkerPool.start, direct.in_project
    pool.WorkerPool.start = direct.in_project = _refuse
    try:
        yield
    finally:
        pool.WorkerPool.start, direct.in_project = saved


def run_cli(project_path, *args, stdin=None, env=None, binary=False):
    """``testr ARGS`` in ``project_path``, in this process.

    Returns ``(exit_code, stdout, stderr)`` as text (stdout as bytes when
    ``binary``), as :func:`tests.fixtures.run_testrepo` does.
    """
    refused = False
    with _process_state(project_path, args, stdin, env) as (out, err), \
            _no_test_running(args):
        try:
            code = _exit_code(cli_app.main(list(args)))
        except _Refused:
            refused = True
        except SystemExit as exit_:
            code = _exit_code(exit_.code)
        except KeyboardInterrupt:
            code = 128 + signal.SIGINT
        except Exception:  # noqa: BLE001 - what the interpreter would print
            traceback.print_exc()
            code = 1
        out.flush()
        err.flush()
        stdout = out.buffer.getvalue()
        stderr = err.buffer.getvalue()
    if refused:
        raise ProcessNeeded(f"testr {' '.join(args)}: this run runs tests: run it in a "
                            "process (tests.fixtures.run_testrepo), not with run_cli")
    stdout = stdout if binary else stdout.decode("utf-8", "replace")
    return code, stdout, stderr.decode("utf-8", "replace")


def testr(project_path, *args, **kwargs):
    """``testr ARGS`` as a test of its output needs it: ``testr run`` in a
    process (:func:`tests.fixtures.run_testrepo`), any other command in this
    process (:func:`run_cli`).  Same arguments and answer as both."""
    if _is_run(cli_app.split_test_args(list(args))[0]):
        return run_testrepo(project_path, *args, **kwargs)
    return run_cli(project_path, *args, **kwargs)
