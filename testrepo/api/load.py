"""``testr load``: store subunit v2 streams as one run."""

from __future__ import annotations

from typing import BinaryIO, Sequence, TextIO

from testrepo import errors
from testrepo.api.project import RunOutcome, filter_tags, open_repository
from testrepo.api.stream import stream_run
from testrepo.options import LoadOptions, OutputOptions, Project
from testrepo.results.filters import WorkerTagger


def load(project: Project, streams: Sequence[BinaryIO], options: LoadOptions,
         output: OutputOptions, out: TextIO) -> RunOutcome:
    """Store v2 streams as one run; stream N is tagged ``worker-N``.

    Every stream is read and checked before anything is stored: a corrupt
    or truncated one is a :class:`UsageError` and the repository is left
    unchanged, unless ``options.partial`` asks to keep what came before the
    damage.
    """
    decoded = [_decode_stream(source, options.partial) for source in streams]
    repo = open_repository(project, create=options.force_init,
                           out=None if output.subunit else out)

    def feed(sink):
        for index, events in enumerate(decoded):
            tagger = WorkerTagger(sink.result, index)
            for event in events:
                tagger.status(**event.as_status())

    # Closed here, not left to the garbage collector: a database's pooled
    # connections would outlive a caller that embeds testrepo.
    try:
        return stream_run(_load_inserter(repo, options, project), output, out, feed)
    finally:
        repo.close()


def _decode_stream(source: BinaryIO, partial: bool) -> list:
    from testrepo import subunit_v2

    name = getattr(source, "name", "the stream")
    name = "standard input" if name == "<stdin>" else name
    try:
        data = source.read()
    except OSError as err:
        raise errors.UsageError(f"cannot read {name}: {err}") from err
    events = []
    for event in subunit_v2.iter_events(data):
        if event.test_id == "subunit.parser":
            if partial:
                break
            reason = event.file_bytes.decode("utf-8", "replace")
            raise errors.UsageError(
                f"{name} is not a valid subunit v2 stream ({reason} after "
                f"{len(events)} good events); nothing was stored. Pass --partial to "
                "store the events before the damage.")
        events.append(event)
    if not any(event.test_id and event.status for event in events):
        raise errors.UsageError(
            f"{name} holds no test results (is it subunit v2? v1 streams need "
            "`subunit-1to2` first); nothing was stored.")
    return events



def _load_inserter(repo, options: LoadOptions, project: Project):
    """A new run, or with ``options.run_id`` an append to that run; the
    project's filter_tags (if its configuration loads) are hidden."""
    if options.run_id is not None:
        inserter = repo.append(options.run_id)
    else:
        inserter = repo.insert(partial=options.partial)
    inserter.hide_tags(filter_tags(project))
    return inserter
