from testrepo import api
from testrepo.cli.base import TestrepoCommand


class Init(TestrepoCommand):
    """Create an empty test repository (.testrepository/)."""

    def take_action(self, parsed_args):
        repo = api.init(self.app.project)
        self.app.stdout.write(f"Initialised an empty repository at {repo.path}\n")
        return 0
