"""The isolation analysis, data in, data out: a stored stream's order and
the bisection with a fake probe (a rule saying which runs fail)."""

import testtools

from testrepo import isolation, subunit_v2


def stream(*events):
    """(test id, status, worker) triples as v2 bytes."""
    return b"".join(subunit_v2.encode(test_id, status, tags=[f"worker-{worker}"],
                                      route_code=str(worker))
                    for test_id, status, worker in events)


def run(*tests):
    """(test id, status, worker): an inprogress and a result event each."""
    events = []
    for test_id, status, worker in tests:
        events += [(test_id, "inprogress", worker), (test_id, status, worker)]
    return stream(*events)


class FakeProbe:
    """``victim`` fails when all of ``causes`` ran before it."""

    def __init__(self, victim, causes=(), alone=False):
        self.victim, self.causes, self.alone = victim, set(causes), alone
        self.calls = []

    def __call__(self, test_ids):
        self.calls.append(list(test_ids))
        if test_ids[-1] != self.victim:
            return False
        return self.alone or bool(self.causes) and self.causes <= set(test_ids[:-1])


class TestRunOrder(testtools.TestCase):

    def test_tests_are_ordered_per_worker_and_failures_found(self):
        order = isolation.read_run_order(run(
            ("a", "success", 0), ("x", "success", 1), ("b", "fail", 0), ("c", "success", 0)))
        self.assertEqual({"0": ["a", "b", "c"], "1": ["x"]}, order.workers)
        self.assertEqual(["b"], order.failed)
        self.assertEqual(["a"], isolation.earlier_tests(order, "b"))
        self.assertEqual([], isolation.earlier_tests(order, "x"))

    def test_a_test_run_again_counts_where_it_last_started(self):
        order = isolation.read_run_order(run(
            ("a", "success", 0), ("v", "fail", 0), ("b", "success", 1), ("v", "fail", 1)))
        self.assertEqual(["b"], isolation.earlier_tests(order, "v"))
        self.assertEqual(["v"], order.failed)

    def test_a_test_that_later_passed_is_not_failing(self):
        order = isolation.read_run_order(run(("v", "fail", 0), ("v", "success", 1)))
        self.assertEqual([], order.failed)


class TestAnalyze(testtools.TestCase):

    def analyze(self, probe, earlier):
        lines = []
        return isolation.analyze("v", earlier, "0", probe, lines.append), lines

    def test_broken_alone_needs_one_probe(self):
        probe = FakeProbe("v", alone=True)
        finding, _ = self.analyze(probe, ["a", "b"])
        self.assertEqual(isolation.ALONE, finding.kind)
        self.assertEqual([["v"]], probe.calls)

    def test_bisection_finds_the_one_test(self):
        earlier = [f"t{n}" for n in range(10)]
        probe = FakeProbe("v", causes=["t7"])
        finding, lines = self.analyze(probe, earlier)
        self.assertEqual((isolation.CONFLICT, ("t7",)), (finding.kind, finding.causes))
        self.assertEqual("v fails when run after t7", finding.describe())
        self.assertEqual(len(probe.calls), len(lines))
        self.assertLessEqual(len(probe.calls), 2 + 2 * 4)
        for call in probe.calls:  # every probe keeps the run's order
            self.assertEqual(sorted(call[:-1], key=earlier.index), call[:-1])

    def test_two_tests_needed_together_are_reported_as_several(self):
        probe = FakeProbe("v", causes=["t0", "t9"])
        finding, _ = self.analyze(probe, [f"t{n}" for n in range(10)])
        self.assertEqual(isolation.SEVERAL, finding.kind)
        self.assertEqual(10, len(finding.causes))

    def test_a_failure_that_does_not_come_back_is_not_reproduced(self):
        finding, _ = self.analyze(FakeProbe("v"), ["a", "b"])
        self.assertEqual(isolation.NOT_REPRODUCED, finding.kind)
        finding, _ = self.analyze(FakeProbe("v"), [])
        self.assertEqual((isolation.NOT_REPRODUCED, 0), (finding.kind, finding.earlier))
