"""testr's remote or isolated test environments: the ``instance_provision``,
``instance_execute`` and ``instance_dispose`` callouts of ``.testr.conf``.

Exactly as testr documents them:

* ``instance_provision`` is run with ``$INSTANCE_COUNT`` set to the number
  of instances wanted; it prints their ids on stdout, separated by
  whitespace. A non-zero exit is a failure.
* ``instance_execute`` wraps every command of the run, listing included:
  ``$INSTANCE_ID`` is the instance, ``$FILES`` the local files the command
  reads (its ``$IDFILE``; empty when listing), which the callout copies into
  the instance, and ``$COMMAND`` the command itself, inserted as it is (not
  quoted). Its stdout is the command's (the subunit stream) and its exit
  status should be the command's.
* ``instance_dispose`` is run once at the end with ``$INSTANCE_IDS``, the
  ids sorted and joined by spaces.

Like testr, instances are provisioned lazily, as many as the run has
workers on the first request, and reused: worker N always runs in instance
N, also when it is relaunched. Unlike testr's, the variables are replaced
by testrepo (``$NAME`` or ``${NAME}``, other ``$VAR`` are left for the
shell), and the instances are disposed of whatever happens: after a
failure or Ctrl-C too (:func:`provisioned`).
"""

from __future__ import annotations

import contextlib
import logging
import re
import subprocess
from typing import Iterator, List, Mapping, Optional

from testrepo import errors
from testrepo.execution.commands import Command

LOG = logging.getLogger(__name__)


def substitute(template: str, values: Mapping[str, str]) -> str:
    """Replace ``$NAME`` and ``${NAME}`` for the names in ``values`` only::

        substitute('ssh $INSTANCE_ID "$COMMAND" $HOME', {'INSTANCE_ID': 'vm1', 'COMMAND': 'ls'})
        -> 'ssh vm1 "ls" $HOME'
    """
    names = "|".join(re.escape(name) for name in sorted(values, key=len, reverse=True))
    pattern = re.compile(r"\$(?:\{(%s)\}|(%s)(?![A-Za-z0-9_]))" % (names, names))
    return pattern.sub(lambda match: values[match.group(1) or match.group(2)], template)


class Instances:
    """The instances of one run (or one isolation analysis)."""

    def __init__(self, config, directory: str, wanted: int):
        self._config = config
        self._directory = directory
        self._wanted = max(1, wanted)
        self.ids: List[str] = []

    def wrap(self, command: Command, worker: int) -> Command:
        """``command`` run in worker ``worker``'s instance, through
        ``instance_execute``."""
        values = {"INSTANCE_ID": self._instance(worker), "FILES": " ".join(command.files),
                  "COMMAND": command.describe()}
        return Command(substitute(self._config.instance_execute, values), command.cwd)

    def _instance(self, worker: int) -> str:
        if worker >= len(self.ids):
            self._provision(max(self._wanted, worker + 1) - len(self.ids))
        if worker >= len(self.ids):
            raise errors.ExecutionError(
                f"instance_provision gave {len(self.ids)} instance(s) in all, but worker "
                f"{worker} needs instance number {worker + 1}; it must print as many ids as "
                "$INSTANCE_COUNT asks for")
        return self.ids[worker]

    def _provision(self, count: int) -> None:
        command = substitute(self._config.instance_provision, {"INSTANCE_COUNT": str(count)})
        out = self._call("instance_provision", command)
        new = out.decode("utf-8", "replace").split()
        if not new:
            raise errors.ExecutionError(
                f"instance_provision `{command}` printed no instance ids; it must print "
                f"{count} on stdout")
        LOG.debug("provisioned instances %s", new)
        self.ids.extend(new)

    def dispose(self) -> None:
        """Run ``instance_dispose`` for every instance provisioned (once)."""
        ids, self.ids = self.ids, []
        if not ids or not self._config.instance_dispose:
            return
        command = substitute(self._config.instance_dispose,
                             {"INSTANCE_IDS": " ".join(sorted(ids))})
        self._call("instance_dispose", command)

    def _call(self, key: str, command: str) -> bytes:
        try:
            proc = subprocess.run(command, shell=True, cwd=self._directory,
                                  stdin=subprocess.DEVNULL, capture_output=True)
        except OSError as err:
            raise errors.ExecutionError(f"cannot start {key} `{command}`: {err}") from err
        if proc.returncode != 0:
            raise errors.ExecutionError(
                f"{key} `{command}` exited with {proc.returncode}; see its output below",
                detail=(proc.stderr + proc.stdout).decode("utf-8", "replace"))
        return proc.stdout


@contextlib.contextmanager
def provisioned(config, directory: str, wanted: int) -> Iterator[Optional[Instances]]:
    """Instances for the duration of the block (None when the project has
    no ``instance_provision``), always disposed of at its end. A failing
    dispose is an ExecutionError, unless the block itself failed (then
    that error is the one reported and the dispose failure is logged)."""
    if not config.instance_provision:
        yield None
        return
    instances = Instances(config, directory, wanted)
    try:
        yield instances
    except BaseException as failure:
        try:
            instances.dispose()
        except errors.ExecutionError as err:
            LOG.error("%s\n%s", err, err.detail or "")
            if isinstance(failure, errors.TestrepoError):
                failure.detail = f"{failure.detail or ''}\nAlso: {err}".lstrip("\n")
        raise
    instances.dispose()
