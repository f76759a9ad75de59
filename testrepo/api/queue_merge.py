"""The end of a ``--queue`` build: its node runs become one run.

The last node to finish replays every node run's stream into a new run
(``queue=KEY``, ``queue_nodes=N``), events tagged ``node-N``; a test
whose item was leased more than once (a node presumed dead that was not)
and that has results from more than one node is tagged ``duplicate``
on its later results, so the run says it ran twice; tests whose results
no node stored (a node died after running them and nobody was left) are
failed as not run.  Then the node runs are removed: ``last``,
``failing``, ``compare``, the reports and JUnit see the whole build.
"""

from __future__ import annotations

import io
from typing import List, Set

from testrepo import subunit_v2
from testrepo.api.project import RunOutcome
from testrepo.api.stream import stream_run
from testrepo.options import OutputOptions
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


def merge(context, build, answer) -> RunOutcome:
    """Store the build's run from the node runs ``answer.run_ids``."""
    repo = context.repo
    streams = [repo.get_run(run_id).stream().read() for run_id in answer.run_ids]
    metadata = {"queue": build.key, "queue_nodes": str(len(streams))}
    partial = context.options.partial or context.selection.restricted
    inserter = repo.insert(partial=partial, metadata=metadata)
    inserter.hide_tags(context.config.filter_tags)
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
                    test_id, 0, f"{test_id} was not run in build {build.key}: the node that "
                    "leased it stopped before storing its results, after every other node "
                    "had finished"))

    context.say(f"Build {build.key}: merging {len(streams)} node run(s) into one.\n")
    quiet = OutputOptions(quiet=True, color=context.output.color)
    # With --subunit the node's stream went to stdout; the build's summary
    # must not follow it there.
    out = io.StringIO() if context.output.subunit else context.out
    outcome = stream_run(inserter, quiet, out, feed)
    if duplicates:
        context.say(f"{len(duplicates)} test(s) ran on two nodes (a node's leases lapsed "
                    "while it still ran them); their later results are tagged "
                    f"'duplicate': {', '.join(duplicates[:5])}"
                    f"{' ...' if len(duplicates) > 5 else ''}\n")
    repo.remove_runs(answer.run_ids)
    return outcome
