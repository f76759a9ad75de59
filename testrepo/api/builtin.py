"""The built-in runner's executor: Python workers
(:mod:`testrepo.execution.pool`) that discover the suite once and pull
batches from the plan's queue.  The workers are unittest's or, with
``runner = pytest``, pytest sessions (:mod:`testrepo.api.pytest_runner`
checks pytest first); the pool treats both alike."""

from __future__ import annotations

import os
import shlex
from typing import List, Optional

from testrepo import retry
from testrepo.api import fleet
from testrepo.api.execute import RunContext, test_timeout
from testrepo.api.project import RunOutcome
from testrepo.api.run import usable_cpus
from testrepo.api.stream import stream_run
from testrepo.execution import commands, direct, failure_limit, pool
from testrepo.plan import RunPlan


def start_workers(project, config, options, plan: RunPlan) -> pool.WorkerPool:
    """The plan's workers, started: they discover the suite while the
    caller opens the repository and worker 0's listing is filtered."""
    # pytest: worker 0 forks the others once it has collected the suite,
    # unless $PYTHON wraps the interpreter (``coverage run -p``: a fork's
    # coverage data would clash with its parent's).
    forks = config.runner == "pytest" and len(shlex.split(os.environ.get("PYTHON", ""))) <= 1
    workers = pool.WorkerPool(builtin_argv(config, options, plan), project.directory,
                              plan.workers or 1, test_timeout(options, config),
                              options.max_restarts,
                              isolated=plan.isolated, forks=forks)
    try:
        workers.start()
    except BaseException:
        workers.close()
        raise
    return workers


def run_builtin(context: RunContext, plan: RunPlan, workers=None) -> RunOutcome:
    """Run on ``workers`` (a started pool, closed here) or on workers
    started now; they pull batches once the listing is selected."""
    if workers is None:
        workers = start_workers(context.project, context.config, context.options, plan)
    try:
        test_ids = context.select(workers.listing())
        if context.options.queue:
            test_ids = fleet.join_queue(context, test_ids, plan.workers_for(test_ids))
        done = context.nothing_to_rerun(test_ids)
        if done is not None:
            return done
        concurrency = plan.workers_for(test_ids)
        if not plan.workers:  # test_run_concurrency printed 0: one worker per test
            workers.grow(concurrency)
        inserter, rng, durations, group_of = context.begin(test_ids, concurrency)
        schedule = plan.schedule(test_ids, durations, group_of, rng, workers.collections())
        context.say(schedule.note)

        work = schedule.work if context.build is None else context.build.work

        def feed(sink):
            sink.expect(test_ids, durations)
            limit = _failure_limit(context, test_ids)
            if limit is None:
                workers.run(work, sink)
            else:
                workers.run(limit.work(work), limit.sink(sink))
                if limit.note():
                    sink.note(limit.note())
            retry.retry_failures(sink, inserter, test_ids, context.options.retry,
                                 lambda failed, into: _rerun(context, plan, failed, into))

        with fleet.storing_node_run(context):
            outcome = stream_run(inserter, context.output, context.out, feed)
    finally:
        workers.close()
    return outcome if context.build is None else fleet.finish_queue(context, outcome)


def _rerun(context: RunContext, plan: RunPlan, test_ids: List[str], sink) -> None:
    """``--retry``: ``test_ids`` again, in a pool of fresh workers."""
    fresh = pool.WorkerPool(builtin_argv(context.config, context.options, plan),
                            context.project.directory,
                            min(usable_cpus(), len(test_ids)), context.timeout,
                            context.options.max_restarts)
    try:
        fresh.start()
        fresh.run(plan.retry_work(test_ids), sink)
    finally:
        fresh.close()


def _failure_limit(context: RunContext,
                   test_ids: List[str]) -> Optional[failure_limit.FailureLimit]:
    """pytest's ``-x``/``--maxfail`` after ``--``, for the whole run."""
    if context.config.runner != "pytest":
        return None
    maxfail = failure_limit.maxfail_of(context.options.test_args)
    return failure_limit.FailureLimit(maxfail, test_ids) if maxfail else None


def builtin_argv(config, options, plan: RunPlan) -> List[str]:
    """The worker's command line; --no-discover names its one test."""
    argv = commands.builtin_argv(config, options.test_args)
    if plan.randomly_seed is not None:
        argv += ["--randomly-seed", str(plan.randomly_seed)]
    if plan.load_name:
        argv += ["--load-name", direct.dotted_name(plan.load_name)]
    elif config.runner != "pytest" and (plan.workers or 1) <= usable_cpus():
        # The workers that do not list import the suite while worker 0 lists
        # it; with more workers than CPUs that would slow the listing down.
        argv.append("--warm")
    return argv
