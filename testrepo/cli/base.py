"""Command base classes: the one place where errors become exit codes."""

from __future__ import annotations

import logging
import os
import traceback

from cliff.command import Command
from cliff.lister import Lister

from testrepo import errors, user_config

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


def with_user_defaults(command, parsed_args):
    """``parsed_args`` re-parsed with the user config's section for this
    command as defaults (see testrepo.user_config); the one place where the
    user config is merged. The whole file is validated, whatever command
    runs."""
    app = command.app
    path = user_config.find(app.options.user_config, os.environ)
    argv = getattr(app, "command_argv", None)  # None: not run through the app
    if path is None or argv is None:
        return parsed_args
    commands, class_sections = _configurable_commands(app)
    sections = user_config.load(path, commands)
    # cliff also accepts abbreviations (`testr hist li`): go by the class then.
    typed = user_config.section_name(command.cmd_name)
    candidates = [typed] if typed in commands else class_sections.get(type(command), [])
    defaults = sections.get(candidates[0]) if len(candidates) == 1 else None
    if not defaults:
        return parsed_args
    _, name, sub_argv = app.command_manager.find_command(argv)
    return user_config.parse_with_defaults(command.get_parser(name), sub_argv, defaults)


def _configurable_commands(app):
    """({section: options}, {command class: [its sections]}) for every
    testrepo command (cliff's own help and complete are not configurable)."""
    commands, class_sections = {}, {}
    for name, entry_point in sorted(app.command_manager):
        factory = entry_point.load()
        if issubclass(factory, (TestrepoCommand, TestrepoLister)):
            parser = factory(app, app.options, cmd_name=name).get_parser(name)
            section = user_config.section_name(name)
            commands[section] = user_config.options_of(parser)
            class_sections.setdefault(factory, []).append(section)
    return commands, class_sections


class TestrepoCommand(Command):
    __test__ = False

    def run(self, parsed_args):
        return report_errors(self, self._run_with_user_defaults, parsed_args)

    def _run_with_user_defaults(self, parsed_args):
        return super().run(with_user_defaults(self, parsed_args))


class TestrepoLister(Lister):
    __test__ = False

    def run(self, parsed_args):
        return report_errors(self, self._run_with_user_defaults, parsed_args)

    def _run_with_user_defaults(self, parsed_args):
        return super().run(with_user_defaults(self, parsed_args))
