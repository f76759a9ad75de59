"""How a project's tests are started: one place that knows the difference
between command mode (testr's ``test_command``) and the built-in runner."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import sys
from typing import List, Optional, Sequence, Tuple, Union

from testrepo.config import Config
from testrepo.execution import template


@dataclasses.dataclass(frozen=True)
class Command:
    """A process to start: a shell string (command mode) or an argv."""

    args: Union[str, List[str]]
    cwd: str
    # Local files the command reads (its $IDFILE): testr's $FILES, which
    # instance_execute copies into the instance.
    files: Tuple[str, ...] = ()

    @property
    def shell(self) -> bool:
        return isinstance(self.args, str)

    def describe(self) -> str:
        return self.args if self.shell else " ".join(self.args)


def builtin_argv(config: Config, test_args: Sequence[str] = ()) -> List[str]:
    """The built-in worker's command line: the unittest worker, or with
    ``runner = pytest`` the pytest worker, which gets the configured
    ``test_path`` and ``test_args`` (what followed ``--``) as pytest's
    arguments.  Like stestr, ``$PYTHON`` (e.g. ``coverage run
    --parallel-mode``) replaces this interpreter when set."""
    python = shlex.split(os.environ.get("PYTHON", "")) or [sys.executable]
    if config.runner == "pytest":
        pytest_args = ([config.test_path] if config.test_path else []) + list(test_args)
        return python + ["-m", "testrepo.execution.pytest_worker",
                         "--pytest-args", json.dumps(pytest_args)]
    return python + ["-m", "testrepo.execution.worker",
                     "--test-path", config.test_path or ".",
                     "--top-dir", config.top_dir or "."]


def list_command(config: Config, directory: str,
                 test_args: Sequence[str] = ()) -> Command:
    """The command that prints the project's test ids."""
    if config.command_mode:
        return Command(template.list_command(config, test_args), directory)
    return Command(builtin_argv(config, test_args) + ["--list"], directory)


def run_command(config: Config, directory: str, test_ids: Optional[Sequence[str]],
                id_file: Optional[str], test_args: Sequence[str] = ()) -> Command:
    """Command mode: the ``test_command`` that runs ``test_ids`` (already
    written to ``id_file``); ``test_ids=None`` runs the whole suite.  (The
    built-in runner's workers take their tests over a pipe instead, see
    :mod:`testrepo.execution.pool`.)"""
    return Command(template.run_command(config, test_ids, id_file, test_args), directory,
                   (id_file,) if id_file else ())
