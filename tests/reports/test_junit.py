"""JUnit XML of a run, read back with junitparser (the parser GitLab-style
tools use) rather than by string matching."""

import junitparser
import testtools

from testrepo.repository.abstract import RunRecord
from testrepo.reports.junit import build_junit, classify, empty_junit, to_bytes
from tests.streams import Result, error, failure, run_results

RECORD = RunRecord(run_id=7, passed=2, failed=3, skipped=1, duration=3.5,
                   started="2024-01-01T12:00:00+00:00", partial=False, interrupted=False,
                   metadata={"concurrency": "2", "seed": "42"})


def parse(results):
    return junitparser.JUnitXml.fromstring(to_bytes(build_junit(results, "ci-host")))


def cases_by_name(xml):
    (suite,) = list(xml)
    return suite, {f"{case.classname}.{case.name}": case for case in suite}


class TestBuildJunit(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.results = run_results(
            Result("pkg.mod.TestA.test_pass", duration=0.25, stdout="out\n", stderr="err\n"),
            failure("pkg.mod.TestA.test_fail", "alpha is broken"),
            error("pkg.mod.TestB.test_error", "boom"),
            Result("pkg.mod.TestB.test_skip", "skip", reason="not today"),
            Result("pkg.mod.TestB.test_ux", "uxsuccess"),
            failure("pkg.mod.TestC.test_retried"), Result("pkg.mod.TestC.test_retried"),
            label="run 7", run_id=7, record=RECORD)
        self.xml = parse(self.results)
        self.suite, self.cases = cases_by_name(self.xml)

    def test_suite_counts_time_and_identity(self):
        suite = self.suite
        self.assertEqual((6, 2, 1, 1), (suite.tests, suite.failures, suite.errors, suite.skipped))
        self.assertEqual(3.5, suite.time)
        self.assertEqual("testrepo run 7", suite.name)
        self.assertEqual("2024-01-01T12:00:00", suite.timestamp)
        self.assertEqual("ci-host", suite.hostname)

    def test_metadata_becomes_properties(self):
        properties = {p.name: p.value for p in self.suite.properties()}
        self.assertEqual({"run_id": "7", "partial": "false", "interrupted": "false",
                          "concurrency": "2", "seed": "42"}, properties)

    def test_classname_and_name_split_at_the_last_dot(self):
        case = self.cases["pkg.mod.TestA.test_pass"]
        self.assertEqual(("pkg.mod.TestA", "test_pass", 0.25),
                         (case.classname, case.name, case.time))
        self.assertTrue(case.is_passed)

    def test_assertion_is_failure_and_other_exceptions_are_errors(self):
        (fail,) = self.cases["pkg.mod.TestA.test_fail"].result
        self.assertIsInstance(fail, junitparser.Failure)
        self.assertEqual(("AssertionError", "alpha is broken"), (fail.type, fail.message))
        self.assertIn("Traceback (most recent call last)", fail.text)
        (err,) = self.cases["pkg.mod.TestB.test_error"].result
        self.assertIsInstance(err, junitparser.Error)
        self.assertEqual(("RuntimeError", "boom"), (err.type, err.message))

    def test_skip_reason_and_unexpected_success(self):
        (skipped,) = self.cases["pkg.mod.TestB.test_skip"].result
        self.assertIsInstance(skipped, junitparser.Skipped)
        self.assertEqual("not today", skipped.message)
        (ux,) = self.cases["pkg.mod.TestB.test_ux"].result
        self.assertIsInstance(ux, junitparser.Failure)
        self.assertEqual("UnexpectedSuccess", ux.type)

    def test_captured_output_goes_to_system_out_and_err(self):
        case = self.cases["pkg.mod.TestA.test_pass"]
        self.assertEqual(("out\n", "err\n"), (case.system_out, case.system_err))

    def test_test_passing_on_retry_passes_and_keeps_the_failure_in_system_err(self):
        case = self.cases["pkg.mod.TestC.test_retried"]
        self.assertTrue(case.is_passed)
        self.assertIn("Attempt 1 of 2 failed", case.system_err)
        self.assertIn("AssertionError: it broke", case.system_err)

    def test_characters_xml_cannot_hold_are_replaced(self):
        results = run_results(Result("p.T.test_bell", stdout="ding\x07\x00dong"))
        (suite,) = list(parse(results))
        (case,) = list(suite)
        self.assertEqual("ding\ufffd\ufffddong", case.system_out)

    def test_classify(self):
        self.assertEqual([None, "failure", "error", "skipped", "failure", None],
                         [classify(o) for o in self.results.outcomes.values()])

    def test_empty_document_has_no_tests(self):
        xml = junitparser.JUnitXml.fromstring(to_bytes(empty_junit()))
        self.assertEqual(0, xml.tests)
        self.assertEqual([], list(xml))
