"""The ``testr`` / ``testrepo`` command line (cliff)."""

from __future__ import annotations

import importlib.metadata
import signal
import sys

from cliff.app import App
from cliff.commandmanager import CommandManager

import testrepo
from testrepo.options import Project


class LazyCommandManager(CommandManager):
    """cliff's CommandManager, but a command's module is imported only when
    that command runs.

    cliff lists the commands with stevedore, which imports every plugin to
    do so: every command module and, through them, the whole library (about
    half of ``testr --version``).  The entry points themselves are all
    ``find_command`` needs; it loads the one it picks.
    """

    def load_commands(self, namespace: str) -> None:
        self.group_list.append(namespace)
        for entry_point in importlib.metadata.entry_points(group=namespace):
            if self._is_module_ignored(entry_point.module, self.ignored_modules):
                continue
            name = entry_point.name
            if self.convert_underscores:
                name = name.replace("_", " ")
            # The same distribution seen twice on sys.path: the first wins,
            # as it would for an import.
            self.commands.setdefault(name, entry_point)


class TestrepoApp(App):
    """testrepo: run tests in parallel and keep their results."""

    __test__ = False  # not a unittest class

    def __init__(self, test_args=()):
        super().__init__(
            description="Run tests in parallel and keep their results in a repository "
                        "(testr/stestr compatible).",
            version=testrepo.__version__,
            command_manager=LazyCommandManager("testrepo.cli"),
            deferred_help=True,
        )
        # Everything after `--` goes to the test command (testr's habit).
        self.test_args = tuple(test_args)

    def build_option_parser(self, description, version, argparse_kwargs=None):
        parser = super().build_option_parser(description, version, argparse_kwargs)
        parser.add_argument(
            "-d", "--here", dest="here", default=".", metavar="DIR",
            help="Project directory to work in (default: the current directory).")
        parser.add_argument(
            "-c", "--config", dest="config", default=None, metavar="FILE",
            help="Configuration file (default: the first of .testr.conf, pyproject.toml "
                 "[tool.testr], tox.ini [testr], setup.cfg [testr], .stestr.conf, "
                 "pyproject.toml [tool.stestr], tox.ini [stestr]). Note: -c is this "
                 "option, so table commands take --column for cliff's column choice.")
        parser.add_argument(
            "-r", "--repo-url", "--repository", dest="repo_url", default=None, metavar="URL",
            help="Repository location: a path or file:PATH (default: DIR/.testrepository).")
        parser.add_argument(
            "--user-config", dest="user_config", default=None, metavar="FILE",
            help="Per-command defaults in YAML (default: the first of "
                 "~/.config/testr.yaml and ~/.testr.yaml; see doc/history.rst).")
        return parser

    def run_subcommand(self, argv):
        # Kept so that a command can re-parse its arguments with the user
        # config's defaults (cli.base.with_user_defaults).
        self.command_argv = list(argv)
        return super().run_subcommand(argv)

    @property
    def project(self) -> Project:
        return Project(directory=self.options.here, config_path=self.options.config,
                       repo_url=self.options.repo_url)

    def configure_logging(self):
        # Diagnostics only with -v/--debug; user output goes through stdout.
        if self.options.verbose_level > 1 or self.options.debug:
            super().configure_logging()


def split_test_args(argv):
    """Split ``argv`` at the first ``--``: (testrepo args, test command args)."""
    if "--" in argv:
        index = argv.index("--")
        return argv[:index], argv[index + 1:]
    return argv, []


def _terminate(signum, frame):
    # SIGTERM (CI timeouts, `timeout`, `kill`) gets what Ctrl-C gets: the
    # workers are stopped, the partial run is stored as interrupted, exit 130.
    raise KeyboardInterrupt


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    own_args, test_args = split_test_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    app = TestrepoApp(test_args)
    return app.run(own_args)
