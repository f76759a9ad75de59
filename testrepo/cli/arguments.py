"""Flags shared by several commands, and converters to option objects."""

from __future__ import annotations

import argparse

from testrepo.errors import UsageError
from testrepo.options import OutputOptions, RunOptions, Selection


def add_selection_arguments(parser) -> None:
    parser.add_argument("filters", nargs="*", default=[], metavar="FILTER",
                        help="Regular expressions (re.search); a test is selected if "
                             "it matches any of them.")
    parser.add_argument("--exclude-regex", "-E", action="append", default=[],
                        metavar="REGEX", help="Leave out tests matching REGEX (repeatable).")
    parser.add_argument("--exclude-list", "-e", metavar="FILE",
                        help="Leave out tests matching any regex in FILE (one per line, # comments).")
    parser.add_argument("--include-list", "-i", metavar="FILE",
                        help="Select tests matching any regex in FILE (one per line, # comments).")
    parser.add_argument("--load-list", metavar="FILE",
                        help="Run only the test ids listed in FILE, in that order.")
    parser.add_argument("--failing", action="store_true",
                        help="Run only the tests in the failing set.")


def selection_from_args(args) -> Selection:
    return Selection(filters=tuple(args.filters), exclude_regex=tuple(args.exclude_regex),
                     exclude_list=args.exclude_list, include_list=args.include_list,
                     load_list=args.load_list, failing=args.failing)


def add_output_arguments(parser, subunit_help="Write subunit v2 to stdout instead.") -> None:
    parser.add_argument("--subunit", action="store_true", help=subunit_help)
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="Show only failures and the summary.")
    color = parser.add_mutually_exclusive_group()
    color.add_argument("--color", dest="color", action="store_true", default=None,
                       help="Colour the output (default: when stdout is a terminal).")
    color.add_argument("--no-color", dest="color", action="store_false")


def output_from_args(args, app) -> OutputOptions:
    """``app`` supplies stdout (for TTY detection) and the global ``-q``,
    which cliff parses wherever it appears on the command line."""
    color = args.color
    if color is None:
        color = hasattr(app.stdout, "isatty") and app.stdout.isatty()
    quiet = args.quiet or app.options.verbose_level == 0
    progress = (not getattr(args, "no_progress", True) and not args.subunit
                and hasattr(app.stdout, "isatty") and app.stdout.isatty())
    return OutputOptions(subunit=args.subunit, quiet=quiet, color=color, progress=progress,
                         **trace_options_from_args(args))


def add_trace_arguments(parser) -> None:
    """How each finished test is shown (``run``, ``load``; stestr's flags)."""
    parser.add_argument("--abbreviate", action="store_true",
                        help="One character per test (. passed, F failed, S skipped) instead "
                             "of a line; failures are shown in full at the end.")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--suppress-attachments", action="store_true",
                       help="Show no attachments (captured stdout/stderr) of tests that pass.")
    shown.add_argument("--all-attachments", action="store_true",
                       help="Show every text attachment of tests that pass, not only "
                            "stdout/stderr. (Failures always show all.)")


def trace_options_from_args(args) -> dict:
    attachments = "default"
    if getattr(args, "suppress_attachments", False):
        attachments = "none"
    elif getattr(args, "all_attachments", False):
        attachments = "all"
    return dict(abbreviate=getattr(args, "abbreviate", False), attachments=attachments)


def add_run_arguments(parser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--serial", action="store_true", help="Run in one worker process.")
    mode.add_argument("--parallel", action="store_true",
                      help="Run in parallel (the default; accepted for testr users).")
    parser.add_argument("--concurrency", "-j", type=int, default=None, metavar="N",
                        help="Number of workers (default: test_run_concurrency, else the CPUs "
                             "this process may use; 0 means auto).")
    parser.add_argument("--random", action="store_true",
                        help="Run tests in a random order (seeded; the seed is printed and stored).")
    parser.add_argument("--seed", type=int, default=None, metavar="N",
                        help="Seed for --random (implies --random).")
    parser.add_argument("--partial", action="store_true",
                        help="Only update the failing set for the tests that ran "
                             "(implied by filters, --failing and --load-list).")
    parser.add_argument("--force-init", action="store_true",
                        help="Accepted for testr compatibility; the repository is "
                             "created on first use anyway.")
    parser.add_argument("--timeout", type=_positive_seconds, default=None, metavar="SECONDS",
                        help="Fail a test that runs longer than SECONDS, kill its worker and "
                             "go on with a fresh one (default: test_timeout, else no limit).")
    parser.add_argument("--retry", type=_count, default=0, metavar="N",
                        help="Run failed tests again, up to N times, on fresh workers; a "
                             "test that fails and then passes is reported and stored as "
                             "flaky, and counts as passed.")
    parser.add_argument("--max-worker-restarts", type=_count, default=None, metavar="N",
                        help="Replace crashed or killed workers at most N times in all "
                             "(default: 4 per worker); past that, tests left are reported "
                             "as not run.")


def _positive_seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _count(text):
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)


def run_options_from_args(args, test_args=()) -> RunOptions:
    return RunOptions(concurrency=args.concurrency, serial=args.serial,
                      random=args.random or args.seed is not None, seed=args.seed,
                      partial=args.partial,
                      test_args=tuple(test_args), timeout=args.timeout,
                      max_restarts=args.max_worker_restarts, retry=args.retry,
                      **run_mode_options_from_args(args))


def add_run_mode_arguments(parser) -> None:
    """``run``'s modes and extras (doc/running.rst, "Run modes")."""
    parser.add_argument("--until-failure", action="store_true",
                        help="Repeat the run until one fails (or Ctrl-C); each run is stored.")
    parser.add_argument("--isolated", action="store_true",
                        help="Run each test in a fresh process of its own.")
    parser.add_argument("--analyze-isolation", action="store_true",
                        help="For each failure of the latest run, find the earlier test on its "
                             "worker that makes it fail (bisection); exit 1 if one does.")
    parser.add_argument("--worker-file", metavar="FILE", default=None,
                        help="stestr's YAML worker file: a list of '- worker: [REGEX, ...]' "
                             "entries (optional 'concurrency: N'), each run on its own worker(s).")
    parser.add_argument("--combine", action="store_true",
                        help="Add the results to the latest run instead of storing a new one.")
    parser.add_argument("--no-discover", "-n", metavar="TEST", default=None,
                        help="Run just TEST (a dotted id or tests/test_x.py::Class::method) "
                             "without listing the suite.")
    parser.add_argument("--pdb", metavar="TEST", default=None,
                        help="Run just TEST in this process, in the foreground, so that pdb "
                             "works; the result is stored.")
    parser.add_argument("--no-progress", action="store_true",
                        help="No live status line (shown only on a terminal: tests done, "
                             "failures, elapsed, ETA, what each worker runs).")
    parser.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE",
                        help="Store KEY=VALUE with the run (repeatable), e.g. a git sha or a "
                             "CI job name; shown by `testr last` and `history list -m`.")
    parser.add_argument("--slowest", action="store_true",
                        help="After the run, show its 10 slowest tests.")
    add_fleet_arguments(parser)


def add_fleet_arguments(parser) -> None:
    """One build over many CI machines (doc/fleet.rst)."""
    parser.add_argument("--shard", metavar="K/N", default=None,
                        help="Run the K-th of N parts of the selected tests, split by recorded "
                             "durations (default: from Bazel, GitLab or CircleCI variables "
                             "when set; --shard 1/1 runs everything).")
    parser.add_argument("--queue", metavar="BUILD_KEY", default=None,
                        help="Share the tests of build BUILD_KEY with every node given the "
                             "same key through a queue in the PostgreSQL repository; the "
                             "nodes' results become one run.")
    parser.add_argument("--lease-ttl", type=_positive_seconds, default=60.0, metavar="SECONDS",
                        help="--queue: a node silent this long loses its tests to the others "
                             "(default: 60).")


def run_mode_options_from_args(args) -> dict:
    return dict(until_failure=getattr(args, "until_failure", False),
                isolated=getattr(args, "isolated", False),
                analyze_isolation=getattr(args, "analyze_isolation", False),
                worker_file=getattr(args, "worker_file", None),
                combine=getattr(args, "combine", False),
                no_discover=getattr(args, "no_discover", None),
                pdb=getattr(args, "pdb", None),
                shard=getattr(args, "shard", None),
                queue=getattr(args, "queue", None),
                lease_ttl=getattr(args, "lease_ttl", 60.0),
                metadata=tuple(_metadata_pair(text) for text in getattr(args, "metadata", ())))


def _metadata_pair(text):
    key, equals, value = str(text).partition("=")
    if not equals or not key.strip():
        raise UsageError(f"--metadata {text!r}: expected KEY=VALUE, e.g. --metadata git_sha=1a2b3c")
    return key.strip(), value


def add_report_arguments(parser) -> None:
    parser.add_argument("--junit-xml", metavar="FILE", default=None,
                        help="After the run is stored, write it as JUnit XML to FILE "
                             "(for Jenkins, GitLab and GitHub test reports).")
