from testrepo import api
from testrepo.cli.base import TestrepoCommand


class Init(TestrepoCommand):
    """Create an empty test repository (.testrepository/).

    With --write-config, first write a .testr.conf that fits the project
    (tests/ or packages with test*.py files); an existing repository is then
    kept.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--write-config", action="store_true",
            help="Also write .testr.conf for this project (refused if one exists).")
        return parser

    def take_action(self, parsed_args):
        if parsed_args.write_config:
            return self._init_project()
        repo = api.init(self.app.project)
        self.app.stdout.write(f"Initialised an empty repository at {repo.path}\n")
        return 0

    def _init_project(self):
        outcome = api.init_project(self.app.project)
        layout = outcome.config.layout
        self.app.stdout.write(
            f"Wrote {outcome.config.path}: test_path={layout.test_path} "
            f"top_dir={layout.top_dir}\n")
        state = "Initialised an empty" if outcome.created_repository else "Using the existing"
        self.app.stdout.write(f"{state} repository at {outcome.repository_path}\n")
        return 0
