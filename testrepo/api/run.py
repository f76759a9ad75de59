"""``testr run`` and ``testr list``: the entry points.

This module stays cheap to import (every command imports the API); the
machinery is imported by the functions that use it: the run plan
(:mod:`testrepo.plan`), the ordinary run (:mod:`testrepo.api.execute`) and
its two executors (:mod:`testrepo.api.builtin`, :mod:`testrepo.api.command`),
and the wrapping modes (:mod:`testrepo.api.modes`)."""

from __future__ import annotations

import os
from typing import Dict, List, Sequence, TextIO

from testrepo import errors
from testrepo.api.project import RunOutcome, load_config, open_repository
from testrepo.options import OutputOptions, Project, RunOptions, Selection


def run(project: Project, selection: Selection, options: RunOptions,
        output: OutputOptions, out: TextIO) -> RunOutcome:
    """List, select, schedule, run in parallel, store and report.

    With ``output.subunit`` the merged v2 stream goes to ``out.buffer``.
    --until-failure, --pdb and --analyze-isolation wrap or replace the
    ordinary run (:mod:`testrepo.api.modes`).
    """
    from testrepo import plan
    from testrepo.api import execute, modes

    plan.check_options(selection, options)
    if options.until_failure:
        return modes.until_failure(project, selection, options, output, out)
    if options.pdb:
        return modes.run_pdb(project, options, output, out)
    if options.analyze_isolation:
        return modes.analyze_isolation(project, selection, options, output, out)
    return execute.run_ordinary(project, selection, options, output, out)


def analyze_isolation(project: Project, selection: Selection, options: RunOptions,
                      output: OutputOptions, out: TextIO) -> RunOutcome:
    """--analyze-isolation: for each failing test of the latest run (those
    the selection keeps), find what makes it fail (see
    :mod:`testrepo.isolation` and :func:`testrepo.api.modes.analyze_isolation`)."""
    from testrepo.api import modes

    return modes.analyze_isolation(project, selection, options, output, out)


def list_tests(project: Project, selection: Selection, test_args: Sequence[str] = ()) -> List[str]:
    """The ids ``run`` would run with the same selection, in run order."""
    from testrepo.api import execute
    from testrepo.execution import commands, listing

    config = load_config(project)
    failing_ids = None
    if selection.failing:
        failing_ids = open_repository(project).failing_ids()
    listed = listing.read_test_ids(commands.list_command(config, project.directory, test_args))
    return execute.select(selection, failing_ids, project.directory, listed)


def resolve_concurrency(options: RunOptions, config, directory: str) -> int:
    """CLI value, then ``test_run_concurrency``, then usable CPUs."""
    if options.serial:
        return 1
    if options.concurrency:
        if options.concurrency < 0:
            raise errors.UsageError(
                f"--concurrency must be 0 (auto) or a positive number, got {options.concurrency}")
        return options.concurrency
    if config.test_run_concurrency:
        return _callout_concurrency(config, directory)
    return usable_cpus()


def usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _callout_concurrency(config, directory: str) -> int:
    import subprocess

    proc = subprocess.run(config.test_run_concurrency, shell=True, cwd=directory,
                          capture_output=True, stdin=subprocess.DEVNULL)
    first = (proc.stdout.decode("utf-8", "replace").splitlines() or [""])[0].strip()
    if proc.returncode != 0 or not first.isdigit():
        raise errors.ConfigError(
            f"{config.source}: test_run_concurrency `{config.test_run_concurrency}` "
            f"must print a non-negative integer (exit {proc.returncode}, printed {first!r})")
    # testr's documentation: 0 means one partition per test (resolved by
    # the caller once the test ids are known).
    return int(first)


# CI variables that name the job a run belongs to, in the order they are
# tried: ours, then GitLab's, GitHub Actions' and Jenkins'.
JOB_VARIABLES = ("TESTREPO_JOB", "CI_JOB_NAME", "GITHUB_JOB", "JOB_NAME")


def origin_metadata(environ) -> Dict[str, str]:
    """Where a run ran: ``host`` (the host name) and ``job`` (from the first
    of JOB_VARIABLES that is set), so that ``flaky``, ``compare`` and
    ``history`` over a repository shared by a fleet can tell them apart.
    ``--metadata host=... job=...`` overrides both."""
    import socket

    metadata = {"host": socket.gethostname()}
    job = next((environ[name] for name in JOB_VARIABLES if environ.get(name)), None)
    if job:
        metadata["job"] = job
    return metadata
