import argparse

from testrepo import api
from testrepo.cli.base import TestrepoCommand

CATEGORIES = api.COMPARE_CATEGORIES


def categories(text):
    """``new-failures,slower`` -> ("new-failures", "slower"), checked."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    for name in names:
        if name not in CATEGORIES:
            raise argparse.ArgumentTypeError(
                f"{name!r} is not a category; use one of {', '.join(CATEGORIES)}")
    return names


class Compare(TestrepoCommand):
    """Compare two runs: new failures, fixed, still failing, added, removed,
    slower and faster tests.

    OLD and NEW are run ids or subunit v2 files (default: NEW is the latest
    run and OLD the run before it). A duration change counts when the longer
    time is at least --ratio times the shorter AND differs by --min-seconds.
    Exits 0, or 1 when a category named by --fail-on is not empty.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("old", nargs="?", metavar="OLD",
                            help="Run id or subunit v2 file (default: the run before NEW, "
                                 "the latest run if NEW is a file, or the latest run of "
                                 "--old-repo).")
        parser.add_argument("new", nargs="?", metavar="NEW",
                            help="Run id or subunit v2 file (default: the latest run).")
        parser.add_argument("--old-repo", metavar="URL",
                            help="Take OLD from this repository (path or file:PATH), "
                                 "e.g. the main branch's.")
        parser.add_argument("--ratio", type=float, default=api.CompareOptions.ratio, metavar="R",
                            help="Slower/faster when the times differ by this factor "
                                 "(default: 2).")
        parser.add_argument("--min-seconds", type=float, default=api.CompareOptions.absolute,
                            metavar="S",
                            help="... and by at least this many seconds (default: 0.5).")
        parser.add_argument("-f", "--format", choices=("text", "json"), default="text",
                            help="Output format (default: text).")
        parser.add_argument("--fail-on", type=categories, action="append", default=[],
                            metavar="CATEGORY",
                            help="Exit 1 if this category is not empty (repeatable or "
                                 f"comma-separated): {', '.join(CATEGORIES)}.")
        return parser

    def take_action(self, parsed_args):
        options = api.CompareOptions(
            old=parsed_args.old, new=parsed_args.new, old_repo=parsed_args.old_repo,
            ratio=parsed_args.ratio, absolute=parsed_args.min_seconds,
            json=parsed_args.format == "json",
            fail_on=tuple(name for names in parsed_args.fail_on for name in names))
        return api.compare(self.app.project, options, self.app.stdout).exit_code
