"""testrepo.config_writer: which test_path/top_dir fits a project layout."""

import os

import fixtures
import testtools

from testrepo import config, config_writer, errors
from testrepo.config_writer import Layout


class LayoutTestCase(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.path = self.useFixture(fixtures.TempDir()).path

    def touch(self, *relpaths):
        for relpath in relpaths:
            path = os.path.join(self.path, relpath)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "w").close()


class TestDetect(LayoutTestCase):
    def test_tests_package(self):
        self.touch("tests/__init__.py", "tests/unit/test_a.py", "pkg/__init__.py")
        self.assertEqual(Layout("./tests", "./"), config_writer.detect(self.path))

    def test_tests_directory_without_init_is_its_own_top_dir(self):
        self.touch("tests/test_a.py")
        self.assertEqual(Layout("./tests", "./tests"), config_writer.detect(self.path))

    def test_test_directory(self):
        self.touch("test/__init__.py", "test/test_a.py")
        self.assertEqual(Layout("./test", "./"), config_writer.detect(self.path))

    def test_one_package_with_tests(self):
        self.touch("pkg/__init__.py", "pkg/tests/__init__.py", "pkg/tests/test_a.py",
                   "other/__init__.py", "other/code.py")
        self.assertEqual(Layout("./pkg", "./"), config_writer.detect(self.path))

    def test_src_layout(self):
        self.touch("src/pkg/__init__.py", "src/pkg/test_a.py")
        self.assertEqual(Layout("./src/pkg", "./src"), config_writer.detect(self.path))

    def test_several_packages_are_discovered_from_the_top(self):
        self.touch("a/__init__.py", "a/test_a.py", "b/__init__.py", "b/test_b.py")
        self.assertEqual(Layout("./", "./"), config_writer.detect(self.path))

    def test_hidden_and_virtualenv_directories_are_not_searched(self):
        self.touch("tests/.hidden/test_a.py", "tests/venv/test_b.py")
        self.assertRaises(errors.UsageError, config_writer.detect, self.path)

    def test_no_tests_is_a_usage_error(self):
        self.touch("pkg/__init__.py", "pkg/code.py")
        error = self.assertRaises(errors.UsageError, config_writer.detect, self.path)
        self.assertIn(f"No test files (test*.py) found in {self.path}", error.message)


class TestWrite(LayoutTestCase):
    def test_written_file_loads_as_that_layout(self):
        self.touch("tests/__init__.py", "tests/test_a.py")
        written = config_writer.write(self.path)
        self.assertEqual(os.path.join(self.path, ".testr.conf"), written.path)
        loaded = config.load(self.path)
        self.assertEqual(("./tests", "./"), (loaded.test_path, loaded.top_dir))

    def test_existing_configuration_is_left_alone(self):
        self.touch("tests/__init__.py", "tests/test_a.py")
        with open(os.path.join(self.path, ".stestr.conf"), "w") as stream:
            stream.write("[DEFAULT]\ntest_path=./tests\n")
        error = self.assertRaises(errors.ConfigError, config_writer.write, self.path)
        self.assertIn(".stestr.conf already configures testr", error.message)
        self.assertFalse(os.path.exists(os.path.join(self.path, ".testr.conf")))
