"""Setting a project up and moving history: ``init --write-config``,
``import`` (testrepository, stestr or testrepo) and ``export``.  The
logic lives in testrepo.config_writer, testrepo.migrate and
testrepo.transfer, imported by the functions that use them."""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Mapping

from testrepo import errors, repository
from testrepo.api.project import filter_tags, init, open_repository
from testrepo.options import Project

if TYPE_CHECKING:
    from testrepo.config_writer import Written


@dataclasses.dataclass(frozen=True)
class InitOutcome:
    """What ``init_project`` did: the config file written and its layout,
    the repository path and whether it was created (False: it existed)."""

    config: Written
    repository_path: str
    created_repository: bool


def init_project(project: Project) -> InitOutcome:
    """Write a ``.testr.conf`` that fits the project (``config_writer``;
    refused if one exists) and create the repository if there is none."""
    from testrepo import config_writer

    written = config_writer.write(project.directory)
    try:
        repo = init(project)
        created = True
    except errors.RepositoryExists:
        repo = open_repository(project)
        created = False
    return InitOutcome(written, repo.path, created)


@dataclasses.dataclass(frozen=True)
class ImportOutcome:
    """What ``import_repository`` stored, whatever the source's format.

    ``legacy`` is true when a testrepository/stestr (format 1) repository
    was converted; ``run_ids`` maps each source run id to the run id it
    became (oldest first); ``failing`` is the size of the failing set,
    ``durations`` how many tests have a duration and ``imported_durations``
    how many of those no imported run measured (format 1: found only in
    ``times.dbm``)."""

    source: str
    legacy: bool
    run_ids: Mapping[int, int]
    failing: int
    durations: int
    imported_durations: int


def import_repository(project: Project, source: str) -> ImportOutcome:
    """Import the history at ``source`` into the project's repository,
    created if needed; it must hold no runs yet.

    ``source`` is a testrepository/stestr (format 1) repository (its
    directory, or a project directory holding ``.testrepository/`` or
    ``.stestr/``), whose runs are converted (:mod:`testrepo.migrate`), or a
    testrepo repository URL (or a project directory holding one), copied
    with :func:`testrepo.transfer.copy_history`."""
    from testrepo import migrate, transfer

    if not migrate.is_legacy_source(source):
        history = _open_import_source(source)  # before creating a repository for it
        try:
            copied = transfer.copy_history(history, open_repository(project, create=True),
                                           filter_tags(project))
        finally:
            history.close()
        return ImportOutcome(copied.source, False, copied.run_ids, copied.failing,
                             copied.durations, copied.imported_durations)
    legacy = migrate.find_legacy(source)  # before creating a repository for it
    repo = open_repository(project, create=True)
    converted = migrate.import_repository(legacy, repo)
    return ImportOutcome(converted.source, True, dict(zip(converted.legacy_ids, converted.run_ids)),
                         converted.failing, len(repo.durations()),
                         converted.durations_from_times_db)


def export_repository(project: Project, destination_url: str):
    """Copy the project's whole history (runs, failing set, durations) into
    the repository at ``destination_url``, created if needed; it must hold
    no runs yet. Returns a ``transfer.TransferOutcome``."""
    from testrepo import transfer

    source = open_repository(project)
    try:
        destination = repository.open_repository(destination_url)
    except errors.RepositoryNotFound:
        destination = repository.initialise_repository(destination_url)
    try:
        return transfer.copy_history(source, destination, filter_tags(project))
    finally:
        destination.close()


def _open_import_source(source: str):
    try:
        return repository.open_repository(source)
    except errors.RepositoryNotFound as err:
        if repository.is_sql_url(source):
            raise  # its message already names the database (password hidden)
        inner = os.path.join(source, repository.DEFAULT_DIRNAME)
        if os.path.isdir(inner):
            return repository.open_repository(inner)
        raise errors.RepositoryNotFound(
            f"No testrepo, testrepository or stestr repository at {source} (nor a "
            ".testrepository/ or .stestr/ in it); give the repository's directory or "
            "URL.") from err
