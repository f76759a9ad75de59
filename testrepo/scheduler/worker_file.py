"""stestr's worker file (``run --worker-file FILE``): which tests run on
which worker.

The file is YAML, a list of entries; each names the tests of one worker by
regexes (``re.search``, like filters) and may give it several processes::

    - worker:
        - ^sample\\.test_db\\.          # the database tests, on one worker
    - worker:
        - TestApi
        - TestCli
      concurrency: 2                    # these on two workers of their own

Differences from stestr, on purpose: a test matched by several entries runs
once, on the first entry that matches it (stestr runs it on each); tests
matched by no entry are not dropped silently but run on one extra worker
after the entries' workers (stestr does not run them).

:func:`read_worker_file` does the I/O and validation (voluptuous; every
problem is one :class:`~testrepo.errors.ConfigError` line naming the file,
the entry and the key). :func:`assign`, :func:`partition` and
:func:`build_queue` are pure.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import List, Mapping, Optional, Sequence, Tuple

import voluptuous

from testrepo import errors
from testrepo.scheduler.pinned import PinnedQueue
from testrepo.scheduler.queue import WorkQueue
from testrepo.scheduler.static import GroupOf, partition as static_partition

_KEYS = ("worker", "concurrency")


@dataclasses.dataclass(frozen=True)
class WorkerEntry:
    """One ``- worker:`` entry: its regexes and number of workers."""

    patterns: Tuple[re.Pattern, ...]
    concurrency: int = 1


@dataclasses.dataclass(frozen=True)
class Assignment:
    """Each entry's test ids (listing order) and the ids no entry matched."""

    entries: Tuple[Tuple[str, ...], ...]
    unmatched: Tuple[str, ...]


def read_worker_file(path: str, directory: str = ".") -> List[WorkerEntry]:
    """The entries of the worker file at ``path`` (relative to
    ``directory``). Raises ConfigError for a missing, unreadable or invalid
    file, e.g. ``workers.yaml: entry 2: worker: expected a list of regular
    expressions, got 'x'``."""
    document = _read_yaml(os.path.join(directory, path), path)
    if not isinstance(document, list) or not document:
        raise errors.ConfigError(
            f"{path}: expected a list of '- worker: [REGEX, ...]' entries, "
            f"got {_show(document)}")
    try:
        entries = voluptuous.Schema([_entry_schema()])(document)
    except voluptuous.MultipleInvalid as err:
        raise _entry_error(path, err.errors[0], document) from err
    return [WorkerEntry(tuple(entry["worker"]), entry.get("concurrency", 1))
            for entry in entries]


def _read_yaml(full_path: str, shown: str):
    import yaml

    try:
        with open(full_path, encoding="utf-8") as stream:
            return yaml.safe_load(stream)
    except OSError as err:
        raise errors.ConfigError(
            f"{shown}: cannot read the worker file: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise errors.ConfigError(f"{shown}: not UTF-8 text (byte {err.start})") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise errors.ConfigError(f"{shown}: invalid YAML: {where}{problem}") from err


def _entry_schema():
    return voluptuous.All(
        _mapping,
        {voluptuous.Required("worker"): _regex_list,
         voluptuous.Optional("concurrency"): _positive_int})


def _entry_error(path: str, error: voluptuous.Invalid, document) -> errors.ConfigError:
    """``path: entry N: key: problem`` (entries count from 1)."""
    where = [f"entry {error.path[0] + 1}"] if error.path else []
    key = str(error.path[1]) if len(error.path) > 1 else None
    problem = error.error_message
    if key is not None and key not in _KEYS:
        problem = "unknown key (an entry has 'worker' and, optionally, 'concurrency')"
    elif error.msg == "required key not provided":
        key, problem = None, "has no 'worker' list of regular expressions"
    if key is not None:
        where.append(key)
    return errors.ConfigError(f"{path}: {': '.join(where + [problem])}")


def _mapping(value):
    if not isinstance(value, dict):
        raise voluptuous.Invalid(
            f"expected 'worker: [REGEX, ...]' (and optionally 'concurrency: N'), "
            f"got {_show(value)}")
    return value


def _regex_list(value) -> List[re.Pattern]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise voluptuous.Invalid(
            f"expected a non-empty list of regular expressions, got {_show(value)}")
    compiled = []
    for pattern in value:
        try:
            compiled.append(re.compile(pattern))
        except (re.error, OverflowError, RecursionError) as err:
            raise voluptuous.Invalid(f"invalid regular expression '{pattern}': {err}") from err
    return compiled


def _positive_int(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise voluptuous.Invalid(f"expected a whole number >= 1, got {_show(value)}")
    return value


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def assign(test_ids: Sequence[str], entries: Sequence[WorkerEntry]) -> Assignment:
    """Each test goes to the first entry with a regex that ``re.search``-es
    its id; ids no entry matches are ``unmatched``. Order is kept::

        entries = [WorkerEntry((re.compile('db'),)), WorkerEntry((re.compile('api'),))]
        assign(['t.api.a', 't.db.b', 't.ui.c'], entries)
        -> Assignment(entries=(('t.db.b',), ('t.api.a',)), unmatched=('t.ui.c',))
    """
    buckets: List[List[str]] = [[] for _ in entries]
    unmatched: List[str] = []
    for test_id in test_ids:
        for bucket, entry in zip(buckets, entries):
            if any(pattern.search(test_id) for pattern in entry.patterns):
                bucket.append(test_id)
                break
        else:
            unmatched.append(test_id)
    return Assignment(tuple(tuple(bucket) for bucket in buckets), tuple(unmatched))


def worker_count(entries: Sequence[WorkerEntry]) -> int:
    """Workers a run needs: each entry's, plus one for unmatched tests."""
    return sum(entry.concurrency for entry in entries) + 1


def partition(assignment: Assignment, entries: Sequence[WorkerEntry],
              durations: Mapping[str, float],
              group_of: Optional[GroupOf] = None) -> List[List[str]]:
    """Command mode: the static partitions, one list per worker, entry 1's
    first and the unmatched tests last; empty ones are dropped (as stestr
    does), so no process is started for an entry that matched nothing."""
    partitions: List[List[str]] = []
    for test_ids, entry in zip(assignment.entries, entries):
        partitions.extend(static_partition(list(test_ids), entry.concurrency, durations,
                                           group_of))
    partitions.append(list(assignment.unmatched))
    return [part for part in partitions if part]


def build_queue(assignment: Assignment, entries: Sequence[WorkerEntry],
                durations: Mapping[str, float], group_of: Optional[GroupOf] = None,
                rng=None) -> PinnedQueue:
    """The built-in runner: a queue per entry, shared by its workers, and
    one for the unmatched tests; worker N pulls only from its own."""
    queues: List[WorkQueue] = []
    for test_ids, entry in zip(assignment.entries, entries):
        queue = WorkQueue.build(list(test_ids), entry.concurrency, durations, group_of, rng)
        queues.extend([queue] * entry.concurrency)
    queues.append(WorkQueue.build(list(assignment.unmatched), 1, durations, group_of, rng))
    return PinnedQueue(queues)


def describe(assignment: Assignment, entries: Sequence[WorkerEntry]) -> str:
    """One line per entry for the run's output, e.g. ``worker file: entry 1
    (workers 0-1): 12 tests``; unmatched tests are named as such."""
    lines: List[str] = []
    first = 0
    for number, (test_ids, entry) in enumerate(zip(assignment.entries, entries), start=1):
        last = first + entry.concurrency - 1
        workers = f"worker {first}" if first == last else f"workers {first}-{last}"
        lines.append(f"worker file: entry {number} ({workers}): {len(test_ids)} tests\n")
        first = last + 1
    if assignment.unmatched:
        lines.append(f"worker file: {len(assignment.unmatched)} tests match no entry; "
                     f"they run on worker {first}\n")
    return "".join(lines)
