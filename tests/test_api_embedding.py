"""The embedding example of doc/api.rst, run for real."""

import io

import fixtures
import testtools

from testrepo import api, errors
from testrepo.options import OutputOptions, Project, RunOptions, Selection
from testrepo.results.stream import StreamResult, show
from tests.fixtures import SampleProject


class Recorder(StreamResult):
    def __init__(self):
        self.finished = []

    def status(self, test_id=None, test_status=None, **event):
        if test_status in ("success", "fail", "skip"):
            self.finished.append((test_id, test_status))


class TestEmbedding(testtools.TestCase):

    def test_filtered_parallel_run_with_subunit_to_a_file(self):
        sample = self.useFixture(SampleProject(config="stestr"))
        path = sample.write("out.subunit", "")
        with open(path, "w") as stream:
            outcome = api.run(Project(directory=sample.path),
                              Selection(filters=("TestAlpha",), exclude_regex=("skip",)),
                              RunOptions(concurrency=2, timeout=60),
                              OutputOptions(subunit=True), stream)
        self.assertEqual((0, 1, 2, 1), (outcome.run_id, outcome.record.passed,
                                        outcome.record.failed, outcome.exit_code))
        recorder = Recorder()
        with open(path, "rb") as stream:
            show(stream.read(), recorder)
        self.assertEqual(3, len(recorder.finished))

    def test_errors_are_exceptions_with_exit_codes(self):
        sample = self.useFixture(SampleProject(config="stestr"))
        error = self.assertRaises(errors.UsageError, api.run, Project(directory=sample.path),
                                  Selection(filters=("(",)), RunOptions(), OutputOptions(),
                                  io.StringIO())
        self.assertEqual(2, error.exit_code)


class TestApiModule(testtools.TestCase):

    def test_option_defaults_match_the_report_modules(self):
        # api spells these defaults out so that importing it stays cheap.
        from testrepo.reports import compare, flaky

        self.assertEqual((compare.Thresholds.ratio, compare.Thresholds.absolute),
                         (api.CompareOptions.ratio, api.CompareOptions.absolute))
        self.assertEqual((flaky.DEFAULT_RUNS, flaky.DEFAULT_MIN_FLIPS),
                         (api.FlakyOptions.runs, api.FlakyOptions.min_flips))
        self.assertEqual(compare.CATEGORIES, api.COMPARE_CATEGORIES)


class TestEmbeddingWithPostgreSQL(testtools.TestCase):

    def test_no_connection_is_left_to_the_garbage_collector(self):
        # A program that calls the API many times must not be told, test
        # after test, that pooled connections were deleted while open.
        import gc
        import warnings

        from tests.databases import postgresql_url

        project = Project(directory=self.useFixture(fixtures.TempDir()).path,
                          repo_url=postgresql_url(self))
        api.init(project)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            self.assertEqual(0, api.failing(project, OutputOptions(), True, io.StringIO()))
            self.assertEqual([], api.history(project))
            gc.collect()
        self.assertEqual([], [str(w.message) for w in caught
                              if issubclass(w.category, ResourceWarning)])
