"""Command base classes: the one place where errors become exit codes."""

from __future__ import annotations

import logging
import traceback

from cliff.command import Command
from cliff.lister import Lister

from testrepo import errors

LOG = logging.getLogger(__name__)


def report_errors(command, run, parsed_args) -> int:
    """Run a command; turn a TestrepoError into ``testr: message`` and its
    exit code, Ctrl-C into 130, and anything else (a bug) into 70."""
    stderr = command.app.stderr
    try:
        return run(parsed_args) or 0
    except errors.TestrepoError as err:
        stderr.write(f"testr: {err.message}\n")
        if err.detail:
            stderr.write(err.detail.rstrip("\n") + "\n")
        return err.exit_code
    except BrokenPipeError:
        # The reader went away (`testr list | head`): nothing left to say.
        _silence_stdout()
        return errors.EXIT_SUCCESS
    except KeyboardInterrupt:
        stderr.write("testr: interrupted\n")
        return errors.EXIT_INTERRUPTED
    except Exception as err:  # noqa: BLE001 - the last line of defence
        if command.app.options.debug:
            traceback.print_exc(file=stderr)
        stderr.write(f"testr: internal error: {type(err).__name__}: {err} "
                     "(rerun with --debug for a traceback and please report it)\n")
        return errors.EXIT_INTERNAL


def _silence_stdout():
    import os
    import sys

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


class TestrepoCommand(Command):
    __test__ = False

    def run(self, parsed_args):
        return report_errors(self, super().run, parsed_args)


class TestrepoLister(Lister):
    __test__ = False

    def run(self, parsed_args):
        return report_errors(self, super().run, parsed_args)
