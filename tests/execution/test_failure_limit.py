"""The failure count pytest's arguments ask a run to stop at."""

import testtools

from testrepo.execution.failure_limit import maxfail_of


class TestMaxfailOf(testtools.TestCase):

    def test_forms(self):
        for args, expected in [
                ([], None), (["-k", "x"], None), (["-x"], 1), (["--exitfirst"], 1),
                (["--maxfail", "3"], 3), (["--maxfail=4"], 4), (["--maxfail=0"], None),
                (["-x", "--maxfail=5"], 5), (["--maxfail=5", "-x"], 1),
                (["--maxfail"], None), (["--maxfail=many"], None)]:
            self.assertEqual(expected, maxfail_of(args), args)
