"""The run modes that wrap or replace an ordinary run: --until-failure
(repeat it), --pdb (one test in this process) and --analyze-isolation
(probe the latest run's failures, see :mod:`testrepo.isolation`)."""

from __future__ import annotations

import dataclasses
import io
import os
import tempfile
from typing import List, Optional, TextIO

from testrepo import errors, isolation, selection as selection_module
from testrepo.api import builtin, command
from testrepo.api.execute import RunContext, run_ordinary
from testrepo.api.project import RunOutcome, load_config, open_repository
from testrepo.api.stream import stream_run
from testrepo.errors import EXIT_INTERRUPTED, EXIT_SUCCESS, EXIT_TESTS_FAILED
from testrepo.execution import commands, direct, instances, listing
from testrepo.options import OutputOptions, Project, RunOptions, Selection
from testrepo.plan import plan_run


def until_failure(project: Project, selection: Selection, options: RunOptions,
                   output: OutputOptions, out: TextIO) -> RunOutcome:
    """Repeat ``run`` until a run fails, nothing runs, or Ctrl-C (exit
    130); each run is stored. Returns the last run's outcome."""
    once = dataclasses.replace(options, until_failure=False)
    iteration = 0
    while True:
        iteration += 1
        if not output.subunit:
            out.write(f"--until-failure: run {iteration}\n")
        outcome = run_ordinary(project, selection, once, output, out)
        if outcome.exit_code != EXIT_SUCCESS or outcome.run_id is None:
            break
    if not output.subunit:
        if outcome.run_id is None:
            why = "no test ran"
        elif outcome.exit_code == EXIT_INTERRUPTED:
            why = f"interrupted (run {outcome.run_id} stored as interrupted)"
        else:
            why = f"run {outcome.run_id} failed"
        out.write(f"--until-failure: stopped after {iteration} run(s): {why}\n")
    return outcome


def run_pdb(project: Project, options: RunOptions, output: OutputOptions,
            out: TextIO) -> RunOutcome:
    """--pdb TEST: load TEST by name and run it in this process, in the
    foreground (no worker, no listing, no capture), so pdb works; the
    result is stored as a partial run."""
    config = load_config(project)
    repo = open_repository(project, create=True, out=None if output.subunit else out)
    context = RunContext(project, config, repo, Selection(), options, output, out, None)
    name = direct.dotted_name(options.pdb)
    top = "." if config.command_mode else (config.top_dir or ".")
    top_dir = os.path.abspath(os.path.join(project.directory, top))
    with direct.in_project(top_dir, os.path.abspath(project.directory)):
        tests = direct.load_tests(name, top_dir)  # fails before anything is stored
        inserter, _, _, _ = context.begin([test.id() for test in tests], 1)
        return stream_run(inserter, output, out,
                          lambda sink: direct.run_in_process(tests, sink))


def analyze_isolation(project: Project, selection: Selection, options: RunOptions,
                      output: OutputOptions, out: TextIO) -> RunOutcome:
    """--analyze-isolation: for each failing test of the latest run (those
    the selection keeps), find what makes it fail (see
    :mod:`testrepo.isolation`). The probes run serially in fresh processes
    and are not stored, so the failing set is unchanged. Exit 1 if a test
    fails only after others (or not reproducibly), else 0."""
    if output.subunit:
        raise errors.UsageError("--analyze-isolation writes a report; it has no subunit "
                                "stream to give (drop --subunit)")
    config = load_config(project)
    repo = open_repository(project)
    run = repo.get_run(repo.latest_id())
    with run.stream() as stream:
        order = isolation.read_run_order(stream.read())
    criteria = selection_module.read_criteria(selection, None, project.directory)
    failed = selection_module.select(order.failed, criteria)
    if not failed:
        out.write(f"Run {run.run_id} has no failing test to analyze.\n")
        return RunOutcome(run.run_id, None, EXIT_SUCCESS)
    with instances.provisioned(config, project.directory, 1) as provisioned:
        prober = _Prober(project, config, options, provisioned)
        findings = _analyze(prober, run, order, failed, out)
    out.write(isolation.summary(findings, run.run_id))
    problem = any(finding.kind in isolation.PROBLEMS for finding in findings)
    return RunOutcome(run.run_id, None, EXIT_TESTS_FAILED if problem else EXIT_SUCCESS)


def _analyze(prober: "_Prober", run, order, failed: List[str], out: TextIO) -> list:
    listed = set(prober.listing())
    # In an --isolated run no test ran after another in the same process.
    isolated_run = run.record.metadata.get("isolated") == "true"
    out.write(f"Analyzing the {len(failed)} failing test(s) of run {run.run_id}; each probe "
              "runs tests serially in a fresh process and is not stored.\n")
    findings = []
    for test_id in failed:
        if test_id not in listed:
            findings.append(isolation.Finding(test_id, isolation.NOT_LISTED))
            continue
        out.write(f"{test_id}:\n")
        earlier = [] if isolated_run else isolation.earlier_tests(order, test_id)
        earlier = [other for other in earlier if other in listed]
        findings.append(isolation.analyze(test_id, earlier, order.worker_of.get(test_id, "-"),
                                          prober, out.write))
    return findings


@dataclasses.dataclass
class _Prober:
    """Runs the isolation analysis's probes: given test ids, serially, in
    that order, in one fresh process (in instance 0 if the project has
    instances), into a throwaway in-memory repository."""

    project: Project
    config: object
    options: RunOptions
    provisioned: Optional[object] = None
    _listed: Optional[List[str]] = dataclasses.field(default=None, init=False)

    def listing(self) -> List[str]:
        if not self.config.command_mode:
            return listing.read_test_ids(commands.list_command(self.config,
                                                               self.project.directory))
        if self._listed is None:  # once: every probe selects from it
            self._listed = command.read_listing(self._context(None, Selection()))
        return self._listed

    def __call__(self, test_ids: List[str]) -> bool:
        """True if the last of ``test_ids`` failed."""
        handle, path = tempfile.mkstemp(prefix="testrepo-probe-", suffix=".list")
        with os.fdopen(handle, "w", encoding="utf-8") as ids:
            ids.write("".join(test_id + "\n" for test_id in test_ids))
        from testrepo.repository.memory import MemoryRepository

        context = self._context(MemoryRepository(), Selection(load_list=path))
        try:
            plan = plan_run(self.config, context.options, context.selection, 1)
            if self.config.command_mode:
                command.run_command_mode(context, plan, self.listing())
            else:
                builtin.run_builtin(context, plan)
        finally:
            os.unlink(path)
        return test_ids[-1] in context.repo.failing_ids()

    def _context(self, repo, selection: Selection) -> RunContext:
        # Arguments after `--` go where a run sends them (test_command or
        # pytest); the unittest runner takes none (a run refuses them).
        test_args = self.options.test_args if self.config.takes_test_args else ()
        options = RunOptions(serial=True, test_args=test_args,
                             timeout=self.options.timeout, max_restarts=0)
        return RunContext(self.project, self.config, repo, selection, options,
                    OutputOptions(quiet=True), io.StringIO(), None,
                    instances=self.provisioned)
