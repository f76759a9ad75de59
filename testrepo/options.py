"""Small frozen option objects passed from the CLI (or an embedding program)
into :mod:`testrepo.api`.  A new flag becomes a field here, never a new
keyword argument threaded through every layer."""

from __future__ import annotations

import dataclasses
from typing import Optional, Tuple

# The categories of ``testr compare`` (CompareOptions.fail_on names them)
# and the columns of ``testr flaky``'s table: here, so that the API names
# them without importing the report modules.
COMPARE_CATEGORIES = ("new-failures", "fixed", "still-failing", "added", "removed", "slower",
                      "faster")
FLAKY_COLUMNS = ("Test id", "Runs", "Results", "Failures", "Flips", "Flip rate", "Fail rate",
                 "Retried", "Last failing run")


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
    # Fleets (doc/fleet.rst): run part K of N ("K/N"; None: the CI's
    # variables, if any), or share the build BUILD_KEY's tests through a
    # queue in the PostgreSQL repository, leases lost after lease_ttl s.
    shard: Optional[str] = None
    queue: Optional[str] = None
    lease_ttl: float = 60.0


@dataclasses.dataclass(frozen=True)
class LoadOptions:
    """How ``load`` stores streams."""

    partial: bool = False
    force_init: bool = False  # create the repository if there is none
    run_id: Optional[int] = None  # add to this stored run (load --id) instead of a new one


@dataclasses.dataclass(frozen=True)
class CompareOptions:
    """``old``/``new``: a run id or a subunit v2 file (None: NEW is the
    latest run and OLD the run before it, or the latest run of
    ``old_repo``). ``ratio``/``absolute`` are the slower/faster thresholds;
    ``fail_on`` names categories (COMPARE_CATEGORIES) that make the exit
    code 1."""

    old: Optional[str] = None
    new: Optional[str] = None
    old_repo: Optional[str] = None
    ratio: float = 2.0  # reports.compare.Thresholds' defaults
    absolute: float = 0.5
    json: bool = False
    fail_on: Tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class FlakyOptions:
    """Look at each test's ``runs`` most recent runs; report it with at
    least ``min_flips`` pass/fail changes (or a retry that passed)."""

    runs: int = 10  # reports.flaky.DEFAULT_RUNS
    min_flips: int = 2  # reports.flaky.DEFAULT_MIN_FLIPS


@dataclasses.dataclass(frozen=True)
class HistoryReportOptions:
    """``report --history``: chart the ``runs`` most recent runs."""

    runs: int = 100
