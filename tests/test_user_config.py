"""testrepo.user_config: finding, validating and applying the YAML file."""

import argparse
import os

import fixtures
import testtools

from testrepo import errors, user_config


def run_parser():
    """A parser shaped like `testr run`'s options."""
    parser = argparse.ArgumentParser()
    parser.add_argument("filters", nargs="*")
    parser.add_argument("--concurrency", "-j", type=int, default=None)
    parser.add_argument("--random", action="store_true")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--serial", action="store_true")
    mode.add_argument("--parallel", action="store_true")
    color = parser.add_mutually_exclusive_group()
    color.add_argument("--color", dest="color", action="store_true", default=None)
    color.add_argument("--no-color", dest="color", action="store_false")
    parser.add_argument("--exclude-regex", "-E", action="append", default=[])
    parser.add_argument("--format", choices=["table", "json"], default="table")
    return parser


class TestOptionsOf(testtools.TestCase):
    def test_long_optional_arguments_are_configurable(self):
        options = user_config.options_of(run_parser())
        self.assertEqual(
            ["color", "concurrency", "exclude-regex", "format", "no-color", "parallel",
             "random", "serial"], sorted(options))
        self.assertEqual("color", options["no-color"].dest)


class TestLoad(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.commands = {"run": user_config.options_of(run_parser()),
                         "history-list": user_config.options_of(argparse.ArgumentParser())}

    def load(self, text):
        path = os.path.join(self.dir, "testr.yaml")
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
        return user_config.load(path, self.commands)

    def error(self, text):
        error = self.assertRaises(errors.ConfigError, self.load, text)
        prefix = os.path.join(self.dir, "testr.yaml") + ": "
        self.assertTrue(error.message.startswith(prefix), error.message)
        self.assertNotIn("\n", error.message)
        return error.message[len(prefix):]

    def test_values_become_argparse_destinations(self):
        loaded = self.load("run:\n  concurrency: 4\n  no-color: true\n"
                           "  exclude-regex: [slow, network]\n  format: json\n")
        self.assertEqual({"run": {"concurrency": 4, "color": False,
                                  "exclude_regex": ["slow", "network"], "format": "json"}},
                         loaded)

    def test_empty_file_and_empty_section_are_fine(self):
        self.assertEqual({}, self.load(""))
        self.assertEqual({"run": {}}, self.load("run:\n"))

    def test_unknown_command_suggests_the_closest(self):
        self.assertEqual("rnu: unknown command (did you mean run?)", self.error("rnu: {}\n"))
        self.assertEqual("history_list: unknown command (did you mean history-list?)",
                         self.error("history_list: {}\n"))

    def test_unknown_option_names_the_key_path(self):
        self.assertEqual("run.concurency: unknown option (did you mean concurrency?)",
                         self.error("run:\n  concurency: 4\n"))

    def test_unknown_option_without_a_close_match_lists_the_known_ones(self):
        self.assertIn("run.no-subunit-trace: unknown option (known: color, concurrency,",
                      self.error("run:\n  no-subunit-trace: true\n"))

    def test_wrong_types_are_named(self):
        self.assertEqual("run.concurrency: expected an integer, got 'four'",
                         self.error("run: {concurrency: four}\n"))
        self.assertEqual("run.concurrency: expected an integer, got True",
                         self.error("run: {concurrency: true}\n"))
        self.assertEqual("run.random: expected true or false, got 'yes'",
                         self.error("run: {random: 'yes'}\n"))
        self.assertEqual("run.exclude-regex: item 2: expected a string, got 3",
                         self.error("run: {exclude-regex: [a, 3]}\n"))
        self.assertEqual("run.format: expected one of table, json, got 'xml'",
                         self.error("run: {format: xml}\n"))

    def test_a_section_must_be_a_mapping(self):
        self.assertEqual("run: expected a mapping of option names to values, got [4]",
                         self.error("run: [4]\n"))

    def test_the_file_must_be_a_mapping(self):
        self.assertIn("expected command names mapped to their options", self.error("- run\n"))

    def test_invalid_yaml_names_the_line(self):
        self.assertIn("invalid YAML: line 2, column 17: mapping values are not allowed here", self.error("run:\n  concurrency: 4: 5\n"))


class TestFind(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.home = self.useFixture(fixtures.TempDir()).path
        self.environ = {"HOME": self.home}

    def write(self, relpath):
        path = os.path.join(self.home, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write("run: {}\n")
        return path

    def test_no_file_is_none(self):
        self.assertIsNone(user_config.find(None, self.environ))

    def test_config_dir_file_wins_over_home_file(self):
        self.write(".testr.yaml")
        self.assertEqual(os.path.join(self.home, ".testr.yaml"),
                         user_config.find(None, self.environ))
        expected = self.write(".config/testr.yaml")
        self.assertEqual(expected, user_config.find(None, self.environ))

    def test_xdg_config_home_is_honoured(self):
        expected = self.write("elsewhere/testr.yaml")
        environ = dict(self.environ, XDG_CONFIG_HOME=os.path.join(self.home, "elsewhere"))
        self.assertEqual(expected, user_config.find(None, environ))

    def test_missing_explicit_file_is_a_config_error(self):
        error = self.assertRaises(errors.ConfigError, user_config.find, "nope.yaml", self.environ)
        self.assertEqual("nope.yaml: no such file (given with --user-config); "
                         "give an existing YAML file", error.message)


class TestParseWithDefaults(testtools.TestCase):
    def parse(self, argv, defaults):
        return user_config.parse_with_defaults(run_parser(), argv, defaults)

    def test_configured_values_fill_in_what_the_command_line_leaves_out(self):
        parsed = self.parse(["x"], {"concurrency": 4, "random": True})
        self.assertEqual((["x"], 4, True), (parsed.filters, parsed.concurrency, parsed.random))

    def test_command_line_wins(self):
        parsed = self.parse(["-j", "2", "--no-color"], {"concurrency": 4, "color": True})
        self.assertEqual((2, False), (parsed.concurrency, parsed.color))

    def test_command_line_wins_within_a_mutually_exclusive_group(self):
        parsed = self.parse(["--parallel"], {"serial": True})
        self.assertEqual((False, True), (parsed.serial, parsed.parallel))
        parsed = self.parse([], {"serial": True})
        self.assertEqual((True, False), (parsed.serial, parsed.parallel))

    def test_repeatable_options_add_to_the_configured_list(self):
        parsed = self.parse(["-E", "cli"], {"exclude_regex": ["configured"]})
        self.assertEqual(["configured", "cli"], parsed.exclude_regex)
