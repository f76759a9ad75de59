from testrepo import api
from testrepo.cli import arguments
from testrepo.cli.base import TestrepoCommand


class ListTests(TestrepoCommand):
    """Print the test ids that `testr run` would run with the same filters."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        arguments.add_selection_arguments(parser)
        return parser

    def take_action(self, parsed_args):
        test_ids = api.list_tests(self.app.project,
                                  arguments.selection_from_args(parsed_args),
                                  self.app.test_args)
        self.app.stdout.write("".join(test_id + "\n" for test_id in test_ids))
        return 0
