"""Tests for testrepo.config: finding, reading and validating project config."""

import os
import re

import fixtures
import hypothesis
import hypothesis.strategies
import testtools
import testtools.matchers

from testrepo import config, errors

TESTR_COMMAND = "${PYTHON:-python} -m subunit.run discover -t . tests $LISTOPT $IDOPTION"
TESTR_CONF = f"""\
[DEFAULT]
test_command={TESTR_COMMAND}
test_id_option=--load-list $IDFILE
test_list_option=--list
"""


class ConfigTestCase(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.directory = self.useFixture(fixtures.TempDir()).path

    def write(self, name, text):
        path = os.path.join(self.directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
        return path

    def load(self, explicit_path=None):
        return config.load(self.directory, explicit_path)

    def assertConfigError(self, expected_message, explicit_path=None):
        error = self.assertRaises(errors.ConfigError, self.load, explicit_path)
        self.assertEqual(expected_message, str(error))
        self.assertEqual(errors.EXIT_CONFIG, error.exit_code)
        return error


class TestLocations(ConfigTestCase):
    def test_testr_conf_is_read_from_default_section_with_raw_values(self):
        self.write(".testr.conf", TESTR_CONF + "filter_tags=zope:layer  worker-0\n")
        loaded = self.load()
        self.assertEqual(".testr.conf", loaded.source)
        self.assertEqual(TESTR_COMMAND, loaded.test_command)
        self.assertEqual("--load-list $IDFILE", loaded.test_id_option)
        self.assertEqual(frozenset({"zope:layer", "worker-0"}), loaded.filter_tags)
        self.assertTrue(loaded.command_mode)
        self.assertIsNone(loaded.test_path)
        self.assertIsNone(loaded.top_dir)

    def test_multiline_test_command_and_percent_survive(self):
        self.write(".testr.conf", "[DEFAULT]\ntest_command=echo 100% \\\n  done\n")
        self.assertEqual("echo 100% \\\ndone", self.load().test_command)

    def test_pyproject_tool_testr_table(self):
        self.write(
            "pyproject.toml",
            '[project]\nname = "x"\n[tool.testr]\ntest_path = "src/tests"\n'
            "parallel_class = true\n",
        )
        loaded = self.load()
        self.assertEqual("pyproject.toml", loaded.source)
        self.assertEqual("src/tests", loaded.test_path)
        self.assertEqual(".", loaded.top_dir)
        self.assertIs(True, loaded.parallel_class)

    def test_tox_ini_testr_section_ignores_other_sections(self):
        self.write("tox.ini", "[tox]\nenvlist = py3\n[testr]\ntest_path = ./t\n")
        loaded = self.load()
        self.assertEqual(("tox.ini", "./t"), (loaded.source, loaded.test_path))

    def test_tox_ini_default_section_does_not_leak_into_testr_section(self):
        self.write("tox.ini", "[DEFAULT]\nunrelated = 1\n[testr]\ntest_path = t\n")
        self.assertEqual("t", self.load().test_path)

    def test_setup_cfg_testr_section(self):
        self.write("setup.cfg", "[metadata]\nname = x\n[testr]\ngroup_regex = ([^.]*\\.)*\n")
        loaded = self.load()
        self.assertEqual("setup.cfg", loaded.source)
        self.assertEqual(re.compile(r"([^.]*\.)*"), loaded.group_regex)

    def test_stestr_conf_works_unchanged(self):
        self.write(".stestr.conf", "[DEFAULT]\ntest_path=./project/tests\ntop_dir=./\n")
        loaded = self.load()
        self.assertEqual(".stestr.conf", loaded.source)
        self.assertEqual(("./project/tests", "./"), (loaded.test_path, loaded.top_dir))
        self.assertFalse(loaded.command_mode)

    def test_pyproject_tool_stestr_table(self):
        self.write("pyproject.toml", '[tool.stestr]\ntest_path = "st"\n')
        self.assertEqual(("pyproject.toml", "st"), (self.load().source, self.load().test_path))

    def test_tox_ini_stestr_section(self):
        self.write("tox.ini", "[tox]\n[stestr]\ntest_path = st\n")
        self.assertEqual(("tox.ini", "st"), (self.load().source, self.load().test_path))

    def test_files_without_a_testr_section_are_skipped(self):
        self.write("pyproject.toml", '[project]\nname = "x"\n')
        self.write("tox.ini", "[tox]\nenvlist = py3\n")
        self.write("setup.cfg", "[metadata]\nname = x\n")
        loaded = self.load()
        self.assertEqual((None, "."), (loaded.source, loaded.test_path))


class TestPrecedence(ConfigTestCase):
    # Each entry shadows every later one; written lowest first.
    LOCATIONS = (
        ("tox.ini", "[stestr]\ntest_path = tox-stestr\n"),
        ("pyproject.toml", '[tool.stestr]\ntest_path = "pyproject-stestr"\n'),
        (".stestr.conf", "[DEFAULT]\ntest_path = stestr-conf\n"),
        ("setup.cfg", "[testr]\ntest_path = setup-cfg\n"),
        ("tox.ini", "[testr]\ntest_path = tox-testr\n"),
        ("pyproject.toml", '[tool.testr]\ntest_path = "pyproject-testr"\n'),
        (".testr.conf", "[DEFAULT]\ntest_path = testr-conf\n"),
    )

    def test_each_location_shadows_the_ones_after_it(self):
        contents = {}
        for name, text in self.LOCATIONS:
            # tox.ini and pyproject.toml hold both their tables at once.
            contents[name] = contents.get(name, "") + text
            self.write(name, contents[name])
            expected = text.split("test_path = ")[1].strip().strip('"')
            self.assertEqual((name, expected), (self.load().source, self.load().test_path))

    def test_explicit_path_beats_every_location(self):
        for name, text in self.LOCATIONS:
            self.write(name, text)
        self.write("ci/custom.conf", "[DEFAULT]\ntest_path = explicit\n")
        loaded = self.load("ci/custom.conf")
        self.assertEqual(("ci/custom.conf", "explicit"), (loaded.source, loaded.test_path))

    def test_explicit_absolute_path_inside_directory_is_named_relative(self):
        path = self.write("custom.conf", "[DEFAULT]\ntest_path = x\n")
        self.assertEqual("custom.conf", self.load(path).source)

    def test_explicit_toml_reads_tool_testr_then_tool_stestr(self):
        self.write("a.toml", '[tool.stestr]\ntest_path = "s"\n')
        self.assertEqual("s", self.load("a.toml").test_path)
        self.write("a.toml", '[tool.stestr]\ntest_path = "s"\n[tool.testr]\ntest_path = "t"\n')
        self.assertEqual("t", self.load("a.toml").test_path)

    def test_explicit_setup_cfg_reads_testr_section(self):
        self.write("sub/setup.cfg", "[testr]\ntest_path = t\n")
        self.assertEqual("t", self.load("sub/setup.cfg").test_path)

    def test_explicit_path_missing(self):
        self.write(".testr.conf", TESTR_CONF)
        self.assertConfigError(
            f"nope.conf: no such file in {self.directory} (given with --config)", "nope.conf"
        )

    def test_explicit_absolute_path_missing(self):
        path = os.path.join(self.directory, "gone", "x.conf")
        self.assertConfigError(f"{path}: no such file (given with --config)", path)

    def test_explicit_toml_without_table(self):
        self.write("x.toml", '[project]\nname = "x"\n')
        self.assertConfigError(
            "x.toml: has no [tool.testr] or [tool.stestr] table (given with --config)",
            "x.toml",
        )


class TestZeroConfig(ConfigTestCase):
    def test_without_tests_directory_discovers_from_top(self):
        self.assertEqual(config.Config(source=None, test_path=".", top_dir="."), self.load())

    def test_with_tests_directory_discovers_there(self):
        os.mkdir(os.path.join(self.directory, "tests"))
        self.assertEqual(config.Config(source=None, test_path="tests", top_dir="."), self.load())

    def test_config_without_command_or_path_uses_discovery_defaults(self):
        os.mkdir(os.path.join(self.directory, "tests"))
        self.write(".testr.conf", "[DEFAULT]\ngroup_regex=^\\w+\n")
        loaded = self.load()
        self.assertEqual(
            (".testr.conf", "tests", "."), (loaded.source, loaded.test_path, loaded.top_dir)
        )
        self.assertFalse(loaded.command_mode)


class TestValues(ConfigTestCase):
    def test_group_regex_is_returned_compiled(self):
        self.write(".testr.conf", "[DEFAULT]\ngroup_regex=([^.]+\\.)+\n")
        group_regex = self.load().group_regex
        self.assertIsInstance(group_regex, re.Pattern)
        self.assertEqual("a.b.", group_regex.match("a.b.test_c").group(0))

    def test_empty_group_regex_means_no_grouping(self):
        self.write(".testr.conf", "[DEFAULT]\ngroup_regex=\n")
        self.assertIsNone(self.load().group_regex)

    def test_ini_booleans(self):
        for word, expected in [("Yes", True), ("on", True), ("1", True), ("TRUE", True),
                               ("no", False), ("Off", False), ("0", False), ("false", False)]:
            self.write(".testr.conf", f"[DEFAULT]\nparallel_class={word}\n")
            self.assertIs(expected, self.load().parallel_class, word)

    def test_toml_booleans_and_tag_list(self):
        self.write(
            "pyproject.toml",
            '[tool.testr]\nparallel_class = false\nfilter_tags = ["a", "b"]\n',
        )
        loaded = self.load()
        self.assertIs(False, loaded.parallel_class)
        self.assertEqual(frozenset({"a", "b"}), loaded.filter_tags)

    def test_toml_integer_concurrency_becomes_a_callout(self):
        self.write("pyproject.toml", '[tool.testr]\ntest_run_concurrency = 4\n')
        self.assertEqual("echo 4", self.load().test_run_concurrency)

    def test_test_path_variable_default_used_when_unset(self):
        self.useFixture(fixtures.EnvironmentVariable("TESTREPO_T"))
        self.write(
            ".stestr.conf",
            "[DEFAULT]\ntest_path=${TESTREPO_T:-./foo/tests}\ntop_dir=$TESTREPO_T.\n",
        )
        loaded = self.load()
        self.assertEqual(("./foo/tests", "."), (loaded.test_path, loaded.top_dir))

    def test_test_path_variable_used_when_set(self):
        self.useFixture(fixtures.EnvironmentVariable("TESTREPO_T", "elsewhere"))
        self.write(".stestr.conf", "[DEFAULT]\ntest_path=${TESTREPO_T:-./foo/tests}\n")
        self.assertEqual("elsewhere", self.load().test_path)

    def test_test_command_is_not_expanded(self):
        self.useFixture(fixtures.EnvironmentVariable("PYTHON", "python9"))
        self.write(".testr.conf", TESTR_CONF)
        self.assertEqual(TESTR_COMMAND, self.load().test_command)


class TestExpandVariables(testtools.TestCase):
    def test_forms(self):
        environ = {"A": "a", "EMPTY": "", "B": "b"}
        cases = [
            ("$A/x", "a/x"),
            ("${A}x", "ax"),
            ("$UNSET.", "."),
            ("${UNSET:-d}", "d"),
            ("${EMPTY:-d}", "d"),
            ("${EMPTY-d}", ""),
            ("${UNSET-d}", "d"),
            ("${A:-d}", "a"),
            ("${UNSET:-${B}/$A}", "b/a"),
            ("cost $5 and $", "cost $5 and $"),
        ]
        for text, expected in cases:
            self.assertEqual(expected, config.expand_variables(text, environ), text)

    def test_unterminated_brace_is_a_value_error(self):
        self.assertRaises(ValueError, config.expand_variables, "${A", {})

    def test_bad_substitution_is_a_value_error(self):
        self.assertRaises(ValueError, config.expand_variables, "${A B}", {})


class TestErrors(ConfigTestCase):
    def test_unknown_option_suggests_the_close_one(self):
        self.write(".testr.conf", "[DEFAULT]\ntest_comand=python -m subunit.run\n")
        self.assertConfigError(
            ".testr.conf: [DEFAULT] test_comand: unknown option (did you mean test_command?)"
        )

    def test_stestr_files_ignore_unknown_options_as_stestr_does(self):
        # Several OpenStack projects ship the typo top_path; stestr ignores it.
        self.write(".stestr.conf", "[DEFAULT]\ntest_path=./tests\ntop_path=./\n")
        self.assertEqual("./tests", self.load().test_path)
        os.remove(os.path.join(self.directory, ".stestr.conf"))
        self.write("pyproject.toml", '[tool.stestr]\ntest_path = "t"\nfoo = 1\n')
        self.assertEqual("t", self.load().test_path)

    def test_unknown_option_without_a_close_match_lists_options(self):
        self.write("pyproject.toml", '[tool.testr]\nzzz = "x"\n')
        error = self.assertRaises(errors.ConfigError, self.load)
        self.assertThat(
            str(error),
            testtools.matchers.StartsWith(
                "pyproject.toml: [tool.testr] zzz: unknown option (known options: test_command, "
            ),
        )

    def test_invalid_group_regex(self):
        self.write(".testr.conf", "[DEFAULT]\ngroup_regex=(foo\n")
        self.assertConfigError(
            ".testr.conf: [DEFAULT] group_regex: invalid regular expression '(foo': "
            "missing ), unterminated subpattern at position 0"
        )

    def test_idoption_without_test_id_option(self):
        self.write(".testr.conf", "[DEFAULT]\ntest_command=run $IDOPTION\n")
        self.assertConfigError(
            ".testr.conf: [DEFAULT] test_command uses $IDOPTION but test_id_option is not set; "
            "add e.g. test_id_option=--load-list $IDFILE"
        )

    def test_listopt_without_test_list_option_in_toml(self):
        self.write("pyproject.toml", '[tool.testr]\ntest_command = "run $LISTOPT"\n')
        self.assertConfigError(
            "pyproject.toml: [tool.testr] test_command uses $LISTOPT but test_list_option "
            'is not set; add e.g. test_list_option = "--list"'
        )

    def test_test_command_with_test_path_conflicts(self):
        self.write(".testr.conf", "[DEFAULT]\ntest_command=run\ntest_path=tests\n")
        self.assertConfigError(
            ".testr.conf: [DEFAULT] test_path: conflicts with test_command: test_command runs "
            "your own test command (testr mode), test_path configures the built-in runner's "
            "discovery (stestr mode); remove one of them"
        )

    def test_toml_non_boolean(self):
        self.write("pyproject.toml", '[tool.testr]\nparallel_class = "maybe"\n')
        self.assertConfigError(
            "pyproject.toml: [tool.testr] parallel_class: expected a boolean, got 'maybe'"
        )

    def test_ini_non_boolean(self):
        self.write(".stestr.conf", "[DEFAULT]\nparallel_class = sometimes\n")
        self.assertConfigError(
            ".stestr.conf: [DEFAULT] parallel_class: expected a boolean, got 'sometimes'"
        )

    def test_unknown_toml_key_with_newline_stays_on_one_line(self):
        self.write("pyproject.toml", '[tool.testr]\n"a\\nb" = 1\n')
        self.assertConfigError(
            "pyproject.toml: [tool.testr] 'a\\nb': unknown option (known options: "
            + ", ".join(config.OPTION_NAMES) + ")"
        )

    def test_toml_wrong_type(self):
        self.write("pyproject.toml", "[tool.testr]\ntest_command = 3\n")
        self.assertConfigError(
            "pyproject.toml: [tool.testr] test_command: expected a string, got 3"
        )

    def test_missing_section_header(self):
        self.write(".testr.conf", "test_command=run\n")
        self.assertConfigError(
            ".testr.conf: line 1: no section header before 'test_command=run'; "
            "options belong after a [DEFAULT] line"
        )

    def test_options_outside_default_section(self):
        self.write(".testr.conf", "[testr]\ntest_command=run\n")
        self.assertConfigError(
            ".testr.conf: options must be in the [DEFAULT] section, found only [testr]"
        )

    def test_duplicate_option(self):
        self.write(".testr.conf", "[DEFAULT]\ntest_path=a\ntest_path=b\n")
        self.assertConfigError(".testr.conf: [DEFAULT] test_path: set twice (line 3)")

    def test_invalid_toml(self):
        self.write("pyproject.toml", "[tool.testr\n")
        error = self.assertRaises(errors.ConfigError, self.load)
        self.assertThat(
            str(error), testtools.matchers.StartsWith("pyproject.toml: invalid TOML: ")
        )
        self.assertNotIn("\n", str(error))

    def test_undecodable_file(self):
        with open(os.path.join(self.directory, ".testr.conf"), "wb") as stream:
            stream.write(b"[DEFAULT]\ntest_path=\xff\xfe\n")
        error = self.assertConfigError(
            ".testr.conf: not UTF-8 text (byte 20: invalid start byte)"
        )
        self.assertIsInstance(error.__cause__, UnicodeDecodeError)

    def test_unterminated_variable_in_test_path(self):
        self.write(".stestr.conf", "[DEFAULT]\ntest_path=${TEST_PATH\n")
        self.assertConfigError(
            ".stestr.conf: [DEFAULT] test_path: unterminated '${' in '${TEST_PATH'"
        )

    def test_test_path_expanding_to_nothing(self):
        self.useFixture(fixtures.EnvironmentVariable("TESTREPO_T"))
        self.write(".stestr.conf", "[DEFAULT]\ntest_path=$TESTREPO_T\n")
        self.assertConfigError(
            ".stestr.conf: [DEFAULT] test_path: '$TESTREPO_T' expands to an empty path"
        )

    @hypothesis.settings(deadline=None, max_examples=200)
    @hypothesis.given(hypothesis.strategies.text())
    def test_arbitrary_text_never_raises_anything_but_config_error(self, text):
        self.write(".testr.conf", text)
        try:
            self.load()
        except errors.ConfigError as error:
            self.assertNotIn("\n", str(error))

    @hypothesis.settings(deadline=None, max_examples=200)
    @hypothesis.given(hypothesis.strategies.text())
    def test_arbitrary_default_section_never_raises_anything_but_config_error(self, text):
        self.write(".testr.conf", "[DEFAULT]\n" + text)
        try:
            self.load()
        except errors.ConfigError as error:
            self.assertNotIn("\n", str(error))

    @hypothesis.settings(deadline=None, max_examples=300)
    @hypothesis.given(
        hypothesis.strategies.lists(
            hypothesis.strategies.tuples(
                hypothesis.strategies.sampled_from(config.OPTION_NAMES),
                hypothesis.strategies.text(
                    alphabet=hypothesis.strategies.characters(blacklist_categories=("Cs", "Cc"))
                ),
            ),
            max_size=5,
        )
    )
    def test_arbitrary_values_never_raise_anything_but_config_error(self, options):
        self.write(".testr.conf", "[DEFAULT]\n" + "".join(f"{k}={v}\n" for k, v in options))
        try:
            self.load()
        except errors.ConfigError as error:
            self.assertNotIn("\n", str(error))


class TestImportsOnUse(ConfigTestCase):
    """Commands that only read the repository (``testr last``) read
    ``repo_url`` and must not pay for the validator or a TOML parser."""

    PROBE = ("import sys; from testrepo import config; config.{call}(sys.argv[1]); "
             "print(' '.join(m for m in ('voluptuous', 'tomllib', 'tomli') if m in sys.modules))")

    def imported(self, call):
        import subprocess
        import sys
        return subprocess.run(
            [sys.executable, "-c", self.PROBE.format(call=call), self.directory],
            capture_output=True, text=True, check=True).stdout.split()

    def test_repo_url_alone_imports_neither(self):
        self.write(".testr.conf", "[DEFAULT]\ntest_path=.\nrepo_url=sqlite:///h.db\n")
        self.assertEqual([], self.imported("repository_url"))

    def test_loading_the_configuration_checks_it_with_voluptuous(self):
        self.write("pyproject.toml", "[tool.testr]\ntest_path = '.'\n")
        self.assertIn("voluptuous", self.imported("load"))
