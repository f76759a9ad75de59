"""Import a testrepository or stestr repository (format 1) into testrepo.

Both tools write the same layout (stestr adds ``meta.dbm``)::

    format          "1\\n"
    next-stream     the id the next run would get
    0, 1, ...       one subunit **v1** stream per run (stestr's ``history
                    remove`` leaves gaps)
    failing         subunit v1 stream of the currently failing tests
    times.dbm*      dbm (``dbm.dumb`` on most systems): test id -> the
                    latest duration in seconds, as text
    meta.dbm*       stestr only: run id -> a metadata string

Each run is parsed with subunit's v1 parser (``ProtocolTestCase``, as
testrepository itself reads them) and fed through
``testtools.ExtendedToStreamDecorator`` into a normal ``Inserter``, so it is
stored as subunit v2 with its counts, timestamps, durations and tags (the
``worker-N`` tags say which worker ran a test; v1 has no route codes).
Then the failing set is made exactly the legacy ``failing`` file's
failures (a testr ``--partial`` run may have left it different from the
last run's), and ``times.dbm`` fills in durations for tests no imported run
timed (removed runs, skipped tests).
"""

from __future__ import annotations

import dataclasses
import dbm
import glob
import io
import os
from typing import Dict, List, Optional, Tuple


from testrepo import errors
from testrepo.repository.abstract import Repository, TallyResult

FORMAT_FILE = "format"
NEXT_STREAM_FILE = "next-stream"
FAILING_FILE = "failing"
TIMES_DB = "times.dbm"
META_DB = "meta.dbm"
# Where testrepository and stestr keep their repositories in a project.
LEGACY_DIRNAMES = (".testrepository", ".stestr")


@dataclasses.dataclass(frozen=True)
class ImportOutcome:
    """What ``import_repository`` stored: the new run ids (in the order of
    ``legacy_ids``, the ids they had), the size of the failing set and how
    many durations came from ``times.dbm`` alone."""

    source: str
    legacy_ids: Tuple[int, ...]
    run_ids: Tuple[int, ...]
    failing: int
    durations_from_times_db: int


def find_legacy(path: str) -> str:
    """The format 1 repository directory ``path`` names: the directory
    itself, or the ``.testrepository/`` or ``.stestr/`` inside it."""
    if os.path.isfile(os.path.join(path, FORMAT_FILE)):
        _check_legacy(path)
        return path
    # testrepo's own .testrepository/ (format 2) may sit beside a .stestr/.
    found = [os.path.join(path, name) for name in LEGACY_DIRNAMES
             if _is_legacy(os.path.join(path, name))]
    if len(found) > 1:
        raise errors.UsageError(
            f"{path} holds both {found[0]} and {found[1]}; name the one to import.")
    if not found:
        raise errors.RepositoryNotFound(
            f"No testrepository or stestr repository at {path} (no {FORMAT_FILE} file, "
            f"no format 1 .testrepository/ or .stestr/ in it); give the repository directory.")
    return found[0]


def is_legacy_source(path: str) -> bool:
    """Whether ``path`` is for ``import_repository``: a directory whose
    format file says 1 (complete or not: ``find_legacy`` explains what is
    wrong), or one with no format file holding a format 1
    ``.testrepository/`` or ``.stestr/``. Anything else (a testrepo
    repository, a URL) is not."""
    format_path = os.path.join(path, FORMAT_FILE)
    if os.path.isfile(format_path):
        return _read_text(format_path).strip() == "1"
    return any(_is_legacy(os.path.join(path, name)) for name in LEGACY_DIRNAMES)


def _is_legacy(path: str) -> bool:
    format_path = os.path.join(path, FORMAT_FILE)
    return (os.path.isfile(format_path) and _read_text(format_path).strip() == "1"
            and os.path.isfile(os.path.join(path, NEXT_STREAM_FILE)))


def _check_legacy(path: str) -> None:
    if _is_legacy(path):
        return
    format_path = os.path.join(path, FORMAT_FILE)
    version = _read_text(format_path).strip()
    if version == "2":
        raise errors.UsageError(
            f"{path} is already a testrepo (format 2) repository; use it with "
            f"`testr --repo-url {path} last`, there is nothing to import.")
    raise errors.RepositoryCorrupt(
        f"{format_path} contains {version[:40]!r}; a testrepository or stestr repository "
        f"has '1' and a {NEXT_STREAM_FILE} file. Give such a directory.")


def _read_text(path: str) -> str:
    try:
        with open(path, "rb") as stream:
            return stream.read(4096).decode("utf-8", "replace")
    except OSError as err:
        raise errors.RepositoryError(
            f"Cannot read {path} ({err.strerror or err}); check its permissions.") from err


def legacy_run_ids(path: str) -> List[int]:
    """The ids of the runs stored in the format 1 repository at ``path``."""
    return sorted(int(name) for name in os.listdir(path) if name.isdigit())


def import_repository(path: str, repo: Repository) -> ImportOutcome:
    """Copy the runs, failing set and timings of the format 1 repository at
    ``path`` (see ``find_legacy``) into ``repo``, which must hold no runs.

    If anything fails, the runs already copied are removed again.
    """
    source = os.path.abspath(find_legacy(path))
    if repo.count():
        raise errors.UsageError(
            f"The repository at {repo.path} already holds {repo.count()} runs; import into "
            f"an empty one (`testr --repo-url NEW_DIR import {path}`) or empty this one "
            "with `testr history remove all`.")
    metadata = read_metadata(source)
    legacy_ids = legacy_run_ids(source)
    run_ids: List[int] = []
    try:
        for legacy_id in legacy_ids:
            run_ids.append(_import_run(source, legacy_id, metadata.get(legacy_id), repo))
        failing = read_failing(source)
        if run_ids:
            repo.replace_failing(failing, run_ids[-1])
        added = repo.import_durations(read_times(source))
    except BaseException:
        if run_ids:
            repo.remove_runs(run_ids)
        raise
    return ImportOutcome(source, tuple(legacy_ids), tuple(run_ids),
                         len(failing) if run_ids else 0, added)


def _import_run(source: str, legacy_id: int, legacy_metadata: Optional[str],
                repo: Repository) -> int:
    metadata = {"imported-from": source, "imported-run-id": str(legacy_id)}
    if legacy_metadata is not None:
        metadata["imported-metadata"] = legacy_metadata
    inserter = repo.insert(metadata=metadata)
    inserter.startTestRun()
    replay_v1(os.path.join(source, str(legacy_id)), inserter)
    inserter.stopTestRun()
    return inserter.run_id


def replay_v1(path: str, result) -> None:
    """Parse the subunit v1 file ``path`` into the StreamResult ``result``
    (without starting or stopping its test run). Lines that are not
    subunit arrive as one test-less ``stdout`` file event at the end."""
    # Imported here: only an import needs subunit's v1 parser and testtools.
    import subunit
    import testtools

    passthrough = io.BytesIO()
    # The router keeps the decorator's startTestRun/stopTestRun from result.
    decorator = testtools.ExtendedToStreamDecorator(
        testtools.StreamResultRouter(result, do_start_stop_run=False))
    try:
        with open(path, "rb") as stream:
            decorator.startTestRun()
            subunit.ProtocolTestCase(stream, passthrough=passthrough).run(decorator)
            decorator.stopTestRun()
    except OSError as err:
        raise errors.RepositoryError(
            f"Cannot read {path} ({err.strerror or err}); check its permissions.") from err
    if passthrough.getvalue():
        result.status(file_name="stdout", file_bytes=passthrough.getvalue(), eof=True,
                      mime_type="text/plain; charset=utf8")


def read_failing(source: str) -> Dict[str, bytes]:
    """{test id: its v2 events} of the tests in the legacy ``failing`` file."""
    path = os.path.join(source, FAILING_FILE)
    if not os.path.exists(path):
        return {}
    tally = TallyResult()
    replay_v1(path, tally)
    return dict(tally.tally.failed_events)


def read_times(source: str) -> Dict[str, float]:
    """{test id: seconds} from ``times.dbm`` ({} if there is none)."""
    times = {}
    for key, value in _read_dbm(os.path.join(source, TIMES_DB)).items():
        try:
            times[key] = float(value)
        except ValueError as err:
            raise errors.RepositoryCorrupt(
                f"{os.path.join(source, TIMES_DB)} gives {key} the duration {value!r}, "
                "not a number; delete times.dbm* to import without timings.") from err
    return times


def read_metadata(source: str) -> Dict[int, str]:
    """{legacy run id: metadata string} from stestr's ``meta.dbm``."""
    return {int(key): value for key, value in _read_dbm(os.path.join(source, META_DB)).items()
            if key.isdigit()}


def _read_dbm(base: str) -> Dict[str, str]:
    kind = dbm.whichdb(base)
    if kind is None and not glob.glob(glob.escape(base) + "*"):
        return {}  # no such database
    advice = f"delete {os.path.basename(base)}* to import without it"
    if not kind:
        raise errors.RepositoryCorrupt(
            f"{base} is not a database this Python can read; {advice}.")
    try:
        database = dbm.open(base, "r")
        try:
            return {key.decode("utf-8", "replace"): database[key].decode("utf-8", "replace")
                    for key in database.keys()}
        finally:
            database.close()
    # dbm.dumb evaluates its index with ast.literal_eval: a corrupt one
    # raises SyntaxError or ValueError.
    except dbm.error + (SyntaxError, ValueError) as err:
        raise errors.RepositoryCorrupt(f"Cannot read {base} ({err}); {advice}.") from err
