"""Opening a project's repository and configuration, for every command."""

from __future__ import annotations

import dataclasses
import os
from typing import Optional, TextIO

from testrepo import errors, repository
from testrepo.options import Project


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """What a run or load produced: the stored run id (``None`` when nothing
    ran), its summary record and the exit code the CLI returns."""

    run_id: Optional[int]
    record: Optional[object]
    exit_code: int



def repository_url(project: Project) -> str:
    """``--repo-url``, else the config's ``repo_url`` (a relative path in it
    is relative to the project directory), else ``.testrepository``."""
    if project.repo_url:
        return project.repo_url
    from testrepo import config

    configured = config.repository_url(project.directory, project.config_path)
    if configured:
        return _project_relative(project.directory, configured)
    return os.path.join(project.directory, repository.DEFAULT_DIRNAME)


def _project_relative(directory: str, url: str) -> str:
    """Anchor a relative path in a configured URL at the project directory."""
    sqlite_prefix = "sqlite:///"
    if url.startswith(sqlite_prefix) and not url.startswith(sqlite_prefix + "/"):
        return sqlite_prefix + os.path.join(directory, url[len(sqlite_prefix):])
    if repository.is_sql_url(url):
        return url
    return os.path.join(directory, repository.repository_path(url))


def repair(project: Project):
    """Rebuild the file repository's index from its stored runs (see
    :mod:`testrepo.repository.repair`); returns a ``RepairReport``."""
    from testrepo.repository.repair import repair as rebuild

    url = repository_url(project)
    if repository.is_sql_url(url):
        raise errors.UsageError(
            "testr repair rebuilds file repositories; %s is a SQL repository, which its "
            "database keeps consistent (every run is stored in one transaction)." % url)
    return rebuild(repository.repository_path(url))


def init(project: Project):
    """Create an empty repository; :class:`RepositoryExists` if there is one."""
    return repository.initialise_repository(repository_url(project))


def open_repository(project: Project, create: bool = False, out: Optional[TextIO] = None):
    """Open the project's repository, creating it when ``create`` is true
    and there is none yet.  With ``out``, runs left half-written by a killed
    testr are first stored as interrupted runs, and ``out`` is told."""
    url = repository_url(project)
    try:
        repo = repository.open_repository(url)
    except errors.RepositoryNotFound:
        if not create:
            raise
        try:
            return repository.initialise_repository(url)
        except errors.RepositoryExists:
            # Another process (a fleet's first jobs start together) created
            # it between our two calls: use theirs.
            repo = repository.open_repository(url)
    if out is not None:
        for record in repo.recover_orphans():
            out.write(f"Recovered run {record.run_id} ({record.total} results) that a killed "
                      "testr process left half-written; it is stored as an interrupted, "
                      "partial run.\n")
            if "queue_node" in record.metadata:
                from testrepo.api import queue_mode

                out.write(queue_mode.rejoin_recovered(repo, record, filter_tags(project)))
    return repo



def load_config(project: Project):
    """The project's configuration (:class:`testrepo.config.Config`)."""
    from testrepo import config

    return config.load(project.directory, project.config_path)


def filter_tags(project: Project):
    """The project's filter_tags, so that copied or loaded runs are counted
    as they were recorded; none if its configuration does not load."""
    try:
        return load_config(project).filter_tags
    except errors.ConfigError:
        return frozenset()
