"""One build over many CI machines (doc/fleet.rst): which shard a run is
(``--shard K/N`` or the CI's variables, :mod:`testrepo.scheduler.shards`)
and cutting the selected ids down to it; the edges of a ``--queue`` node
(:mod:`testrepo.api.queue_mode`): joining, falling back to the static
shard when the database fails at the start, finishing.  A shard's run
stores ``shard=K/N`` and is partial: the failing set changes only for its
tests."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import List, Optional, Sequence

from testrepo import errors, scheduler
from testrepo.api.project import RunOutcome, repository_url
from testrepo.errors import EXIT_SUCCESS
from testrepo.scheduler import shards


def resolve_shard(shard_text: Optional[str], environ=None) -> Optional[shards.Shard]:
    """``--shard`` if given, else the CI's variables; None for one node."""
    if shard_text is not None:
        shard = shards.parse_shard(shard_text)
        return shard if shard.total > 1 else None
    return shards.from_environ(os.environ if environ is None else environ)


def cut_shard(context, selected: Sequence[str], durations=None) -> List[str]:
    """The part of ``selected`` that ``context.shard`` runs, said aloud;
    Bazel's status file is touched."""
    shard = context.shard
    shards.touch_status_file(shard)
    config = context.config
    group_of = scheduler.group_function(config.group_regex, config.parallel_class)
    if durations is None:
        durations = context.repo.durations(selected) if selected else {}
    chosen = shards.select_shard(selected, shard, durations, group_of)
    context.say(shards.describe(shard, chosen, selected, durations))
    return chosen


def detached_repository(project, options, error: errors.RepositoryError):
    """A --queue node with a shard whose database cannot be reached at the
    start: the SQL repository, not connected, so that the run goes on as
    its static shard and its results are spooled (and kept if the
    database is still down at the end).  Otherwise ``error`` is raised."""
    from testrepo import repository

    url = repository_url(project)
    if not (options.queue and resolve_shard(options.shard) and repository.is_sql_url(url)):
        raise error
    from testrepo.repository.sql import SQLRepository
    from testrepo.repository.sql_database import Database

    class Detached(SQLRepository):
        """Knows no durations; anything else it is asked fails as the
        database does; a run into it is spooled."""

        unreachable = error

        def _durations(self, test_ids):
            return []

    return Detached(Database(url), url)


def join_queue(context, selected: Sequence[str], workers: int) -> Optional[List[str]]:
    """Join the build (``context.build``); the ids to expect (all of the
    selection), None if the build is over.  If the database fails, a node
    with a shard runs that shard instead; one without stops (exit 4)."""
    from testrepo.api import queue_mode

    key = context.options.queue
    failed = getattr(context.repo, "unreachable", None)
    if failed is None:
        try:
            context.build = queue_mode.join(context, selected, workers)
            return list(selected) if context.build is not None else None
        except errors.RepositoryError as err:
            failed = err
    if context.shard is None:
        raise errors.RepositoryError(
            f"--queue {key}: {failed} No shard to fall back to: pass --shard K/N (or "
            "run where the CI names the shard) to run a static shard when the database "
            "is down.")
    context.say(f"--queue {key}: the database cannot be used ({failed}); running static "
                f"shard {context.shard} instead, without durations.\n")
    return cut_shard(context, selected, durations={})


@contextlib.contextmanager
def storing_node_run(context):
    """Around storing a run: for a --queue node whose run the database did
    not take (its stream is kept, the error says where), also say what
    becomes of the build."""
    try:
        yield
    except errors.RepositoryError as err:
        if context.build is None:
            raise
        key = context.build.key
        raise errors.RepositoryError(
            f"{err} Build {key}: its other nodes (or `testr run --queue {key}` again) run "
            "this node's tests again once its leases lapse.") from None


def finish_queue(context, outcome: RunOutcome) -> RunOutcome:
    """After the node's run is stored: the build's end (queue_mode.finish).
    A node that ran none of the build's tests (others took them all) did
    nothing wrong: exit 0."""
    from testrepo.api import queue_mode

    result = queue_mode.finish(context, context.build, outcome)
    if result is outcome and outcome.record is not None and outcome.record.total == 0:
        context.say(f"This node ran none of build {context.build.key}'s tests: the other "
                    "nodes took them all.\n")
        return dataclasses.replace(outcome, exit_code=EXIT_SUCCESS)
    return result
