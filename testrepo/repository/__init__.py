"""Where test runs are kept: open, create and name repositories.

A repository URL is a plain path (``.testrepository``) or ``file:PATH``.
Other schemes (``sqlite:``, ``postgresql:``) are reserved for future
backends and rejected with a usage error rather than taken as a directory
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
    "open_repository",
    "repository_path",
]

DEFAULT_DIRNAME = ".testrepository"

# Two or more letters before the colon, so a Windows drive ("C:\\x") is a path.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")


def repository_path(url: str) -> str:
    """The directory a repository URL names.

    ``file:PATH`` and ``file://PATH`` give PATH; a plain path is returned
    unchanged. Any other scheme raises UsageError.
    """
    match = _SCHEME.match(url)
    if match is None:
        return url
    if match.group(1).lower() != "file":
        raise UsageError(
            "Unsupported repository URL %r: use a directory path or file:PATH." % url)
    path = url[match.end():]
    if path.startswith("//"):
        path = path[2:]
    return path


def open_repository(url: str) -> Repository:
    """The existing repository at ``url``.

    Raises RepositoryNotFound if there is none, RepositoryCorrupt if its
    format file or index is not one testrepo can read.
    """
    return file.open_existing(repository_path(url), url)


def initialise_repository(url: str) -> Repository:
    """Create an empty repository at ``url`` (making parent directories).

    Raises RepositoryExists if one is already there.
    """
    return file.initialise(repository_path(url), url)
