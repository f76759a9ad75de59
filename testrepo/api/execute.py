"""The ordinary run: open the repository, plan (:mod:`testrepo.plan`),
and hand the plan to an executor (:mod:`testrepo.api.builtin` or
:mod:`testrepo.api.command`).  :class:`RunContext` is what one run works
with, and holds the steps both executors share: selecting the listed ids,
seeding, and opening the run's inserter."""

from __future__ import annotations

import dataclasses
import os
import random
from typing import Dict, List, Optional, Sequence, TextIO

from testrepo import errors, plan as run_plan, scheduler, selection as selection_module
from testrepo.api.project import RunOutcome, load_config, open_repository
from testrepo.api.run import origin_metadata, resolve_concurrency
from testrepo.errors import EXIT_SUCCESS
from testrepo.execution import instances
from testrepo.options import OutputOptions, Project, RunOptions, Selection
from testrepo.scheduler import worker_file


@dataclasses.dataclass
class RunContext:
    """What one ``run`` call works with, passed between its steps."""

    project: Project
    config: object
    repo: object
    selection: Selection
    options: RunOptions
    output: OutputOptions
    out: TextIO
    failing_ids: Optional[List[str]]
    instances: Optional[object] = None  # instance_* callouts (command mode)
    shard: Optional[object] = None  # scheduler.shards.Shard: run only this part
    build: Optional[object] = None  # api.queue_mode.Build: a --queue node's part


    def say(self, text: str) -> None:
        if text and not self.output.subunit:
            self.out.write(text)

    def select(self, listed: Sequence[str]) -> List[str]:
        selected = select(self.selection, self.failing_ids, self.project.directory, listed)
        if self.shard is None or self.options.queue:
            return selected  # --queue: the shard is only its fallback
        from testrepo.api import fleet

        return fleet.cut_shard(self, selected)

    def begin(self, test_ids, concurrency):
        """Seed, durations, grouping and the inserter for ``test_ids``."""
        metadata: Dict[str, str] = {"concurrency": str(concurrency)}
        metadata.update(origin_metadata(os.environ))
        metadata.update(_mode_metadata(self.options))
        if self.shard is not None and self.build is None:
            metadata["shard"] = str(self.shard)
        if self.build is not None:
            metadata.update(self.build.metadata)
        rng = _random_order(self.options, metadata, self)
        config = self.config
        group_of = scheduler.group_function(config.group_regex, config.parallel_class)
        durations = selection_module.with_variant_durations(
            test_ids, self.repo.durations(test_ids) if test_ids else {}, self.repo.durations)
        # Arguments to pytest (-k, -m, paths) may leave tests out.
        filtered = config.runner == "pytest" and bool(self.options.test_args)
        partial = (self.options.partial or self.selection.restricted or filtered
                   or self.shard is not None or self.build is not None)
        inserter = _open_inserter(self, partial, metadata)
        if self.build is not None:
            inserter.spool_metadata()  # recovered, it rejoins the build
        return inserter, rng, durations, group_of

    def nothing_to_rerun(self, test_ids) -> Optional[RunOutcome]:
        if self.options.queue and test_ids is None:  # the build is over (said)
            return RunOutcome(None, None, EXIT_SUCCESS)
        if self.selection.failing and test_ids == []:
            self.say(f"None of the {len(self.failing_ids)} failing test(s) is in the current "
                     "test listing (e.g. process-returncode); a full `testr run` clears them.\n")
            return RunOutcome(None, None, EXIT_SUCCESS)
        if self.shard is not None and test_ids == []:
            self.say(f"Shard {self.shard} has no tests: the selection has fewer test groups "
                     "than shards.\n")
            return RunOutcome(None, None, EXIT_SUCCESS)
        return None

    @property
    def timeout(self) -> Optional[float]:
        return test_timeout(self.options, self.config)


def test_timeout(options: RunOptions, config) -> Optional[float]:
    """--timeout, else the config's test_timeout."""
    return options.timeout if options.timeout is not None else config.test_timeout


def select(selection: Selection, failing_ids, directory: str, listed: Sequence[str]) -> List[str]:
    """The listed ids the selection keeps (see :mod:`testrepo.selection`)."""
    criteria = selection_module.read_criteria(selection, failing_ids, directory)
    selected = selection_module.select(listed, criteria)
    if not selected and listed and selection.restricted and not selection.failing:
        raise errors.UsageError(
            "no test matched the given filters/lists "
            f"({len(listed)} tests listed); check them with `testr list`")
    return selected


def run_ordinary(project: Project, selection: Selection, options: RunOptions,
                 output: OutputOptions, out: TextIO) -> RunOutcome:
    """A run that no wrapping mode replaces: plan it, carry the plan out.
    The built-in runner's workers start first: they discover the suite
    while the repository (a database's driver, its connection) opens."""
    config = load_config(project)
    options, shard = _resolve_shard(selection, options)
    plan = make_plan(project, config, selection, options)
    workers = None
    if not (plan.command_mode or plan.runner == "pytest" or selection.failing):
        from testrepo.api import builtin

        workers = builtin.start_workers(project, config, options, plan)
    try:
        repo = _open_for_run(project, options, output, out)
        failing_ids = repo.failing_ids() if selection.failing else None
        context = RunContext(project, config, repo, selection, options, output, out,
                             failing_ids, shard=shard)
        if selection.failing and not failing_ids:
            context.say("No failing tests to run.\n")
            return RunOutcome(None, None, EXIT_SUCCESS)
    except BaseException:
        if workers is not None:
            workers.close()
        raise
    return carry_out(context, plan, workers)


def _open_for_run(project: Project, options: RunOptions, output: OutputOptions, out: TextIO):
    try:
        return open_repository(project, create=True, out=None if output.subunit else out)
    except errors.RepositoryError as err:
        from testrepo.api import fleet

        return fleet.detached_repository(project, options, err)


def _resolve_shard(selection: Selection, options: RunOptions):
    """``--shard`` or the CI's variables: the options (a shard from the
    environment becomes theirs, so that the plan's conflicts see it) and
    the shard (None for one node)."""
    from testrepo.api import fleet

    shard = fleet.resolve_shard(options.shard)
    if shard is not None and options.shard is None:
        options = dataclasses.replace(options, shard=str(shard))
        run_plan.check_options(selection, options)
    return options, shard


def make_plan(project: Project, config, selection: Selection,
              options: RunOptions) -> run_plan.RunPlan:
    """The I/O a plan needs (test_path checked, concurrency resolved, the
    worker file read), then :func:`testrepo.plan.plan_run`."""
    directory = project.directory
    run_plan.check_config(config, selection, options)
    if not config.command_mode:
        test_path = os.path.join(directory, config.test_path or ".")
        if not os.path.isdir(test_path):
            raise errors.ConfigError(
                f"{config.source or 'zero-config'}: test_path: directory "
                f"'{config.test_path}' does not exist (relative to {directory})")
    concurrency = resolve_concurrency(options, config, directory)
    entries = None
    if options.worker_file:
        entries = worker_file.read_worker_file(options.worker_file, directory)
    plan = run_plan.plan_run(config, options, selection, concurrency, entries)
    if plan.runner == "pytest" and not plan.command_mode:
        plan = dataclasses.replace(plan, randomly_seed=_randomly_seed(options))
    return plan


def _randomly_seed(options: RunOptions) -> Optional[int]:
    """The seed every pytest worker gives pytest-randomly (one per run, as
    pytest-xdist's controller gives its workers): testr's ``--seed``, else
    drawn; None when the arguments after ``--`` choose or disable it."""
    for arg in options.test_args:
        if arg.startswith("--randomly-seed") or arg.endswith("no:randomly"):
            return None
    if options.seed is not None:
        return options.seed
    return random.SystemRandom().randrange(2 ** 32)


def carry_out(context: RunContext, plan: run_plan.RunPlan, workers=None) -> RunOutcome:
    """Run ``plan`` with the executor it names (the built-in runner's on
    ``workers`` if they were started already)."""
    if plan.command_mode:
        from testrepo.api import command

        with instances.provisioned(context.config, context.project.directory,
                                   plan.provision) as context.instances:
            return command.run_command_mode(context, plan)
    if plan.runner == "pytest":
        from testrepo.api import pytest_runner

        return pytest_runner.run_pytest(context, plan)
    from testrepo.api import builtin

    return builtin.run_builtin(context, plan, workers)


def _mode_metadata(options: RunOptions) -> Dict[str, str]:
    """What a run stores about how it ran, besides concurrency and seed."""
    metadata = dict(options.metadata)
    if options.isolated:
        metadata["isolated"] = "true"
    if options.worker_file:
        metadata["worker_file"] = options.worker_file
    return metadata


def _open_inserter(context: RunContext, partial: bool, metadata: Dict[str, str]):
    """The run's inserter: a new run, or with ``--combine`` an append to the
    latest run (a new run if there is none yet). filter_tags are hidden."""
    repo = context.repo
    inserter = None
    # One named test (--pdb, --no-discover) says nothing about the others.
    partial = partial or bool(context.options.pdb or context.options.no_discover)
    if context.options.combine and repo.run_ids():
        inserter = repo.append(repo.latest_id())
        inserter.metadata.update(metadata)
    if inserter is None:
        inserter = repo.insert(partial=partial, metadata=metadata)
    inserter.hide_tags(context.config.filter_tags)
    return inserter


def _random_order(options: RunOptions, metadata, context: RunContext) -> Optional[random.Random]:
    """The seeded generator for ``--random`` (the seed goes into the run's
    metadata), or None."""
    if not options.random:
        return None
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2 ** 32)
    metadata["seed"] = str(seed)
    context.say(f"Running in random order with seed {seed} (rerun: --random --seed {seed})\n")
    return random.Random(seed)
