from testrepo import api
from testrepo.cli import arguments
from testrepo.cli.base import TestrepoCommand


class Run(TestrepoCommand):
    """List, select, schedule and run tests in parallel, then store the results.

    Arguments after `--` are passed to the test command.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        arguments.add_selection_arguments(parser)
        arguments.add_run_arguments(parser)
        arguments.add_run_mode_arguments(parser)
        arguments.add_output_arguments(parser)
        arguments.add_trace_arguments(parser)
        arguments.add_report_arguments(parser)
        return parser

    def take_action(self, parsed_args):
        outcome = api.run(
            self.app.project,
            arguments.selection_from_args(parsed_args),
            arguments.run_options_from_args(parsed_args, self.app.test_args),
            arguments.output_from_args(parsed_args, self.app),
            self.app.stdout,
        )
        if parsed_args.junit_xml:
            api.write_junit(self.app.project, outcome.run_id, parsed_args.junit_xml)
        if parsed_args.slowest and not parsed_args.subunit and outcome.run_id is not None:
            api.write_slowest(self.app.project, outcome.run_id, self.app.stdout)
        return outcome.exit_code
