"""Random and mutated bytes fed to `load`: a clear UsageError or a stored
run, never a traceback, never a half-written run."""

import io
import os

import fixtures
import testtools
from hypothesis import HealthCheck, given, settings, strategies as st

from testrepo import api, errors, subunit_v2
from testrepo.options import OutputOptions, Project

GOOD = b"".join([
    subunit_v2.encode("t.a", "inprogress", timestamp=1.0),
    subunit_v2.encode("t.a", "success", timestamp=1.5),
    subunit_v2.encode("t.b", "inprogress", timestamp=1.0),
    subunit_v2.encode("t.b", None, file_name="traceback", file_bytes=b"boom", eof=True),
    subunit_v2.encode("t.b", "fail", timestamp=2.0),
])


class NamedBytes(io.BytesIO):
    name = "fuzz.subunit"


class TestLoadNeverCrashes(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.directory = self.useFixture(fixtures.TempDir()).path
        self.project = Project(directory=self.directory)
        api.init(self.project)

    def load(self, data, partial=False):
        repo = api.open_repository(self.project)
        before = repo.count()
        try:
            outcome = api.load(self.project, [NamedBytes(data)], api.LoadOptions(partial=partial),
                               OutputOptions(quiet=True), io.StringIO())
        except errors.UsageError as err:
            self.assertEqual(1, len(str(err).splitlines()))
            self.assertEqual(before, repo.count())
        else:
            self.assertEqual(before + 1, repo.count())
            self.assertIn(outcome.exit_code, (0, 1))
        tmp = os.path.join(self.directory, ".testrepository", "tmp")
        self.assertEqual([], os.listdir(tmp))

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.binary(max_size=400), st.booleans())
    def test_random_bytes(self, data, partial):
        self.load(data, partial)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.integers(0, len(GOOD) - 1), st.integers(0, 255), st.integers(0, len(GOOD)),
           st.booleans())
    def test_mutated_stream(self, position, value, cut, partial):
        data = bytearray(GOOD)
        data[position] = value
        self.load(bytes(data[:cut or len(data)]), partial)
