"""``testr export URL``: copy this repository's history into another one."""

from testrepo import api
from testrepo.cli.base import TestrepoCommand
from testrepo.cli.import_legacy import describe_transfer


class Export(TestrepoCommand):
    """Copy every run, the failing set and the durations into another repository.

    The destination (a directory, file:PATH, or any other repository URL)
    is created if needed and must hold no runs yet, so history can move
    between backends: `testr export sqlite:///history.db` and back with
    `testr --repo-url NEW_DIR import sqlite:///history.db`. Runs get new
    ids there, oldest first; streams, counts, times, flags and metadata are
    kept.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("url", metavar="URL",
                            help="The repository to copy into: a directory path, "
                                 "file:PATH or another repository URL.")
        return parser

    def take_action(self, parsed_args):
        outcome = api.export_repository(self.app.project, parsed_args.url)
        self.app.stdout.write(
            f"Exported {describe_transfer(outcome)} to {outcome.destination}; failing set: "
            f"{outcome.failing} tests, {outcome.durations} durations.\n")
        return 0

