"""Expansion of testr's ``$LISTOPT $IDOPTION $IDFILE $IDLIST`` in a
``test_command`` (pure; the shell expands every other ``$VAR`` later).

testr's documented semantics:

* ``$LISTOPT`` is ``test_list_option`` when listing, empty when running.
* ``$IDFILE`` is the path of a file holding one test id per line.
* ``$IDLIST`` is the ids joined by spaces, or ``test_id_list_default``.
* ``$IDOPTION`` is ``test_id_option`` (with ``$IDFILE``/``$IDLIST`` already
  expanded inside it) when specific ids are run, else empty.
"""

from __future__ import annotations

import re
import shlex
from typing import Mapping, Optional, Sequence

from testrepo.config import Config

_VARIABLE = re.compile(r"\$(IDOPTION|IDFILE|IDLIST|LISTOPT)\b")


def expand(template: str, values: Mapping[str, str]) -> str:
    """Replace testr's four variables; anything else is left for the shell.

    >>> expand("run $IDOPTION $HOME", {"IDOPTION": "--load-list f"})
    'run --load-list f $HOME'
    """
    return _VARIABLE.sub(lambda m: values.get(m.group(1), ""), template)


def takes_ids(config: Config) -> bool:
    """Whether ``test_command`` can be told which tests to run.  Without
    ``$IDOPTION``/``$IDFILE``/``$IDLIST`` every partition would run the
    whole suite, so such a command only runs serially."""
    return bool(re.search(r"\$(IDOPTION|IDFILE|IDLIST)\b", config.test_command or ""))


def list_command(config: Config, test_args: Sequence[str] = ()) -> str:
    """The command that lists the project's test ids."""
    values = {"LISTOPT": config.test_list_option or "", "IDOPTION": "",
              "IDFILE": "", "IDLIST": config.test_id_list_default or ""}
    return _with_args(expand(config.test_command, values), test_args)


def run_command(config: Config, test_ids: Optional[Sequence[str]],
                id_file: Optional[str], test_args: Sequence[str] = ()) -> str:
    """The command that runs ``test_ids`` (``None``: the whole suite).

    ``id_file`` must already hold ``test_ids``, one per line.
    """
    if test_ids is None:
        idlist = config.test_id_list_default or ""
        idoption = ""
    else:
        idlist = " ".join(shlex.quote(test_id) for test_id in test_ids)
        inner = {"IDFILE": shlex.quote(id_file or ""), "IDLIST": idlist}
        idoption = expand(config.test_id_option or "", inner)
    values = {"LISTOPT": "", "IDOPTION": idoption,
              "IDFILE": shlex.quote(id_file or ""), "IDLIST": idlist}
    return _with_args(expand(config.test_command, values), test_args)


def _with_args(command: str, test_args: Sequence[str]) -> str:
    if not test_args:
        return command
    return command + " " + " ".join(shlex.quote(arg) for arg in test_args)
