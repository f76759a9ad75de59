import contextlib
import sys

from testrepo import api, errors
from testrepo.cli import arguments
from testrepo.cli.base import TestrepoCommand


class Load(TestrepoCommand):
    """Store subunit v2 streams (files, or stdin) as one run and show it.

    Stream N is tagged worker-N. Exits 1 if the stream has failures.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("streams", nargs="*", metavar="FILE",
                            help="Subunit v2 files (default: standard input).")
        parser.add_argument("--partial", action="store_true",
                            help="Only update the failing set for the tests in the stream.")
        parser.add_argument("--force-init", action="store_true",
                            help="Create the repository if it does not exist.")
        parser.add_argument("--id", "-i", dest="run_id", type=int, default=None, metavar="RUN",
                            help="Add the streams' results to stored run RUN instead of "
                                 "storing a new run.")
        arguments.add_output_arguments(parser, "Echo the stream as subunit v2 to stdout.")
        arguments.add_trace_arguments(parser)
        arguments.add_report_arguments(parser)
        return parser

    def take_action(self, parsed_args):
        options = api.LoadOptions(partial=parsed_args.partial,
                                  force_init=parsed_args.force_init,
                                  run_id=parsed_args.run_id)
        with contextlib.ExitStack() as stack:
            streams = [stack.enter_context(_open(path)) for path in parsed_args.streams]
            if not streams:
                streams = [sys.stdin.buffer]
            outcome = api.load(self.app.project, streams, options,
                               arguments.output_from_args(parsed_args, self.app),
                               self.app.stdout)
        if parsed_args.junit_xml:
            api.write_junit(self.app.project, outcome.run_id, parsed_args.junit_xml)
        return outcome.exit_code


def _open(path):
    try:
        return open(path, "rb")
    except OSError as err:
        raise errors.UsageError(f"cannot read stream file '{path}': {err.strerror}") from err
