from testrepo import api
from testrepo.cli import arguments
from testrepo.cli.base import TestrepoCommand


class Last(TestrepoCommand):
    """Show the most recent run: its failures and summary (exit 1 if it failed)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        arguments.add_output_arguments(parser, "Write the run's stored subunit v2 stream to stdout.")
        arguments.add_report_arguments(parser)
        return parser

    def take_action(self, parsed_args):
        output = arguments.output_from_args(parsed_args, self.app)
        outcome = api.last(self.app.project, output, self.app.stdout)
        if parsed_args.junit_xml:
            api.write_junit(self.app.project, outcome.run_id, parsed_args.junit_xml)
        return outcome.exit_code
