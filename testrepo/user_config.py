"""Per-command defaults from the user's YAML file (stestr's user config).

The file is ``--user-config FILE``, else the first of
``$XDG_CONFIG_HOME/testr.yaml`` (``~/.config/testr.yaml``) and
``~/.testr.yaml``::

    run:
      concurrency: 4
      color: true
      random: true
    failing:
      list: true
    history-list:
      show-metadata: true

Each section is a command, named as typed with dashes for spaces
(``history-list`` is ``testr history list``). Its keys are that command's
long options without the leading dashes, and each value has the option's
type: ``true``/``false`` for a flag, a number for ``--concurrency``, a list
of strings for a repeatable option such as ``--exclude-regex``. The schema
is derived from the commands' own parsers (:func:`options_of`), so every
command and flag is configurable and nothing else is. The values act as
defaults: a flag given on the command line wins.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import os
from typing import Any, Callable, Dict, Mapping, Optional


from testrepo import errors
from testrepo.config_files import BadDocument, BadValue, check

# Searched in this order when --user-config is not given.
FILE_NAME = "testr.yaml"
HOME_FILE_NAME = ".testr.yaml"


@dataclasses.dataclass(frozen=True)
class Option:
    """One configurable option: its YAML key, argparse ``dest``, the
    validator for YAML values and how a valid value becomes the ``dest``
    value (a ``--no-color: true`` sets ``color`` to False)."""

    key: str
    dest: str
    validator: Callable[[Any], Any]
    to_dest: Callable[[Any], Any] = lambda value: value


def section_name(command_name: str) -> str:
    """The section of ``command_name`` (``history list`` → ``history-list``)."""
    return "-".join(command_name.split())


def find(explicit: Optional[str], environ: Mapping[str, str]) -> Optional[str]:
    """The user config file to read, or None if there is none.

    An explicit path (``--user-config``) must exist.
    """
    if explicit is not None:
        path = os.path.expanduser(explicit)
        if not os.path.isfile(path):
            problem = "is a directory" if os.path.isdir(path) else "no such file"
            raise errors.ConfigError(
                f"{explicit}: {problem} (given with --user-config); "
                "give an existing YAML file")
        return path
    home = environ.get("HOME") or os.path.expanduser("~")
    config_home = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    for path in (os.path.join(config_home, FILE_NAME), os.path.join(home, HOME_FILE_NAME)):
        if os.path.isfile(path):
            return path
    return None


def read(path: str) -> Dict[str, Any]:
    """The file's top-level mapping ({} for an empty file)."""
    # Imported here: most runs have no user config, and PyYAML costs ~20 ms.
    import yaml

    try:
        with open(path, encoding="utf-8") as stream:
            document = yaml.safe_load(stream)
    except OSError as err:
        raise errors.ConfigError(f"{path}: cannot read: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise errors.ConfigError(f"{path}: not UTF-8 text (byte {err.start})") from err
    except yaml.YAMLError as err:
        raise errors.ConfigError(f"{path}: invalid YAML: {_describe_yaml_error(err)}") from err
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise errors.ConfigError(
            f"{path}: expected command names mapped to their options "
            f"(e.g. 'run: {{concurrency: 4}}'), got {_show(document)}")
    return document


def _describe_yaml_error(err) -> str:
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    if mark is None:
        return problem
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def options_of(parser: argparse.ArgumentParser) -> Dict[str, Option]:
    """The configurable options of a command's parser, by YAML key.

    Every optional argument with a long name whose action stores a value
    (flags, typed values, choices, repeatable values) is configurable;
    positional arguments, ``--help`` and custom actions are not.
    """
    options = {}
    # argparse has no public way to list a parser's arguments.
    for action in parser._actions:  # noqa: SLF001
        long_names = [name for name in action.option_strings if name.startswith("--")]
        option = _option_for(action, long_names[0][2:]) if long_names else None
        if option is not None:
            options[option.key] = option
    return options


def _option_for(action, key) -> Optional[Option]:
    dest = action.dest
    if isinstance(action, argparse._StoreTrueAction):
        return Option(key, dest, _boolean)
    if isinstance(action, argparse._StoreFalseAction):
        return Option(key, dest, _boolean, lambda value: not value)
    if isinstance(action, argparse.BooleanOptionalAction):
        return Option(key, dest, _boolean)
    if isinstance(action, argparse._AppendAction):
        return Option(key, dest, _list_of(_scalar(action)))
    if type(action) is argparse._StoreAction:
        if action.nargs in ("*", "+") or isinstance(action.nargs, int):
            return Option(key, dest, _list_of(_scalar(action)))
        return Option(key, dest, _scalar(action))
    return None


def _scalar(action):
    if action.choices is not None:
        return _one_of(list(action.choices))
    if action.type is int:
        return _integer
    if action.type is float:
        return _number
    return _string


def load(path: str, commands: Mapping[str, Mapping[str, Option]]) -> Dict[str, Dict[str, Any]]:
    """Read and validate ``path`` against ``commands`` ({section: options}).

    Returns {section: {dest: value}}, values converted for argparse. Any
    problem is one ConfigError line naming the file, the key path
    (``run.concurrency``) and what is wrong.
    """
    # An empty section ("run:" alone) is YAML null: no options.
    document = {section: {} if values is None else values
                for section, values in read(path).items()}
    validators = {section: {key: option.validator for key, option in options.items()}
                  for section, options in commands.items()}
    try:
        valid = check(document, validators)
    except BadDocument as err:
        raise _config_error(path, err, commands, document) from err
    return {section: {commands[section][key].dest: commands[section][key].to_dest(value)
                      for key, value in values.items()}
            for section, values in valid.items()}


def _config_error(path, error: BadDocument, commands, document) -> errors.ConfigError:
    keys = list(error.path)
    where = ".".join(keys)
    if len(keys) == 1 and keys[0] not in commands:
        problem = _unknown(keys[0], commands, "command")
    elif len(keys) == 1:
        problem = ("expected a mapping of option names to values, "
                   f"got {_show(document[keys[0]])}")
    elif len(keys) == 2 and keys[1] not in commands[keys[0]]:
        problem = _unknown(keys[1], commands[keys[0]], "option")
    else:
        problem = error.message
    return errors.ConfigError(f"{path}: {where}: {problem}")


def _unknown(key, known, what) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    if close:
        return f"unknown {what} (did you mean {close[0]}?)"
    return f"unknown {what} (known: {', '.join(sorted(known))})"


def parse_with_defaults(parser: argparse.ArgumentParser, argv, defaults: Mapping[str, Any]):
    """Parse ``argv`` with ``defaults`` ({dest: value}) in place of the
    parser's own defaults; options given in ``argv`` win, also over a
    configured option in the same mutually exclusive group (a configured
    ``serial: true`` gives way to ``--parallel``)."""
    parsed = parser.parse_args(list(argv), argparse.Namespace(**defaults))
    for group in parser._mutually_exclusive_groups:  # noqa: SLF001
        actions = group._group_actions  # noqa: SLF001
        given = {action.dest for action in actions
                 if getattr(parsed, action.dest) != defaults.get(action.dest, action.default)}
        if given:
            for action in actions:
                if action.dest in defaults and action.dest not in given:
                    setattr(parsed, action.dest, action.default)
    return parsed


# -- value validators -------------------------------------------------------

def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _boolean(value):
    if not isinstance(value, bool):
        raise BadValue(f"expected true or false, got {_show(value)}")
    return value


def _integer(value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue(f"expected an integer, got {_show(value)}")
    return value


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadValue(f"expected a number, got {_show(value)}")
    return float(value)


def _string(value):
    if not isinstance(value, str):
        raise BadValue(f"expected a string, got {_show(value)}")
    return value


def _one_of(choices):
    def validate(value):
        if value not in choices:
            raise BadValue(
                f"expected one of {', '.join(map(str, choices))}, got {_show(value)}")
        return value
    return validate


def _list_of(item):
    def validate(value):
        if not isinstance(value, list):
            raise BadValue(f"expected a list, got {_show(value)}")
        checked = []
        for index, element in enumerate(value, 1):
            try:
                checked.append(item(element))
            except BadValue as err:
                raise BadValue(f"item {index}: {err}") from err
        return checked
    return validate
