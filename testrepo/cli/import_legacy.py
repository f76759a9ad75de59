"""``testr import SOURCE``: bring a testrepository, stestr or testrepo
history along."""

from testrepo import api
from testrepo.cli.base import TestrepoCommand


class Import(TestrepoCommand):
    """Import a testrepository, stestr or another testrepo repository.

    Copies its runs, its failing set and its timings into this project's
    repository, which is created if needed and must hold no runs yet.
    SOURCE is a testrepository (.testrepository/) or stestr (.stestr/)
    repository, whose subunit v1 runs and times.dbm are converted, or a
    testrepo repository (a directory or URL such as file:PATH), copied as
    `testr export` copies. A format 1 .testrepository/ sits where testrepo
    keeps its own repository, so move it aside first:

        mv .testrepository .testrepository.v1 && testr import .testrepository.v1
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("path", metavar="SOURCE",
                            help="The repository directory or URL, or a project "
                                 "directory holding .testrepository/ or .stestr/.")
        return parser

    def take_action(self, parsed_args):
        outcome = api.import_repository(self.app.project, parsed_args.path)
        if outcome.legacy:  # a testrepository/stestr (format 1) repository converted
            self.app.stdout.write(_describe(outcome))
        else:
            self.app.stdout.write(
                f"Imported {describe_transfer(outcome)} from {parsed_args.path}; failing set: "
                f"{outcome.failing} tests, {outcome.durations} durations.\n")
        return 0


def _describe(outcome) -> str:
    if not outcome.run_ids:
        runs = "no runs"
    else:
        runs = (f"{len(outcome.run_ids)} runs ({describe_ids(tuple(outcome.run_ids))}) "
                f"as runs {describe_ids(tuple(outcome.run_ids.values()))}")
    return (f"Imported {runs} from {outcome.source}.\n"
            f"Failing tests: {outcome.failing}. Durations only found in times.dbm: "
            f"{outcome.imported_durations}.\n")


def describe_ids(run_ids) -> str:
    """'0-3' for consecutive run ids, else '1, 3, 4'."""
    if list(run_ids) == list(range(run_ids[0], run_ids[-1] + 1)):
        return f"{run_ids[0]}-{run_ids[-1]}" if len(run_ids) > 1 else str(run_ids[0])
    return ", ".join(str(run_id) for run_id in run_ids)


def describe_transfer(outcome) -> str:
    """'3 runs (ids 0-2)' for a ``transfer.TransferOutcome`` or an
    ``api.ImportOutcome``, with the ids
    the runs got where they differ: '2 runs (ids 3, 5, now 0-1)'."""
    if not outcome.run_ids:
        return "0 runs"
    source_ids, destination_ids = tuple(outcome.run_ids), tuple(outcome.run_ids.values())
    text = f"{len(outcome.run_ids)} runs (ids {describe_ids(source_ids)}"
    if source_ids != destination_ids:
        text += f", now {describe_ids(destination_ids)}"
    return text + ")"
