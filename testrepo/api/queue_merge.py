"""The end of a ``--queue`` build: its node runs become one run.

The last node to finish replays every node run's stream into a new run
(``queue=KEY``, ``queue_nodes=N``), events tagged ``node-N``; a test
whose item was leased more than once (a node presumed dead that was not)
and that has results from more than one node is tagged ``duplicate``
on its later results, so the run says it ran twice; tests whose results
no node stored (a node died after running them and nobody was left) are
failed as not run.  Then the node runs are removed: ``last``,
``failing``, ``compare``, the reports and JUnit see the whole build.

The build's run is stored in one transaction and the node runs removed
in another: a node that takes the merge over from a merger that died
(:mod:`testrepo.repository.sql_queue`) finds the run stored or not, and
the node runs all there or all gone, and finishes what is left.

A node run stored after the build's run was made (a node presumed dead
that was not, or a killed node's run recovered from its spool) is
appended to the build's run (:func:`join_late`), so the build stays one
run.
"""

from __future__ import annotations

import io
from typing import List, Set

from testrepo import subunit_v2
from testrepo.api.project import RunOutcome
from testrepo.api.stream import run_exit_code, stream_run
from testrepo.options import OutputOptions
from testrepo.reports import trace
from testrepo.results.filters import StreamFilter
from testrepo.results.outcome import synthetic_outcome


class NodeTagger(StreamFilter):
    """Tags events ``node-N``, and ``duplicate`` for a test an earlier
    node's stream already has a result for."""

    def __init__(self, target, node: int, earlier: Set[str], seen: Set[str]):
        super().__init__(target)
        self.node, self.earlier, self.seen = node, earlier, seen

    def status(self, test_id=None, test_tags=None, **event):
        tags = set(test_tags or ())
        tags.add(f"node-{self.node}")
        if test_id is not None:
            if test_id in self.earlier:
                tags.add("duplicate")
            self.seen.add(test_id)
        self.target.status(test_id=test_id, test_tags=tags, **event)


def merge(repo, key: str, answer, filter_tags, output: OutputOptions, out) -> RunOutcome:
    """Store build ``key``'s run from the node runs ``answer.run_ids`` (a
    :class:`testrepo.repository.sql_queue.Finish`), or, if a merger that
    died stored it already (``answer.merged``), only remove them."""
    say = _say(output, out)
    if answer.taken_from is not None:
        say(f"Build {key}: its merging node {answer.taken_from} fell silent; this node takes "
            "the merge over.\n")
    if answer.merged is None:
        outcome = _replay(repo, key, answer, filter_tags, output, out)
    else:
        record = repo.get_run(answer.merged).record
        say(f"Build {key}: its run {answer.merged} was stored already; removing the node "
            "runs.\n")
        if not output.subunit:
            trace.write_summary(out, record)
        outcome = RunOutcome(answer.merged, record, run_exit_code(record))
    # A merger that died while removing them removed all or none (one
    # transaction); one that died after it, all.
    stored = set(repo.run_ids())
    repo.remove_runs([run_id for run_id in answer.run_ids if run_id in stored])
    return outcome


def join_late(repo, build_run: int, node_run: int, filter_tags) -> List[str]:
    """Append node run ``node_run`` (a node presumed dead that stored its
    run after the build's run ``build_run`` was made) to the build's run,
    its events tagged ``node-N`` (N: the build's next node) and
    ``duplicate`` for the tests the build's run has results for; then
    remove the node run.  The ids tagged ``duplicate``."""
    record = repo.get_run(build_run).record
    earlier = set(repo.test_results(build_run))
    data = repo.get_run(node_run).stream().read()
    node = int(record.metadata.get("queue_nodes", "0"))
    inserter = repo.append(build_run)
    inserter.metadata["queue_nodes"] = str(node + 1)
    inserter.hide_tags(filter_tags)
    inserter.spool_as_copy()  # the node run is removed only once this is stored
    seen: Set[str] = set()
    tagger = NodeTagger(inserter, node, earlier, seen)
    inserter.startTestRun()
    for event in subunit_v2.iter_events(data):
        tagger.status(**event.as_status())
    inserter.stopTestRun()
    repo.remove_runs([node_run])
    return sorted(earlier & seen)


def _say(output: OutputOptions, out):
    def say(text: str) -> None:
        if not output.subunit:
            out.write(text)
    return say


def _replay(repo, key, answer, filter_tags, output, out) -> RunOutcome:
    streams = [repo.get_run(run_id).stream().read() for run_id in answer.run_ids]
    metadata = {"queue": key, "queue_nodes": str(len(streams))}
    inserter = repo.insert(partial=answer.partial, metadata=metadata)
    inserter.hide_tags(filter_tags)
    inserter.spool_as_copy()  # made again from the node runs if this node dies
    duplicates: List[str] = []
    possible = set(answer.duplicates)

    def feed(sink):
        earlier: Set[str] = set()
        for node, data in enumerate(streams):
            seen: Set[str] = set()
            tagger = NodeTagger(sink.result, node, earlier & possible, seen)
            for event in subunit_v2.iter_events(data):
                tagger.status(**event.as_status())
            duplicates.extend(sorted((earlier & possible) & seen))
            earlier |= seen
        for test_id in answer.lost:
            if test_id not in earlier:
                sink.add_outcome(synthetic_outcome(
                    test_id, 0, f"{test_id} was not run in build {key}: the node that "
                    "leased it stopped before storing its results, after every other node "
                    "had finished"))

    say = _say(output, out)
    say(f"Build {key}: merging {len(streams)} node run(s) into one.\n")
    quiet = OutputOptions(quiet=True, color=output.color)
    # With --subunit the node's stream went to stdout; the build's summary
    # must not follow it there.
    outcome = stream_run(inserter, quiet, io.StringIO() if output.subunit else out, feed)
    if duplicates:
        say(f"{len(duplicates)} test(s) ran on two nodes (a node's leases lapsed while it "
            "still ran them); their later results are tagged 'duplicate': "
            f"{', '.join(duplicates[:5])}{' ...' if len(duplicates) > 5 else ''}\n")
    return outcome
