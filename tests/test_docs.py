"""The documentation matches the code.

* ``doc/commands.rst`` has a section for every registered command, and that
  section (with the shared sections it links to, such as ``Output
  options`_``) names every option string of the command's parser; the
  ``Global options`` section names every option of the application's own
  parser.
* ``doc/design.rst`` names every module under ``testrepo/`` by its path,
  and every ``testrepo/...`` path it names exists.
* README.rst's table of configuration keys has every key of
  ``testrepo.config.OPTION_NAMES``.

Nothing here starts a process.
"""

import argparse
import os
import re
import unittest

from testrepo.cli.app import TestrepoApp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_doc(name):
    with open(os.path.join(ROOT, "doc", name), encoding="utf-8") as handle:
        return handle.read()


def rst_sections(text):
    """{title: body} for the sections of an reST page (a title is a line
    underlined with ``-``, ``=`` or ``~`` of at least its length)."""
    lines = text.splitlines()
    starts = [index for index in range(len(lines) - 1)
              if lines[index].strip() and re.fullmatch(r"([-=~])\1+", lines[index + 1])
              and len(lines[index + 1]) >= len(lines[index].rstrip())]
    sections = {}
    for number, start in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(lines)
        sections[lines[start].strip()] = "\n".join(lines[start + 2:end])
    return sections


def section_commands(title):
    """The command names a section title names: ``testr history list``,
    ``testr import SOURCE`` -> 'history list', 'import SOURCE'."""
    return [literal[len("testr "):] if literal.startswith("testr ") else literal
            for literal in re.findall(r"``([^`]+)``", title)]


def mentions(text, word):
    """Does ``text`` name ``word`` as a whole flag or word?"""
    return re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", text) is not None


def parser_words(parser):
    """Every option string of ``parser`` but -h/--help (documented once),
    and the metavar of each positional argument (``RUN|all``: each part)."""
    words = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if action.option_strings:
            words.extend(action.option_strings)
        else:
            words.extend((action.metavar or action.dest).split("|"))
    return words


def command_parsers():
    """{command name: its argparse parser}, built through the app the way
    ``testr`` builds them (cliff's help and complete included)."""
    app = TestrepoApp()
    app.options, _ = app.parser.parse_known_args([])
    parsers = {}
    for name, entry_point in sorted(app.command_manager):
        command = entry_point.load()(app, app.options, cmd_name=name)
        parsers[name] = command.get_parser(f"testr {name}")
    return app, parsers


class TestCommandsPage(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.sections = rst_sections(read_doc("commands.rst"))
        cls.app, cls.parsers = command_parsers()

    def command_text(self, name):
        """The sections of ``name``, with the sections they link to."""
        texts = [body for title, body in self.sections.items()
                 if any(named == name or named.startswith(name + " ")
                        for named in section_commands(title))]
        self.assertTrue(texts, f"doc/commands.rst has no section for `testr {name}`")
        linked = set()
        for text in texts:
            linked.update(re.findall(r"`([^`<>]+)`_", text.replace("\n", " ")))
        for title in sorted(linked):
            title = " ".join(title.split())
            self.assertIn(title, self.sections, f"`{title}`_ links to no section")
            texts.append(self.sections[title])
        return "\n".join(texts)

    def test_every_registered_command_has_a_section(self):
        for name in self.parsers:
            with self.subTest(command=name):
                self.command_text(name)

    def test_every_flag_is_documented_in_its_commands_section(self):
        missing = []
        for name, parser in self.parsers.items():
            text = self.command_text(name)
            missing.extend(f"testr {name}: {word}" for word in parser_words(parser)
                           if not mentions(text, word))
        self.assertEqual([], missing, "flags missing from doc/commands.rst")

    def test_every_global_option_is_documented(self):
        text = self.sections["Global options"]
        missing = [option for action in self.app.parser._actions
                   for option in action.option_strings if not mentions(text, option)]
        self.assertEqual([], missing, "global options missing from doc/commands.rst")

    def test_the_check_sees_a_missing_flag(self):
        parser = argparse.ArgumentParser()
        parser.add_argument("--not-documented-anywhere")
        self.assertFalse(mentions(self.command_text("run"), "--not-documented-anywhere"))
        self.assertIn("--not-documented-anywhere", parser_words(parser))


def package_modules():
    """Every module of the testrepo package, as a path from the checkout."""
    paths = []
    for directory, dirnames, filenames in os.walk(os.path.join(ROOT, "testrepo")):
        dirnames[:] = sorted(name for name in dirnames if name != "__pycache__")
        for filename in sorted(filenames):
            if filename.endswith(".py"):
                paths.append(os.path.relpath(os.path.join(directory, filename), ROOT)
                             .replace(os.sep, "/"))
    return paths


class TestDesignPage(unittest.TestCase):
    """design.rst's module map names each module by its full path
    (``testrepo/cli/run.py``); every path it names must exist."""

    @classmethod
    def setUpClass(cls):
        cls.text = read_doc("design.rst")

    def test_every_module_is_described(self):
        missing = [path for path in package_modules() if f"``{path}``" not in self.text]
        self.assertEqual([], missing, "modules not described in doc/design.rst")

    def test_every_named_path_exists(self):
        named = set(re.findall(r"``(testrepo/[\w/.]*)``", self.text))
        self.assertTrue(named)
        gone = sorted(path for path in named if not os.path.exists(os.path.join(ROOT, path)))
        self.assertEqual([], gone, "doc/design.rst names files that do not exist")


class TestReadme(unittest.TestCase):

    def test_every_configuration_key_is_in_the_key_table(self):
        from testrepo.config import OPTION_NAMES

        with open(os.path.join(ROOT, "README.rst"), encoding="utf-8") as handle:
            readme = handle.read()
        table = readme[readme.index("key                         mode"):]
        table = table[:table.index("\n\n")]
        missing = [key for key in OPTION_NAMES if f"``{key}``" not in table]
        self.assertEqual([], missing, "keys missing from README.rst's key table")


if __name__ == "__main__":
    unittest.main()
