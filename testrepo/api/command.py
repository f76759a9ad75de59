"""Command mode's executor (testr's way): list once if the plan says so,
split the ids into static partitions, run one ``test_command`` per
partition (:mod:`testrepo.execution.workers`), in an instance when the
project has instance_* callouts."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import List, Optional

from testrepo import retry
from testrepo.api.execute import RunContext
from testrepo.api.project import RunOutcome
from testrepo.api.stream import stream_run
from testrepo.execution import commands, direct, listing, workers
from testrepo.plan import RunPlan


def run_command_mode(context: RunContext, plan: RunPlan,
                     listed: Optional[List[str]] = None) -> RunOutcome:
    """Carry out a command-mode plan; ``listed``: the listing, if the
    caller has it already (the isolation analysis's probes)."""
    test_ids = None
    concurrency = plan.workers
    if plan.list_first:
        if listed is None:
            listed = read_listing(context, plan.load_name)
        test_ids = context.select(listed)
        done = context.nothing_to_rerun(test_ids)
        if done is not None:
            return done
        concurrency = plan.workers_for(test_ids)
    inserter, rng, durations, group_of = context.begin(test_ids, concurrency)
    if rng is not None:
        context.say(plan.random_note)
    schedule = plan.schedule(test_ids, durations, group_of, rng)
    context.say(schedule.note)
    max_live = plan.max_live(test_ids or ())
    return _run_partitions(context, plan, schedule.work, inserter, max_live)


def read_listing(context: RunContext, load_name: Optional[str] = None) -> List[str]:
    """The listed ids (in an instance, if configured); --no-discover's
    ``load_name`` instead of a listing."""
    if load_name:
        return [direct.dotted_name(load_name)]
    command = commands.list_command(context.config, context.project.directory,
                                    context.options.test_args)
    if context.instances is not None:
        command = context.instances.wrap(command, 0)
    return listing.read_test_ids(command)


def _run_partitions(context: RunContext, plan: RunPlan, partitions, inserter,
                    max_live: Optional[int]) -> RunOutcome:
    """One test command per partition (in an instance, at most ``max_live``
    at once), output parsed as v2."""
    id_dir = tempfile.mkdtemp(prefix="testrepo-ids-")
    launches = iter(range(1 << 30))
    options = context.options

    def make_command(worker, test_ids):
        command = _worker_command(context, test_ids, id_dir, next(launches))
        return command if context.instances is None else context.instances.wrap(command, worker)

    def run_partitions(parts, sink):
        workers.CommandRunner(parts, make_command, sink.result, context.timeout,
                              options.max_restarts, idle=sink.flush,
                              max_live=max_live, heartbeat=sink.heartbeat).run()

    def feed(sink):
        run_partitions(partitions, sink)
        planned = [test_id for part in partitions if part for test_id in part]
        retry.retry_failures(sink, inserter, planned, options.retry,
                             lambda failed, into: run_partitions(plan.retry_work(failed), into))

    try:
        return stream_run(inserter, context.output, context.out, feed)
    finally:
        shutil.rmtree(id_dir, ignore_errors=True)


def _worker_command(context: RunContext, test_ids, id_dir: str, index: int):
    id_file = None
    if test_ids is not None:
        id_file = os.path.join(id_dir, f"worker-{index}.list")
        with open(id_file, "w", encoding="utf-8") as handle:
            handle.write("".join(test_id + "\n" for test_id in test_ids))
    return commands.run_command(context.config, context.project.directory, test_ids, id_file,
                                context.options.test_args)

