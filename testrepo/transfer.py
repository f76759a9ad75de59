"""Copy the whole history of one testrepo repository into another.

Written against the abstract :class:`~testrepo.repository.abstract.Repository`
alone, so it moves history between any two backends (file, memory, SQL)::

    source runs 3, 5, 6 (oldest first)
      each: stream ─subunit_v2.iter_events─▶ destination.insert(partial, metadata)
            (interrupted runs marked so)        stores the same v2 bytes,
                                                recounts, retimes
    then: destination.replace_failing(source failing set, newest copied run)
          destination.import_durations(source durations no copied run measured)

Destination run ids are allocated afresh (``TransferOutcome.run_ids`` maps
source ids to them); records keep their counts, times, flags and metadata
(``flaky`` included).
"""

from __future__ import annotations

import dataclasses
import types
from typing import Dict, Iterable, List, Mapping

from testrepo import errors, subunit_v2
from testrepo.repository.abstract import Repository, Run


@dataclasses.dataclass(frozen=True)
class TransferOutcome:
    """What ``copy_history`` stored: ``source``/``destination`` name the
    repositories as messages show them (a database password as ``***``);
    ``run_ids`` maps each source run id to
    the destination run id it became (oldest first); ``failing`` is the size
    of the failing set, ``durations`` how many tests have a duration, and
    ``imported_durations`` how many of those no copied run measured."""

    source: str
    destination: str
    run_ids: Mapping[int, int]
    failing: int
    durations: int
    imported_durations: int


def copy_history(source: Repository, destination: Repository,
                 hidden_tags: Iterable[str] = ()) -> TransferOutcome:
    """Copy every run of ``source`` (oldest first), its failing set and its
    durations into ``destination``, which must hold no runs.

    ``hidden_tags`` are the ``filter_tags`` the source's runs were counted
    with (as ``testr load`` hides them), so that the copied records keep
    the same counts. If anything fails, the runs already copied are removed
    again. Raises UsageError if ``destination`` already holds runs.
    """
    check_empty(destination, source)
    run_ids = {}
    try:
        for source_id in source.run_ids():
            run_ids[source_id] = copy_run(source.get_run(source_id), destination, hidden_tags)
        failing = failing_events(source)
        if run_ids:
            destination.replace_failing(failing, run_ids[max(run_ids)])
        durations = source.durations()
        imported = destination.import_durations(durations)
    except BaseException:
        if run_ids:
            destination.remove_runs(run_ids.values())
        raise
    return TransferOutcome(source.path, destination.path, types.MappingProxyType(run_ids),
                           len(failing) if run_ids else 0, len(durations), imported)


def check_empty(destination: Repository, source: Repository) -> None:
    """Refuse to copy into a repository that already holds runs: the two
    histories cannot be merged (run ids, the failing set and durations
    would mix)."""
    count = destination.count()
    if count:
        raise errors.UsageError(
            f"The repository at {destination.path} already holds {count} runs; copy "
            f"{source.path} into a new or empty repository instead, or empty this one "
            f"with `testr --repo-url {destination.path} history remove all`.")


def copy_run(run: Run, destination: Repository, hidden_tags: Iterable[str] = ()) -> int:
    """Store ``run`` in ``destination`` as a new run; return its run id.

    The stored stream is the same bytes: each event is decoded and handed
    to the inserter, whose v2 encoding of it is the packet it came from.
    """
    record = run.record
    inserter = destination.insert(partial=record.partial, metadata=record.metadata)
    inserter.hide_tags(hidden_tags)
    if record.interrupted:
        inserter.mark_interrupted()
    inserter.startTestRun()
    with run.stream() as stream:
        data = stream.read()
    # Not subunit_v2.replay: it hands tags over as a set, and a set's order
    # (which the encoder keeps) changes from process to process.
    for event in subunit_v2.iter_events(data):
        inserter.status(**dict(event.as_status(), test_tags=event.tags))
    inserter.stopTestRun()
    return inserter.run_id


def failing_events(repo: Repository) -> Dict[str, bytes]:
    """{test id: its stored v2 events} of ``repo``'s failing set, the bytes
    as stored (``failing_stream`` split at test ids)."""
    data = repo.failing_stream()
    packets: Dict[str, List[bytes]] = {}
    pos = 0
    while pos < len(data):
        try:
            event, end = subunit_v2.decode_packet(data, pos)
        except subunit_v2.DecodeError as err:
            raise errors.RepositoryCorrupt(
                f"The failing set of the repository at {repo.path} is not readable "
                f"subunit v2 ({err}); `testr repair` rebuilds a file repository's "
                "index from its runs.") from err
        if event.test_id is not None:
            packets.setdefault(event.test_id, []).append(data[pos:end])
        pos = end
    return {test_id: b"".join(parts) for test_id, parts in packets.items()}
