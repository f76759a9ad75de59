"""``testr run --queue BUILD_KEY``: one node of a build whose nodes share
one queue in the PostgreSQL repository (doc/fleet.rst).

The steps, in the built-in runner's executor: :func:`join` (after the
listing; the first node plans the queue from the shared durations) gives
the :class:`Build` whose ``work`` the pool pulls from while a thread
renews the node's leases; the node's own results are stored as an
ordinary partial run (``queue=KEY``, ``queue_node=NODE``); then
:func:`finish` waits until every other node has stored its run (or fell
silent for the TTL), and the last one merges the node runs into the
build's run and removes them and the queue's rows.  A node whose run the
merge did not take in (it was presumed dead) appends it to the build's
run afterwards; so does the testr that recovers a killed node's spooled
run (:func:`rejoin_recovered`).  The lease TTL is the build's (its
planning node's).
"""

from __future__ import annotations

import dataclasses
import io
import os
import socket
import threading
import uuid
from typing import Optional, Sequence

from testrepo import errors, scheduler
from testrepo.api.project import RunOutcome
from testrepo.options import OutputOptions
from testrepo.scheduler import build_queue
from testrepo.scheduler.leased import LeasedWork


@dataclasses.dataclass
class Build:
    """This node's part in build ``key``."""

    key: str
    node: str
    queue: object  # repository.sql_queue.BuildQueue
    work: LeasedWork
    stop: threading.Event = dataclasses.field(default_factory=threading.Event)

    @property
    def metadata(self):
        return {"queue": self.key, "queue_node": self.node}

    def renew_leases(self) -> None:
        """The heartbeat thread: renew until ``stop``; a failed renewal is
        tried again at the next beat (the leases may lapse meanwhile: then
        other nodes rerun them, and the merge says so)."""
        while not self.stop.wait(build_queue.heartbeat_seconds(self.queue.ttl)):
            try:
                self.queue.heartbeat()
            except errors.RepositoryError:
                pass


# How long a ``testr last`` that took over a dead merger's merge holds it
# (it renews nothing: the merge takes seconds).
ORPHAN_MERGE_TTL = 60.0


def node_name() -> str:
    """This process, as the queue's rows name it: host, pid, a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def join(context, selected: Sequence[str], workers: int) -> Optional[Build]:
    """Join build ``context.options.queue`` (planning it if first); None
    when it is over already (said).  RepositoryError if the database
    cannot be used."""
    from testrepo.repository.sql import SQLRepository
    from testrepo.repository.sql_queue import BuildQueue

    key = context.options.queue
    if not isinstance(context.repo, SQLRepository):
        raise errors.UsageError(
            f"--queue {key}: the repository {getattr(context.repo, 'path', '')} is not a "
            "PostgreSQL database; pass --repo-url postgresql://USER@HOST/DB (or use --shard)")
    queue = BuildQueue(context.repo._db, key, node_name(), context.options.lease_ttl)
    config = context.config
    group_of = scheduler.group_function(config.group_regex, config.parallel_class)

    def make_items():
        durations = context.repo.durations(selected) if selected else {}
        items = build_queue.plan_items(selected, durations, group_of)
        context.say(_plan_note(key, items, workers))
        return items

    partial = bool(context.options.partial or context.selection.restricted)
    joined = queue.join(make_items, workers, partial)
    if joined.state != "running":
        over = f"run {joined.run_id}" if joined.run_id is not None else "being merged"
        context.say(f"Build {key} is over ({over}); nothing left to run.\n")
        return None
    if not joined.planned:
        context.say(f"Joined build {key}: {joined.items} item(s) in its queue.\n")
    if joined.ttl != float(context.options.lease_ttl):
        context.say(f"Build {key}: its lease TTL is {joined.ttl:g} s (its planning node's "
                    f"--lease-ttl), not this node's {context.options.lease_ttl:g} s; using "
                    f"{joined.ttl:g} s.\n")
    work = LeasedWork(queue, build_queue.poll_seconds(queue.ttl), patience=queue.ttl,
                      wait=queue.wait_for_news)
    build = Build(key, queue.node, queue, work)
    threading.Thread(target=build.renew_leases, daemon=True).start()
    return build


def _plan_note(key: str, items, workers: int) -> str:
    total = sum(item.estimate for item in items)
    longest = max((item.estimate for item in items), default=0.0)
    note = (f"Planned build {key}: {len(items)} item(s), ~{total:.0f} s of work, longest "
            f"~{longest:.0f} s.")
    target = float(os.environ.get("TESTREPO_TARGET_SECONDS", "600"))
    nodes = build_queue.recommend_nodes(total, longest, workers, target)
    if nodes is None:
        return note + (f" No number of nodes finishes in {target:.0f} s: the longest item "
                       "alone takes longer.\n")
    return note + (f" For {target:.0f} s, use at least {nodes} node(s) of {workers} "
                   "worker(s).\n")


def finish(context, build: Build, outcome: RunOutcome) -> RunOutcome:
    """This node's run is stored: wait for the others, then (the last
    node, or the one that takes over from a merger that died) merge.
    Returns this node's outcome, or the build's when merged.  The leases
    and the merge lease are renewed until the end."""
    work = build.work
    if work.failure is not None:
        context.say(f"--queue {build.key}: the database failed during the run "
                    f"({work.failure}); this node stopped leasing.\n")
    try:
        while True:
            answer = build.queue.finish(outcome.run_id)
            if answer.action == "leave":
                _join_late(context, build, answer.merged, outcome)
                return outcome
            if answer.action == "merge":
                break
            build.queue.wait_for_news(build_queue.poll_seconds(build.queue.ttl))
        from testrepo.api import queue_merge

        merged = queue_merge.merge(context.repo, build.key, answer, context.config.filter_tags,
                                   context.output, context.out)
        build.queue.forget()
        if outcome.run_id not in answer.run_ids:
            # Taken over from a merger that chose its node runs before this
            # node stored its own.
            _join_late(context, build, merged.run_id, outcome)
    finally:
        build.stop.set()
    return merged


def _join_late(context, build: Build, merged: Optional[int], outcome: RunOutcome) -> None:
    """This node's run, stored after the build's run ``merged`` was made
    (its leases had lapsed: it was presumed dead), joins that run.  A run
    the merge took in was removed by it: nothing to do."""
    if merged is None or outcome.run_id not in context.repo.run_ids():
        return
    from testrepo.api import queue_merge

    with build.queue.late_join_lock():
        twice = queue_merge.join_late(context.repo, merged, outcome.run_id,
                                      context.config.filter_tags)
    context.say(f"Build {build.key}: its run {merged} was made before this node stored its "
                f"results (its leases had lapsed); they join that run, {len(twice)} tagged "
                "'duplicate'.\n")


def complete_orphaned(repo, filter_tags, output, out) -> None:
    """Merge the builds in ``repo`` whose merging node died with nobody
    left waiting to take over (``testr last`` does, before it shows the
    latest run)."""
    from testrepo.repository.sql import SQLRepository
    from testrepo.repository.sql_queue import BuildQueue

    if not isinstance(repo, SQLRepository) or repo._db.sqlite:
        return
    from testrepo.api import queue_merge

    for key in BuildQueue.orphaned_merges(repo._db):
        queue = BuildQueue(repo._db, key, node_name(), ORPHAN_MERGE_TTL)
        answer = queue.take_over_merge()
        if answer is None:
            continue  # another process took it first
        merged = queue_merge.merge(repo, key, answer, filter_tags, output, io.StringIO())
        queue.forget()
        if not output.subunit:
            out.write(f"Build {key}: its merging node {answer.taken_from} fell silent; its "
                      f"node runs are merged now, into run {merged.run_id}.\n")


def rejoin_recovered(repo, record, filter_tags) -> str:
    """A killed node's run of build ``queue``, recovered from its spool:
    what becomes of it, said.  While the build runs it counts as the
    node's run (the merge takes it in); once the build's run is made it
    joins that run; if every other node is gone, this process merges."""
    from testrepo.api import queue_merge
    from testrepo.repository.sql_queue import BuildQueue

    key, node = record.metadata["queue"], record.metadata["queue_node"]
    queue = BuildQueue(repo._db, key, node, ORPHAN_MERGE_TTL)
    # Its last results may not have reached the spool: its items go back
    # to the queue (results it has are then duplicates, tagged as such).
    answer = queue.finish(record.run_id, whole=False)
    while answer.action == "wait" and not answer.counted:
        # Being merged (seconds): the merge did not take this run in.
        queue.wait_for_news(build_queue.poll_seconds(queue.ttl))
        answer = queue.finish(record.run_id, whole=False)
    said = f"It was node {node}'s run of build {key}: "
    if answer.action == "wait":
        return said + "the build's merge takes it in.\n"
    merged = answer.merged
    if answer.action == "merge":
        merged = queue_merge.merge(repo, key, answer, filter_tags,
                                   OutputOptions(quiet=True), io.StringIO()).run_id
        queue.forget()
    if merged is None:
        return said + "the build left no run (abandoned); it stays a run of its own.\n"
    if record.run_id not in repo.run_ids():
        return said + f"merged into the build's run {merged}.\n"
    with queue.late_join_lock():
        twice = queue_merge.join_late(repo, merged, record.run_id, filter_tags)
    return said + (f"it joined the build's run {merged} ({len(twice)} result(s) tagged "
                   "'duplicate').\n")
