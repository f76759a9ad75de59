from testrepo import api
from testrepo.cli.base import TestrepoLister


class Slowest(TestrepoLister):
    """Show the slowest tests of the latest run (top 10 unless --all)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--all", action="store_true", help="Show every test.")
        return parser

    def take_action(self, parsed_args):
        rows = api.slowest(self.app.project, show_all=parsed_args.all)
        return ("Test id", "Runtime (s)"), [(test_id, f"{seconds:.3f}") for test_id, seconds in rows]
