"""Finding and reading project configuration files: which file, which
section or table, and its raw values (:class:`Found`).

``testrepo.config`` validates what is read here; between them they are the
only modules that read configuration files.
"""

from __future__ import annotations

import configparser
import dataclasses
import functools
import os
import sys
from typing import Any, Mapping, Optional, Tuple

from testrepo import errors


@dataclasses.dataclass(frozen=True)
class Found:
    """Raw option values read from one file, plus how to name them."""

    source: str  # the file, as messages show it
    section: str  # e.g. "[DEFAULT]" or "[tool.testr]"
    toml: bool  # selects the syntax used in "add e.g." hints
    values: Mapping[str, Any]

    def error(self, key: Optional[str], problem: str) -> errors.ConfigError:
        where = f"{self.source}: {self.section}"
        if key is None:
            return errors.ConfigError(f"{where} {problem}")
        # TOML keys may be quoted and hold anything; messages stay one line.
        shown = key if key.isprintable() else repr(key)
        return errors.ConfigError(f"{where} {shown}: {problem}")

    def example(self, key: str, value: str) -> str:
        return f'{key} = "{value}"' if self.toml else f"{key}={value}"

    @property
    def stestr_home(self) -> bool:
        """``.stestr.conf``, ``[tool.stestr]`` or ``[stestr]``: stestr's files."""
        return (os.path.basename(self.source) == ".stestr.conf"
                or self.section in ("[tool.stestr]", "[stestr]"))


def search(directory: str) -> Optional[Found]:
    # testr's own locations first; stestr's only when none of those exist,
    # so an stestr project works unchanged but cannot shadow testr settings.
    searches = (
        (".testr.conf", _read_ini_defaults),
        ("pyproject.toml", functools.partial(_read_toml_table, tables=("testr",))),
        ("tox.ini", functools.partial(_read_ini_section, sections=("testr",))),
        ("setup.cfg", functools.partial(_read_ini_section, sections=("testr",))),
        (".stestr.conf", _read_ini_defaults),
        ("pyproject.toml", functools.partial(_read_toml_table, tables=("stestr",))),
        ("tox.ini", functools.partial(_read_ini_section, sections=("stestr",))),
    )
    for name, read in searches:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            found = read(path, name)
            if found is not None:
                return found
    return None


def read_explicit(directory: str, explicit_path: str) -> Found:
    path = os.path.join(directory, explicit_path)
    if not os.path.isfile(path):
        problem = "is a directory" if os.path.isdir(path) else "no such file"
        if not os.path.isabs(explicit_path):
            problem += f" in {directory}"
        raise errors.ConfigError(f"{explicit_path}: {problem} (given with --config)")
    source = _display_name(path, directory)
    basename = os.path.basename(path)
    if basename.endswith(".toml"):
        found = _read_toml_table(path, source, tables=("testr", "stestr"))
        wanted = "[tool.testr] or [tool.stestr] table"
    elif basename in ("tox.ini", "setup.cfg"):
        found = _read_ini_section(path, source, sections=("testr", "stestr"))
        wanted = "[testr] or [stestr] section"
    else:
        return _read_ini_defaults(path, source)
    if found is None:
        raise errors.ConfigError(f"{source}: has no {wanted} (given with --config)")
    return found


def _display_name(path: str, directory: str) -> str:
    try:
        relative = os.path.relpath(path, directory)
    except ValueError:  # another drive on Windows
        return path
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return os.path.abspath(path)
    return relative


def _read_text(path: str, source: str) -> str:
    try:
        with open(path, encoding="utf-8-sig") as stream:
            return stream.read()
    except UnicodeDecodeError as err:
        raise errors.ConfigError(
            f"{source}: not UTF-8 text (byte {err.start}: {err.reason})"
        ) from err
    except OSError as err:
        raise errors.ConfigError(f"{source}: cannot read: {err.strerror or err}") from err


def _parse_ini(path: str, source: str, default_section: str) -> configparser.ConfigParser:
    # Interpolation off: test_command holds $IDOPTION, ${PYTHON:-python}
    # and sometimes '%', all of which must reach the shell untouched.
    parser = configparser.ConfigParser(interpolation=None, default_section=default_section)
    try:
        parser.read_string(_read_text(path, source), source=source)
    except configparser.Error as err:
        raise errors.ConfigError(f"{source}: {_describe_ini_error(err)}") from err
    return parser


def _describe_ini_error(err: configparser.Error) -> str:
    # configparser's own messages span several lines; ours must be one.
    if isinstance(err, configparser.MissingSectionHeaderError):
        return (
            f"line {err.lineno}: no section header before {err.line.strip()!r}; "
            "options belong after a [DEFAULT] line"
        )
    if isinstance(err, configparser.ParsingError):
        lineno, line = err.errors[0]
        return f"line {lineno}: cannot parse {line.strip()!r}"
    if isinstance(err, configparser.DuplicateOptionError):
        return f"[{err.section}] {err.option}: set twice (line {err.lineno})"
    if isinstance(err, configparser.DuplicateSectionError):
        return f"line {err.lineno}: section [{err.section}] appears twice"
    return " ".join(str(err).split())


def _read_ini_defaults(path: str, source: str) -> Found:
    parser = _parse_ini(path, source, default_section="DEFAULT")
    if not parser.defaults() and parser.sections():
        raise errors.ConfigError(
            f"{source}: options must be in the [DEFAULT] section, "
            f"found only [{parser.sections()[0]}]"
        )
    return Found(source, "[DEFAULT]", False, dict(parser.defaults()))


def _read_ini_section(path: str, source: str, sections: Tuple[str, ...]) -> Optional[Found]:
    # A default_section name no file uses, so tox.ini's or setup.cfg's own
    # [DEFAULT] values (if any) do not leak into the [testr] section.
    parser = _parse_ini(path, source, default_section="\0no default section")
    for section in sections:
        if parser.has_section(section):
            return Found(source, f"[{section}]", False, dict(parser.items(section)))
    return None


def _read_toml_table(path: str, source: str, tables: Tuple[str, ...]) -> Optional[Found]:
    # Imported here: only a pyproject.toml needs a TOML parser.
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    try:
        document = tomllib.loads(_read_text(path, source))
    except tomllib.TOMLDecodeError as err:
        raise errors.ConfigError(f"{source}: invalid TOML: {err}") from err
    tool = document.get("tool")
    for table in tables:
        if not isinstance(tool, dict) or table not in tool:
            continue
        section = f"[tool.{table}]"
        if not isinstance(tool[table], dict):
            raise errors.ConfigError(
                f"{source}: {section} must be a table, got {show(tool[table])}"
            )
        return Found(source, section, True, dict(tool[table]))
    return None


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- checking values ----------------------------------------------------------


class BadValue(ValueError):
    """A value its validator refuses; the message says why, in one line.

    Validators are plain callables that return the converted value or
    raise this, so defining them imports no validation library."""


class BadDocument(ValueError):
    """The first problem :func:`check` found: the key path and why."""

    def __init__(self, path: Tuple[str, ...], message: str):
        super().__init__(message)
        self.path = path
        self.message = message


def check(document: Mapping[str, Any], validators: Mapping[str, Any]) -> dict:
    """``document`` converted by ``validators`` ({key: validator} or, for
    sections, {key: {key: validator}}); every key is optional and keys
    not named are refused.  Raises :class:`BadDocument` for the first
    problem in document order."""
    # The one place voluptuous is imported: only a command that checks a
    # whole configuration pays for it.
    import voluptuous

    def schema(spec):
        if isinstance(spec, Mapping):
            return voluptuous.Schema(
                {voluptuous.Optional(key): schema(value) for key, value in spec.items()},
                extra=voluptuous.PREVENT_EXTRA)
        return _as_voluptuous(spec, voluptuous.Invalid)

    try:
        return dict(schema(validators)(dict(document)))
    except voluptuous.MultipleInvalid as err:
        first = err.errors[0]
        raise BadDocument(tuple(str(part) for part in first.path),
                          first.error_message) from err


def _as_voluptuous(validator, invalid):
    def checked(value):
        try:
            return validator(value)
        except BadValue as err:
            raise invalid(str(err)) from err
    return checked
