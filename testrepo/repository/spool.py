"""Spooling: a run is written to a local temp file while it records.

Both backends write a run's events, as they arrive, to
``<spool_dir>/run-<pid>-*.subunit`` (the file backend's ``tmp/``, or a
per-repository directory under ``~/.cache/testrepo/spool`` for a database)
and store the file only when the run ends. So:

* a testr killed mid-run leaves a spool file holding every event it had
  received; the next testr finds it (its pid is gone), claims it and
  stores it as an interrupted, partial run (``recover_spooled``);
* a run the database could not take is kept, renamed ``unsent-*`` so it is
  not taken for a killed testr's (``keep_unsent``), for a later ``testr
  load``;
* a run that is only a copy of runs stored already (a ``--queue``
  build's merge of its node runs) is spooled as ``copy-<pid>-*``: if its
  writer dies, the next testr deletes the file, as the build's run is
  made again from the stored node runs;
* a run whose metadata say what it belongs to (a ``--queue`` node's run)
  keeps them beside its file (``<file>.json``), so that a recovered run
  keeps them too and can rejoin its build.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from typing import TYPE_CHECKING, List

from testrepo import subunit_v2
from testrepo.errors import RepositoryError
from testrepo.repository.inserter import Inserter
from testrepo.repository.records import RunRecord

if TYPE_CHECKING:
    from testrepo.repository.abstract import Repository

# How stale the temp file of a run in progress may get (see _write).
FLUSH_INTERVAL = 0.25


def storage_error(action, path, err):
    return RepositoryError(
        "Cannot %s %s (%s); check its permissions and the free disk space."
        % (action, path, err.strerror or err))


class SpoolingInserter(Inserter):
    """Writes events to a temp file in the repository's ``spool_dir`` as
    they arrive, then hands it to ``repository._store(temp_path, pending)``,
    which stores the run and disposes of the file.

    If the process dies before ``stopTestRun`` the repository is unchanged
    and the temp file keeps every event received so far, for
    :func:`recover_spooled`.
    """

    def __init__(self, repository, partial, metadata):
        super().__init__(partial, metadata)
        self._repository = repository
        self._file = None
        self.temp_path = None
        self._kind = "run"
        self._keeps_metadata = False

    def spool_as_copy(self):
        """This run copies stored runs: if the process dies, its temp file
        is deleted, not recovered (the module docstring).  Before
        ``startTestRun``."""
        self._kind = "copy"

    def spool_metadata(self):
        """Keep the metadata beside the temp file: if the process dies, the
        recovered run has them (the module docstring).  Before
        ``startTestRun``."""
        self._keeps_metadata = True

    def _begin(self):
        tmp_dir = self._repository.spool_dir
        try:
            os.makedirs(tmp_dir, exist_ok=True)
            # The pid in the name tells recover_orphans whether the writer
            # is still alive.
            fd, self.temp_path = tempfile.mkstemp(
                prefix="%s-%d-" % (self._kind, os.getpid()), suffix=".subunit", dir=tmp_dir)
        except OSError as err:
            raise storage_error("create a temporary run file in", tmp_dir, err) from err
        self._file = os.fdopen(fd, "wb")
        self._flushed = 0.0
        if self._keeps_metadata:
            try:
                with open(_metadata_path(self.temp_path), "w", encoding="utf-8") as kept:
                    json.dump(self.metadata, kept)
            except OSError as err:
                raise storage_error("write", _metadata_path(self.temp_path), err) from err

    def _write(self, data):
        try:
            self._file.write(data)
            # Flush (no fsync) at most every FLUSH_INTERVAL seconds: a killed
            # process still leaves all but the last moments of its run in the
            # temp file, without a system call per test on 20,000 tests.
            now = time.monotonic()
            if now - self._flushed >= FLUSH_INTERVAL:
                self._file.flush()
                self._flushed = now
        except OSError as err:
            raise storage_error("write", self.temp_path, err) from err

    def _flush(self):
        try:
            self._file.flush()
            self._flushed = time.monotonic()
        except OSError as err:
            raise storage_error("write", self.temp_path, err) from err

    def _commit(self, pending):
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        except OSError as err:
            raise storage_error("write", self.temp_path, err) from err
        try:
            return self._repository._store(self.temp_path, pending)
        finally:
            _discard(_metadata_path(self.temp_path))


def recover_spooled(repository: "Repository", spool_dir: str) -> List[RunRecord]:
    """Store in ``repository``, as interrupted partial runs, what testr
    processes that were killed (SIGKILL, a crash, a power cut) left
    half-written in ``spool_dir``; discard the ones that hold nothing.
    Returns the recovered runs."""
    recovered = []
    for name, pid in _orphans(spool_dir):
        claimed = _claim(spool_dir, name)
        if claimed is None:
            continue  # another process claimed it first
        with open(claimed, "rb") as stream:
            data = stream.read()
        kept = _metadata_path(os.path.join(spool_dir, name))
        if data.strip() and not _COPY_NAME.search(name):
            recovered.append(_store_recovered(repository, data, pid, _read_metadata(kept)))
        # Only once stored: if we die first, the claimed file (named for
        # this process) is an orphan again for the next testr.
        os.unlink(claimed)
        _discard(kept)
    return recovered


def _metadata_path(temp_path: str) -> str:
    return temp_path + ".json"


def _read_metadata(path: str) -> dict:
    """The metadata a killed run kept beside its file; none if it kept
    none (or they are unreadable: the run is recovered all the same)."""
    try:
        with open(path, encoding="utf-8") as kept:
            found = json.load(kept)
    except (OSError, ValueError):
        return {}
    return {str(key): str(value) for key, value in found.items()} \
        if isinstance(found, dict) else {}


def _discard(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _store_recovered(repository, data: bytes, pid: int, metadata: dict) -> RunRecord:
    inserter = repository.insert(partial=True, metadata=dict(metadata, recovered=(
        "left half-written by testr process %d, which was killed" % pid)))
    inserter.mark_interrupted()
    inserter.startTestRun()
    subunit_v2.replay(data, inserter)
    inserter.stopTestRun()
    return inserter.record


_ORPHAN_NAME = re.compile(r"^(?:run|copy)-(\d+)-.*\.subunit$")
# A copy's file, also once claimed by a testr that died before deleting it.
_COPY_NAME = re.compile(r"(?:^|-claimed-)copy-\d+-")


def _orphans(tmp_dir):
    """(file name, pid) of temp runs whose writer process is gone."""
    try:
        names = sorted(os.listdir(tmp_dir))
    except OSError:
        return []
    found = []
    for name in names:
        match = _ORPHAN_NAME.match(name)
        if match and not _alive(int(match.group(1))):
            found.append((name, int(match.group(1))))
    return found


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return not _zombie(pid)


def _zombie(pid):
    # A killed process nobody has reaped yet still answers kill(pid, 0).
    try:
        with open("/proc/%d/stat" % pid, "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def _claim(tmp_dir, name):
    """Rename the orphan ``name`` to a name of this process (atomically: one
    claimant wins) and return its new path; None if another got it first."""
    claimed = os.path.join(tmp_dir, "run-%d-claimed-%s" % (os.getpid(), name))
    try:
        os.rename(os.path.join(tmp_dir, name), claimed)
    except FileNotFoundError:
        return None
    return claimed


def keep_unsent(temp_path: str) -> str:
    """Rename a spooled run the database did not take so that it is no
    longer an orphan ``run-<pid>-*`` file: the next testr would otherwise
    store it by itself as an interrupted run, and the ``testr load`` the
    error message suggests would find it gone."""
    name = os.path.basename(temp_path)  # run-<pid>-<unique>.subunit (or copy-)
    kept = os.path.join(os.path.dirname(temp_path), "unsent-%s-%s" % (
        time.strftime("%Y%m%dT%H%M%S"), name.split("-", 1)[1]))
    try:
        os.replace(temp_path, kept)
    except OSError:
        return temp_path
    return kept


def user_spool_dir(name: str) -> str:
    """A local directory of this user's for the spool files of the
    repository called ``name`` (one directory per name):
    ``$TESTREPO_SPOOL_DIR``, else ``$XDG_CACHE_HOME/testrepo/spool`` or
    ``~/.cache/testrepo/spool``, then a hash of ``name``."""
    base = os.environ.get("TESTREPO_SPOOL_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
        "testrepo", "spool")
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
    return os.path.join(base, digest)
