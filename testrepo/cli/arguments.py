"""Flags shared by several commands, and converters to option objects."""

from __future__ import annotations

import argparse

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
    return OutputOptions(subunit=args.subunit, quiet=quiet, color=color)


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
                      partial=args.partial, force_init=args.force_init,
                      test_args=tuple(test_args), timeout=args.timeout,
                      max_restarts=args.max_worker_restarts)


def add_report_arguments(parser) -> None:
    parser.add_argument("--junit-xml", metavar="FILE", default=None,
                        help="After the run is stored, write it as JUnit XML to FILE "
                             "(for Jenkins, GitLab and GitHub test reports).")
