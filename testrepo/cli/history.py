"""``testr history list|show|remove``: the stored runs."""

from testrepo import api, errors
from testrepo.cli import arguments
from testrepo.cli.base import TestrepoCommand, TestrepoLister


class HistoryList(TestrepoLister):
    """List the stored runs: id, counts, runtime and start (oldest first).

    Read from the repository's index: no stream is parsed.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--show-metadata", "-m", action="store_true",
                            help="Add a column with each run's metadata (key=value).")
        return parser

    def take_action(self, parsed_args):
        return api.history_table(self.app.project, show_metadata=parsed_args.show_metadata)


class HistoryShow(TestrepoCommand):
    """Show a stored run like `testr last` does (default: the latest run).

    Exits 1 if that run had failures.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("run_id", nargs="?", type=int, default=None, metavar="RUN",
                            help="The run id (see `testr history list`).")
        arguments.add_output_arguments(parser, "Write the run's stored subunit v2 stream to stdout.")
        arguments.add_report_arguments(parser)
        return parser

    def take_action(self, parsed_args):
        output = arguments.output_from_args(parsed_args, self.app)
        outcome = api.history_show(self.app.project, parsed_args.run_id, output, self.app.stdout)
        if parsed_args.junit_xml:
            api.write_junit(self.app.project, outcome.run_id, parsed_args.junit_xml)
        return outcome.exit_code


class HistoryRemove(TestrepoCommand):
    """Remove runs from the repository: run ids, or `all`.

    The failing set and test durations become what the remaining runs make
    them, `testr last` shows the latest remaining run, and removed ids are
    not reused.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("runs", nargs="+", metavar="RUN|all",
                            help="Run ids to remove, or `all` for every run.")
        return parser

    def take_action(self, parsed_args):
        outcome = api.history_remove(self.app.project, _run_ids(parsed_args.runs))
        self.app.stdout.write(_describe(outcome))
        return 0


def _run_ids(words):
    """None for ``all``, else the ids as ints."""
    if "all" in words:
        if len(words) > 1:
            raise errors.UsageError("give either `all` or run ids, not both")
        return None
    for word in words:
        if not word.isdigit():
            raise errors.UsageError(
                f"not a run id: {word!r}; give run ids (see `testr history list`) or `all`")
    return [int(word) for word in words]


def _describe(outcome) -> str:
    if not outcome.removed:
        return "The repository holds no runs; nothing to remove.\n"
    runs = ", ".join(str(run_id) for run_id in outcome.removed)
    noun = "run" if len(outcome.removed) == 1 else "runs"
    if outcome.latest_id is None:
        return f"Removed {noun} {runs}; the repository holds no runs now.\n"
    return f"Removed {noun} {runs}; the latest run is now {outcome.latest_id}.\n"
