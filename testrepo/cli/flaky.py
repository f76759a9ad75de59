from testrepo import api
from testrepo.cli.base import TestrepoLister


class Flaky(TestrepoLister):
    """List tests whose result flips between pass and fail in recent runs.

    Each test is judged on its --runs most recent runs that ran it (every
    attempt of a retried test counts). Flips: pass<->fail changes between
    consecutive results; flip rate: flips / (results - 1), 0 = stable,
    1 = alternates every time; fail rate: failed results / results;
    retried: runs where it failed and then passed. Listed when it has at
    least --min-flips flips or passed on a retry; flakiest first.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--runs", type=int, default=api.FlakyOptions.runs, metavar="N",
                            help="How many recent runs of each test to look at (default: 10).")
        parser.add_argument("--min-flips", type=int, default=api.FlakyOptions.min_flips,
                            metavar="N",
                            help="Flips needed to count as flaky (default: 2; one flip is a "
                                 "test that broke or was fixed and stayed so).")
        return parser

    def take_action(self, parsed_args):
        options = api.FlakyOptions(runs=parsed_args.runs, min_flips=parsed_args.min_flips)
        tests = api.flaky(self.app.project, options)
        return api.FLAKY_COLUMNS, [test.row() for test in tests]
