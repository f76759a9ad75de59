"""End-to-end tests of filter_tags, test_run_concurrency and
test_id_list_default, as testr documents them."""

import io
import os

import subunit
import testtools

from testrepo import api
from testrepo.options import Project
from tests.cli.test_run import stored_events, totals
from tests.cli.test_run_modes import workers_of
from tests.fixtures import STESTR_CONF, TESTR_CONF, SampleProject
from tests.harness import testr

LAYER = frozenset(["zope:layer"])


def layered_stream():
    """A zope-style stream: layer pseudo-tests tagged zope:layer around
    real tests."""
    buffer = io.BytesIO()
    out = subunit.StreamResultToBytes(buffer)
    for test_id, status, tags in [("layer.Setup", "success", LAYER),
                                  ("real.test_ok", "success", None),
                                  ("real.test_skip", "skip", None),
                                  ("layer.Teardown", "fail", LAYER)]:
        out.status(test_id=test_id, test_status="inprogress", test_tags=tags)
        out.status(test_id=test_id, test_status=status, test_tags=tags)
    return buffer.getvalue()


class TestFilterTags(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config=None))
        with open(os.path.join(self.project.path, "layers.subunit"), "wb") as handle:
            handle.write(layered_stream())
        self.project.write(".testr.conf", "[DEFAULT]\ntest_command=cat layers.subunit\n"
                                          "filter_tags=zope:layer other:tag\n")

    def test_tagged_tests_count_only_when_they_fail(self):
        code, out, err = testr(self.project.path, "run")
        self.assertEqual(1, code, out + err)
        self.assertEqual((1, 1, 1), totals(out))
        self.assertNotIn("layer.Setup", out)
        self.assertIn("layer.Teardown", out)
        _, last, _ = testr(self.project.path, "last")
        self.assertEqual((1, 1, 1), totals(last))
        _, events = stored_events(self.project.path)
        self.assertIn("layer.Setup", {event[1] for event in events})  # still stored

    def test_load_hides_them_too(self):
        code, out, _ = testr(self.project.path, "load", "--force-init", "layers.subunit")
        self.assertEqual(1, code)
        self.assertEqual((1, 1, 1), totals(out))


class TestRunConcurrencyZero(testtools.TestCase):
    """testr's documentation: 0 means one partition (worker) per test."""

    def assert_one_worker_per_test(self, config):
        project = self.useFixture(SampleProject(config=None))
        project.write(".testr.conf", config + "test_run_concurrency=echo 0\n")
        code, out, err = testr(project.path, "run")
        self.assertEqual(1, code, out + err)
        self.assertEqual((4, 2, 1), totals(out))
        self.assertEqual(7, len(set(workers_of(project.path).values())))
        (record,) = api.history(Project(directory=project.path))
        self.assertEqual("7", record.metadata["concurrency"])

    def test_command_mode(self):
        self.assert_one_worker_per_test(TESTR_CONF)

    def test_builtin_runner(self):
        self.assert_one_worker_per_test(STESTR_CONF)


class TestIdListDefault(testtools.TestCase):
    """testr's documentation: $IDLIST is test_id_list_default when no ids
    are given (listing, or a run of the whole suite)."""

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config=None))
        self.project.write(".testr.conf", "[DEFAULT]\n"
                           "test_command=${PYTHON:-python} -m subunit.run $LISTOPT $IDLIST\n"
                           "test_list_option=--list\n"
                           "test_id_list_default=sample.test_sample.TestBeta\n")

    def test_a_whole_suite_run_gets_the_default(self):
        code, out, err = testr(self.project.path, "run", "--serial")
        self.assertEqual(0, code, out + err)
        self.assertEqual((3, 0, 0), totals(out))

    def test_listing_gets_the_default(self):
        code, out, _ = testr(self.project.path, "list")
        self.assertEqual(0, code)
        self.assertEqual(3, len(out.split()))

    def test_a_filtered_run_gets_its_ids(self):
        code, out, _ = testr(self.project.path, "run", "test_pass_one")
        self.assertEqual(0, code)
        self.assertEqual((1, 0, 0), totals(out))
