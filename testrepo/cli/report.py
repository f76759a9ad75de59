from testrepo import api
from testrepo.cli.base import TestrepoCommand


class Report(TestrepoCommand):
    """Write a self-contained HTML report of a run (default: the latest).

    Summary, failures with tracebacks and output, slowest tests, a timeline
    per worker and a chart of recent runs, in one file with no external
    references (inline CSS and SVG).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("run_id", nargs="?", type=int, metavar="RUN",
                            help="Run id (default: the latest run).")
        parser.add_argument("--html", required=True, metavar="FILE",
                            help="Write the HTML report to FILE.")
        return parser

    def take_action(self, parsed_args):
        run_id = api.write_html_report(self.app.project, parsed_args.run_id, parsed_args.html)
        self.app.stdout.write(f"Wrote the HTML report of run {run_id} to {parsed_args.html}\n")
        return 0
