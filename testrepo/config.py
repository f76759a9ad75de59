"""Project configuration: ``.testr.conf`` and friends → :class:`Config`.

With ``testrepo.config_files`` (which finds and reads the files) the only
module that reads configuration files; this one validates their values.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
import re
from typing import Any, Dict, FrozenSet, Mapping, Optional

from testrepo import config_files
from testrepo.config_files import BadValue


@dataclasses.dataclass(frozen=True)
class Config:
    """A validated project configuration.

    ``source`` names the file the values came from (for messages); it is
    ``None`` for zero-config mode.  ``test_command`` set means command mode
    (testr); otherwise the built-in runner discovers unittest tests under
    ``test_path`` (stestr), which zero-config mode fills in, or with
    ``runner`` ``"pytest"`` runs pytest sessions as workers.
    """

    source: Optional[str] = None
    test_command: Optional[str] = None
    test_id_option: Optional[str] = None
    test_list_option: Optional[str] = None
    test_id_list_default: Optional[str] = None
    test_run_concurrency: Optional[str] = None
    group_regex: Optional[re.Pattern] = None
    filter_tags: FrozenSet[str] = frozenset()
    test_path: Optional[str] = None
    top_dir: Optional[str] = None
    parallel_class: bool = False
    test_timeout: Optional[float] = None
    instance_provision: Optional[str] = None
    instance_execute: Optional[str] = None
    instance_dispose: Optional[str] = None
    repo_url: Optional[str] = None
    # The built-in runner's: "unittest" or "pytest"; None (not set) is
    # unittest once load() has looked for a pytest project.
    runner: Optional[str] = None

    @property
    def command_mode(self) -> bool:
        return self.test_command is not None

    @property
    def takes_test_args(self) -> bool:
        """Whether arguments after ``--`` have somewhere to go."""
        return self.command_mode or self.runner == "pytest"


# The option names a configuration file may set, in documentation order.
OPTION_NAMES = (
    "test_command",
    "test_id_option",
    "test_list_option",
    "test_id_list_default",
    "test_run_concurrency",
    "group_regex",
    "filter_tags",
    "test_path",
    "top_dir",
    "parallel_class",
    "test_timeout",
    "instance_provision",
    "instance_execute",
    "instance_dispose",
    "repo_url",
    "runner",
)

RUNNERS = ("unittest", "pytest")

_TRUE_WORDS = frozenset({"true", "yes", "1", "on"})
_FALSE_WORDS = frozenset({"false", "no", "0", "off"})
_VARIABLE_START = re.compile(r"\$(?:(\{)|([A-Za-z_][A-Za-z0-9_]*))")
_BRACED_VARIABLE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)(.*))?", re.DOTALL)


def load(directory: str, explicit_path: Optional[str] = None) -> Config:
    """Find, read and validate the project configuration for ``directory``.

    ``explicit_path`` (``--config``) wins; otherwise the first of
    ``.testr.conf``, ``pyproject.toml [tool.testr]``, ``tox.ini [testr]``,
    ``setup.cfg [testr]``, ``.stestr.conf``, ``pyproject.toml
    [tool.stestr]`` and ``tox.ini [stestr]`` is used.  With none of them the
    built-in runner discovers tests (zero-config).  Any problem with the
    file is raised as a one-line :class:`errors.ConfigError`.
    """
    if explicit_path is not None:
        found = config_files.read_explicit(directory, explicit_path)
    else:
        found = config_files.search(directory)
    if found is None:
        return _builtin_defaults(directory, Config(source=None))
    values = _validate(found, os.environ)
    _check_combinations(found, values)
    _check_pytest(found, values)
    _check_instances(found, values)
    config = Config(source=found.source, **values)
    if "test_command" in values:
        return config
    return _builtin_defaults(directory, config)


def _builtin_defaults(directory: str, config: Config) -> Config:
    """The built-in runner's defaults: a pytest project (see
    :mod:`testrepo.pytest_project`) gets the pytest runner unless the file
    names a runner or a ``test_path``; unittest discovers from ``tests/``
    if it exists, else ``.``, with ``top_dir`` ``.``."""
    runner = config.runner
    if runner is None and config.test_path is None:
        from testrepo import pytest_project

        if pytest_project.detect(directory) is not None:
            runner = "pytest"
    if runner == "pytest":
        return dataclasses.replace(config, runner=runner)
    return dataclasses.replace(config, test_path=config.test_path or _default_test_path(directory),
                               top_dir=config.top_dir or ".")


def repository_url(directory: str, explicit_path: Optional[str] = None) -> Optional[str]:
    """The project configuration's ``repo_url``, variables expanded, or None.

    Only that option is read and checked: commands that just read the
    repository (``last``, ``failing``) need no more of the file, and stay
    as fast as without a configuration file.
    """
    if explicit_path is not None:
        found = config_files.read_explicit(directory, explicit_path)
    else:
        found = config_files.search(directory)
    if found is None or "repo_url" not in found.values:
        return None
    try:
        return _repo_url(found.values["repo_url"], os.environ)
    except BadValue as err:
        raise found.error("repo_url", str(err)) from err


def expand_variables(text: str, environ: Mapping[str, str]) -> str:
    """Expand ``$VAR``, ``${VAR}``, ``${VAR:-default}`` and ``${VAR-default}``
    the way a POSIX shell does (unset variables become empty; ``:-`` also
    replaces an empty value; defaults are expanded too).  A ``$`` that does
    not start a variable name is kept.  Raises ValueError for an unterminated
    or malformed ``${...}``.
    """
    pieces = []
    position = 0
    while True:
        match = _VARIABLE_START.search(text, position)
        if match is None:
            pieces.append(text[position:])
            return "".join(pieces)
        pieces.append(text[position : match.start()])
        if match.group(2) is not None:
            pieces.append(environ.get(match.group(2), ""))
            position = match.end()
            continue
        end = _closing_brace(text, match.end())
        pieces.append(_expand_braced(text[match.end() : end], environ))
        position = end + 1


def _closing_brace(text: str, start: int) -> int:
    # Defaults may themselves hold ${...}, so braces have to be balanced.
    depth = 1
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    raise ValueError(f"unterminated '${{' in {text!r}")


def _expand_braced(body: str, environ: Mapping[str, str]) -> str:
    match = _BRACED_VARIABLE.fullmatch(body)
    if match is None:
        raise ValueError(f"bad substitution '${{{body}}}'")
    name, operator, default = match.groups()
    value = environ.get(name)
    if operator is None:
        return value or ""
    if value is None or (operator == ":-" and value == ""):
        return expand_variables(default, environ)
    return value


def _default_test_path(directory: str) -> str:
    return "tests" if os.path.isdir(os.path.join(directory, "tests")) else "."


# -- validation ---------------------------------------------------------------


def _validators(environ: Mapping[str, str]) -> Dict[str, Any]:
    def expand(value):
        return _expanded_path(_string(value), environ)

    validators = {name: _string for name in OPTION_NAMES}
    validators.update(
        test_command=lambda value: _non_empty(_string(value)),
        test_run_concurrency=_concurrency,
        group_regex=_regex,
        filter_tags=_tags,
        test_path=expand,
        top_dir=expand,
        parallel_class=_boolean,
        test_timeout=_seconds,
        runner=_runner,
        repo_url=functools.partial(_repo_url, environ=environ),
    )
    return validators


def _validate(found: config_files.Found, environ: Mapping[str, str]) -> Dict[str, Any]:
    values = dict(found.values)
    if found.stestr_home:
        # stestr ignores keys it does not know (several OpenStack projects
        # ship ``top_path``), so a project that runs under stestr must run
        # here too; testr's own files are checked strictly.
        values = {key: value for key, value in values.items() if key in OPTION_NAMES}
    try:
        return config_files.check(values, _validators(environ))
    except config_files.BadDocument as err:
        # Reported in file order; the first problem is enough.
        key = err.path[0] if err.path else None
        if key is not None and key not in OPTION_NAMES:
            raise found.error(key, _unknown_option(key)) from err
        raise found.error(key, err.message) from err


def _unknown_option(key: str) -> str:
    close = difflib.get_close_matches(key, OPTION_NAMES, n=1)
    if close:
        return f"unknown option (did you mean {close[0]}?)"
    return f"unknown option (known options: {', '.join(OPTION_NAMES)})"


def _check_combinations(found: config_files.Found, values: Mapping[str, Any]) -> None:
    command = values.get("test_command")
    if command is None:
        return
    needs = (
        ("$IDOPTION", "test_id_option", "--load-list $IDFILE"),
        ("$LISTOPT", "test_list_option", "--list"),
    )
    for variable, key, example in needs:
        if variable in command and not values.get(key):
            raise found.error(
                None,
                f"test_command uses {variable} but {key} is not set; "
                f"add e.g. {found.example(key, example)}",
            )
    for key in ("test_path", "top_dir", "runner"):
        if key in values:
            raise found.error(
                key,
                "conflicts with test_command: test_command runs your own test "
                f"command (testr mode), {key} configures the built-in runner's "
                "discovery (stestr mode); remove one of them",
            )


def _check_pytest(found: config_files.Found, values: Mapping[str, Any]) -> None:
    if values.get("runner") == "pytest" and "top_dir" in values:
        raise found.error("top_dir", "is the import root of unittest discovery; pytest finds "
                                     "its rootdir itself (set rootdir in pytest's own "
                                     "configuration if needed): remove top_dir")


def _check_instances(found: config_files.Found, values: Mapping[str, Any]) -> None:
    """The instance_* callouts wrap test_command; provision and execute
    only make sense together."""
    present = [key for key in ("instance_provision", "instance_execute", "instance_dispose")
               if values.get(key)]
    if not present:
        return
    if "test_command" not in values:
        raise found.error(present[0], "needs test_command: instances run the test command "
                                      "(the built-in runner runs tests locally)")
    for key, other, why in (
            ("instance_execute", "instance_provision", "to create the instances it runs in"),
            ("instance_provision", "instance_execute", "to run the test command in them"),
            ("instance_dispose", "instance_provision", "to create the instances it removes")):
        if key in present and other not in present:
            raise found.error(key, f"needs {other} {why}")


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise BadValue(f"expected a string, got {config_files.show(value)}")
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise BadValue("is empty; give a value or remove the option")
    return value


def _expanded_path(value: str, environ: Mapping[str, str]) -> str:
    try:
        expanded = expand_variables(value, environ)
    except ValueError as err:
        raise BadValue(str(err)) from err
    if not expanded.strip():
        raise BadValue(f"{value!r} expands to an empty path")
    return expanded


def _repo_url(value: Any, environ: Mapping[str, str]) -> str:
    # ${VAR} expansion lets a CI fleet share one config file and pass the
    # database address (and secret) through the environment.
    return _expanded_path(_non_empty(_string(value)), environ)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS:
        return True
    if isinstance(value, str) and value.strip().lower() in _FALSE_WORDS:
        return False
    raise BadValue(f"expected a boolean, got {config_files.show(value)}")


def _seconds(value: Any) -> float:
    # A per-test time limit; INI gives text, TOML a number.
    try:
        seconds = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        seconds = None
    if seconds is None or not seconds > 0 or seconds == float("inf"):
        raise BadValue(f"expected a number of seconds > 0, got {config_files.show(value)}")
    return seconds


def _runner(value: Any) -> str:
    runner = _string(value).strip().lower()
    if runner not in RUNNERS:
        raise BadValue(f"expected one of {', '.join(RUNNERS)}, got "
                       f"{config_files.show(value)}")
    return runner


def _regex(value: Any) -> Optional[re.Pattern]:
    pattern = _string(value)
    if not pattern:
        # re.compile("") would match every id and put all tests in one group.
        return None
    try:
        return re.compile(pattern)
    except re.error as err:
        raise BadValue(f"invalid regular expression {pattern!r}: {err}") from err


def _tags(value: Any) -> FrozenSet[str]:
    # TOML users naturally write a list; INI users a space-separated string.
    if isinstance(value, list) and all(isinstance(tag, str) for tag in value):
        return frozenset(tag for tag in value if tag)
    return frozenset(_string(value).split())


def _concurrency(value: Any) -> str:
    # The option is a shell callout printing a number; a plain TOML integer
    # means that fixed number, so it becomes a command printing it.
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise BadValue(f"expected a command or a count >= 0, got {value}")
        return f"echo {value}"
    return _non_empty(_string(value))
