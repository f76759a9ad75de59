"""Naming one test for --no-discover and --pdb."""

import testtools

from testrepo.execution.direct import dotted_name


class TestDottedName(testtools.TestCase):

    def test_path_forms_become_dotted_ids(self):
        self.assertEqual("tests.test_x.TestX.test_a",
                         dotted_name("tests/test_x.py::TestX::test_a"))
        self.assertEqual("tests.unit.test_x", dotted_name("./tests/unit/test_x.py"))
        self.assertEqual("tests.test_x.TestX", dotted_name("tests/test_x.py::TestX"))

    def test_dotted_ids_are_unchanged(self):
        self.assertEqual("tests.test_x.TestX.test_a", dotted_name("tests.test_x.TestX.test_a"))
        self.assertEqual("tests.test_x.TestX.test_a",
                         dotted_name("tests.test_x::TestX::test_a"))
