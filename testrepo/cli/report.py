from testrepo import api, errors
from testrepo.cli.base import TestrepoCommand


class Report(TestrepoCommand):
    """Write a self-contained HTML report of a run (default: the latest),
    or with --history a dashboard of the last N runs.

    A run's report: summary, failures with tracebacks and output, slowest
    tests, a timeline per worker and a chart of recent runs. The history
    dashboard: duration and counts per run, runs by host and job, the tests
    that fail most, flaky tests and tests that got slower, with a filter by
    test id. One file with no external references (inline CSS and SVG).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("run_id", nargs="?", type=int, metavar="RUN",
                            help="Run id (default: the latest run); not with --history.")
        parser.add_argument("--html", required=True, metavar="FILE",
                            help="Write the HTML report to FILE.")
        parser.add_argument("--history", action="store_true",
                            help="Report on the last --runs runs instead of one run.")
        parser.add_argument("--runs", type=int, default=None, metavar="N",
                            help="With --history: how many of the most recent runs "
                                 f"(default {api.HistoryReportOptions.runs}).")
        return parser

    def take_action(self, parsed_args):
        if not parsed_args.history:
            if parsed_args.runs is not None:
                raise errors.UsageError("--runs needs --history")
            run_id = api.write_html_report(self.app.project, parsed_args.run_id,
                                           parsed_args.html)
            self.app.stdout.write(f"Wrote the HTML report of run {run_id} to "
                                  f"{parsed_args.html}\n")
            return 0
        if parsed_args.run_id is not None:
            raise errors.UsageError("--history reports on the last --runs runs; "
                                    "give no RUN with it")
        options = api.HistoryReportOptions(*(() if parsed_args.runs is None
                                             else (parsed_args.runs,)))
        outcome = api.write_history_report(self.app.project, options, parsed_args.html)
        self.app.stdout.write(f"Wrote the HTML history of runs {outcome.first_run} to "
                              f"{outcome.last_run} ({outcome.runs} runs) to "
                              f"{parsed_args.html}\n")
        return 0
