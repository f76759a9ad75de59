from testrepo import api
from testrepo.cli import arguments
from testrepo.cli.base import TestrepoCommand


class Failing(TestrepoCommand):
    """Show the tests that are currently failing (exit 1 if there are any)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--list", action="store_true",
                            help="Print only the failing test ids, one per line.")
        arguments.add_output_arguments(parser, "Write the failing tests as subunit v2 to stdout.")
        return parser

    def take_action(self, parsed_args):
        output = arguments.output_from_args(parsed_args, self.app)
        return api.failing(self.app.project, output, parsed_args.list, self.app.stdout)
