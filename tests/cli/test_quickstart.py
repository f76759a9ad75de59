"""`testr quickstart` and `testr help`: every command is listed and the tour
only mentions commands that exist."""

import re
from importlib import metadata

import testtools

from tests.fixtures import SampleProject
from tests.harness import testr


def command_names():
    """The commands registered under the testrepo.cli entry point group,
    named as cliff shows them (underscores become spaces)."""
    entry_points = metadata.entry_points()
    if hasattr(entry_points, "select"):  # Python >= 3.10
        entry_points = entry_points.select(group="testrepo.cli")
    else:
        entry_points = entry_points.get("testrepo.cli", [])
    return sorted(ep.name.replace("_", " ") for ep in entry_points)


class TestHelpAndTour(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config=None))

    def cli(self, *args):
        return testr(self.project.path, *args)

    def test_help_lists_every_command(self):
        code, out, _ = self.cli("help")
        self.assertEqual(0, code)
        listed = set(re.findall(r"^  (\S+(?: \S+)?)  ", out, re.M))
        self.assertEqual(set(), set(command_names()) - listed)
        for name in ("history list", "history show", "history remove", "import",
                     "quickstart"):
            self.assertIn(name, command_names())

    def test_help_for_a_two_word_command(self):
        code, out, _ = self.cli("help", "history", "remove")
        self.assertEqual(0, code)
        self.assertIn("history remove [-h] RUN|all [RUN|all ...]", out)

    def test_quickstart_mentions_only_real_commands(self):
        code, out, _ = self.cli("quickstart")
        self.assertEqual(0, code)
        # Commands appear indented as examples, or quoted in backticks.
        mentioned = set(re.findall(r"(?:^ +|`)testr ((?:history )?[a-z-]+)", out, re.M))
        self.assertIn("history list", mentioned)
        self.assertEqual(set(), mentioned - set(command_names()) - {"help"})
