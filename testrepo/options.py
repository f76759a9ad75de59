"""Small frozen option objects passed from the CLI (or an embedding program)
into :mod:`testrepo.api`.  A new flag becomes a field here, never a new
keyword argument threaded through every layer."""

from __future__ import annotations

import dataclasses
from typing import Optional, Tuple


@dataclasses.dataclass(frozen=True)
class Project:
    """Where a command works: the project directory, an explicit config file
    and the repository location (``None``: ``<directory>/.testrepository``)."""

    directory: str = "."
    config_path: Optional[str] = None
    repo_url: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which of the listed test ids to run (testr/stestr semantics).

    ``filters`` and the include list select (a union of ``re.search``
    matches); ``exclude_regex`` and the exclude list then remove;
    ``load_list`` and ``failing`` restrict to those ids.
    """

    filters: Tuple[str, ...] = ()
    exclude_regex: Tuple[str, ...] = ()
    exclude_list: Optional[str] = None
    include_list: Optional[str] = None
    load_list: Optional[str] = None
    failing: bool = False

    @property
    def restricted(self) -> bool:
        """True when the run will not cover the whole listed suite."""
        return bool(
            self.filters or self.exclude_regex or self.exclude_list
            or self.include_list or self.load_list is not None or self.failing
        )


@dataclasses.dataclass(frozen=True)
class OutputOptions:
    """How results are shown."""

    subunit: bool = False
    quiet: bool = False
    color: Optional[bool] = None  # None: colour when the output is a TTY
    abbreviate: bool = False  # one character per test (. F S) instead of a line
    # Attachments shown for a test that passed: "default" (stdout/stderr),
    # "none" (--suppress-attachments) or "all" (--all-attachments).
    attachments: str = "default"
    # The live status line (reports/progress.py): the CLI sets it for a
    # terminal unless --no-progress; never with subunit.
    progress: bool = False


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How tests are run."""

    concurrency: Optional[int] = None  # None/0: resolved from config or CPUs
    serial: bool = False
    random: bool = False
    seed: Optional[int] = None
    partial: bool = False
    force_init: bool = False
    test_args: Tuple[str, ...] = ()  # arguments after ``--``
    timeout: Optional[float] = None  # per-test seconds; None: test_timeout or no limit
    max_restarts: Optional[int] = None  # worker replacements; None: 4 per worker
    retry: int = 0  # rerun failed tests up to this many times (flaky detection)
    # Run modes and extras (doc/running.rst, "Run modes").
    until_failure: bool = False  # repeat the run until one fails
    isolated: bool = False  # each test in a fresh process
    analyze_isolation: bool = False  # bisect failures of the latest run
    worker_file: Optional[str] = None  # stestr YAML pinning tests to workers
    combine: bool = False  # append to the latest run instead of a new one
    no_discover: Optional[str] = None  # run this one test id without listing
    pdb: Optional[str] = None  # run this one test id in this process
    metadata: Tuple[Tuple[str, str], ...] = ()  # stored with the run
