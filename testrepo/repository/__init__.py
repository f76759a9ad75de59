"""Where test runs are kept: open, create and name repositories.

A repository URL is a plain path (``.testrepository``) or ``file:PATH``
for the file backend, or a SQLAlchemy database URL (``sqlite:///PATH.db``,
``postgresql://USER@HOST/DB``) for the SQL backend
(:mod:`testrepo.repository.sql`, imported only for such URLs). Other
schemes are rejected with a usage error rather than taken as a directory
name. In-memory repositories have no URL: construct
``testrepo.repository.memory.MemoryRepository()`` directly.
"""

from __future__ import annotations

import re

from testrepo.errors import UsageError
from testrepo.repository import file
from testrepo.repository.abstract import Inserter, Repository, Run, RunRecord

__all__ = [
    "DEFAULT_DIRNAME",
    "Inserter",
    "Repository",
    "Run",
    "RunRecord",
    "initialise_repository",
    "is_sql_url",
    "open_repository",
    "repository_path",
]

DEFAULT_DIRNAME = ".testrepository"

# Two or more letters before the colon, so a Windows drive ("C:\\x") is a path.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")


def repository_path(url: str) -> str:
    """The directory a file repository URL names.

    ``file:PATH`` and ``file://PATH`` give PATH; a plain path is returned
    unchanged. Any other scheme raises UsageError.
    """
    match = _SCHEME.match(url)
    if match is None:
        return url
    if match.group(1).lower() != "file":
        raise UsageError(
            "Unsupported repository URL %r: use a directory path, file:PATH, "
            "sqlite:///PATH.db or postgresql://USER@HOST/DATABASE." % url)
    path = url[match.end():]
    if path.startswith("//"):
        path = path[2:]
    return path


def is_sql_url(url: str) -> bool:
    """Whether ``url`` names a SQL repository (sqlite:, postgresql:)."""
    match = _SCHEME.match(url)
    return match is not None and match.group(1).lower().split("+", 1)[0] in _SQL_SCHEMES


_SQL_SCHEMES = ("sqlite", "postgresql", "postgres")


def open_repository(url: str) -> Repository:
    """The existing repository at ``url``.

    Raises RepositoryNotFound if there is none, RepositoryCorrupt if its
    format file or index is not one testrepo can read.
    """
    if is_sql_url(url):
        return _sql().open_existing(url)
    return file.open_existing(repository_path(url), url)


def initialise_repository(url: str) -> Repository:
    """Create an empty repository at ``url`` (making parent directories).

    Raises RepositoryExists if one is already there.
    """
    if is_sql_url(url):
        return _sql().initialise(url)
    return file.initialise(repository_path(url), url)


def _sql():
    try:
        from testrepo.repository import sql
    except ImportError as err:
        raise UsageError(
            "SQL repositories need SQLAlchemy (%s); install it with "
            "`pip install 'testrepo[sql]'` (or 'testrepo[postgresql]')." % err) from None
    return sql
