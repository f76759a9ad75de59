"""Command base classes: the one place where errors become exit codes."""

from __future__ import annotations

import logging
import os
import sys
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


def epilog(command) -> str:
    """cliff's epilog for ``command`` (its own text, then its hooks'),
    without the line naming the plugin that provides it: to write that line
    cliff reads the metadata of every installed distribution, tens of
    milliseconds of every command, and testrepo's commands are testrepo's."""
    parts = [command._epilog or ""]
    for hook in command._hooks:
        text = hook.obj.get_epilog() if hook.obj is not None else None
        if text is not None:
            parts.append(text)
    return "\n\n".join(parts)


class _TestrepoBehaviour:
    """What every testrepo command adds to cliff's Command or Lister (it
    comes first in their bases): errors become exit codes, the user
    config's defaults apply, and the quick epilog."""

    __test__ = False

    def run(self, parsed_args):
        return report_errors(self, self._run_with_user_defaults, parsed_args)

    def _run_with_user_defaults(self, parsed_args):
        return super().run(with_user_defaults(self, parsed_args))

    def get_epilog(self):
        return epilog(self)


class TestrepoCommand(_TestrepoBehaviour, Command):
    __test__ = False


class TestrepoLister(_TestrepoBehaviour, Lister):
    __test__ = False

    def produce_output(self, parsed_args, column_names, data):
        # Here, not at the top: `testr run` and `last` need no prettytable.
        from cliff.formatters.table import TableFormatter

        formatter = self.formatter
        if isinstance(formatter, TableFormatter) and not _fits_width(parsed_args):
            self.formatter = _PlainTable(formatter)
        try:
            return super().produce_output(parsed_args, column_names, data)
        finally:
            self.formatter = formatter


def _fits_width(parsed_args) -> bool:
    """Would cliff's table formatter fit the table to a width?"""
    return (int(parsed_args.max_width) > 0 or parsed_args.fit_width
            or sys.stdout.isatty())


class _PlainTable:
    """cliff's table output, character for character, for tables of
    one-line ASCII text and numbers that are not fitted to a terminal
    (``testr history list > file``): prettytable measures every character's
    display width, which took longer than the rest of ``history list`` on
    1,000 runs.  Anything else goes to cliff's formatter."""

    _ALIGN = {int: str.rjust, float: str.rjust}

    def __init__(self, formatter):
        self._formatter = formatter

    def emit_list(self, column_names, data, stdout, parsed_args):
        data = [tuple(row) for row in data]
        rows = [[_plain_cell(value) for value in row] for row in data]
        if not rows or any(None in row for row in rows):
            self._formatter.emit_list(column_names, data, stdout, parsed_args)
            return
        # cliff aligns each column, header included, by the type of its
        # first value.
        align = [self._ALIGN.get(type(value), str.ljust) for value in data[0]]
        widths = [max(len(name), *(len(row[index]) for row in rows))
                  for index, name in enumerate(column_names)]
        rule = "+" + "+".join("-" * (width + 2) for width in widths) + "+"
        lines = [rule, _table_line(column_names, align, widths), rule]
        lines.extend(_table_line(row, align, widths) for row in rows)
        lines.append(rule)
        stdout.write("\n".join(lines) + "\n")


def _plain_cell(value):
    """The cell's text if the fast table can show it, else None."""
    if type(value) in (int, float):
        return str(value)
    if type(value) is str and value.isascii() and value.isprintable():
        return value
    return None


def _table_line(cells, align, widths) -> str:
    return "| " + " | ".join(justify(text, width)
                             for justify, text, width in zip(align, cells, widths)) + " |"
