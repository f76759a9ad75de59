"""The repository contract, run against every backend.

A backend's test case mixes ``RepositoryContract`` into a
``testtools.TestCase`` and implements ``make_repository()``.
"""

import datetime
import io

import fixtures
import subunit.v2
import testtools
from testtools.testresult.doubles import StreamResult

from testrepo.errors import NoRunsError, UnknownRunError
from testrepo.repository import initialise_repository
from testrepo.repository.memory import MemoryRepository
from tests.databases import postgresql_url, sqlite_url

UTC = datetime.timezone.utc


def at(seconds):
    """A timestamp ``seconds`` after a fixed start."""
    return datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC) + datetime.timedelta(
        seconds=seconds)


def run_test(result, test_id, status, start=0.0, seconds=1.0, traceback=None, **event):
    """Emit one test: inprogress, an optional traceback, the final status."""
    result.status(test_id=test_id, test_status="inprogress", timestamp=at(start), **event)
    if traceback is not None:
        result.status(test_id=test_id, file_name="traceback", file_bytes=traceback,
                      mime_type="text/x-traceback; charset=utf8", eof=True,
                      timestamp=at(start + seconds), **event)
    result.status(test_id=test_id, test_status=status, timestamp=at(start + seconds), **event)


def normalised(events):
    """Recorded status events as comparable tuples (bytes, tag sets)."""
    return [(e.test_id, e.test_status, frozenset(e.test_tags or ()), e.runnable, e.file_name,
             None if e.file_bytes is None else bytes(e.file_bytes), e.eof, e.mime_type,
             e.route_code, e.timestamp)
            for e in events if e[0] == "status"]


def replayed(run):
    result = StreamResult()
    run.replay(result)
    return normalised(result._events)


def parsed(data):
    result = StreamResult()
    subunit.v2.ByteStreamToStreamResult(io.BytesIO(data), non_subunit_name="stdout").run(result)
    return normalised(result._events)


class RepositoryContract:
    """Behaviour every Repository backend must have."""

    def make_repository(self):
        raise NotImplementedError(self.make_repository)

    def setUp(self):
        super().setUp()
        self.repo = self.make_repository()

    def add_run(self, tests, partial=False, interrupted=False, metadata=None):
        """Store a run of (test_id, status[, seconds]) tuples; return its inserter.

        Failing tests get a traceback naming the test and the run.
        """
        inserter = self.repo.insert(partial=partial, metadata=metadata)
        inserter.startTestRun()
        start = 0.0
        for test_id, status, *seconds in tests:
            seconds = seconds[0] if seconds else 1.0
            traceback = None
            if status in ("fail", "uxsuccess"):
                traceback = ("%s failed in run %d" % (test_id, self.repo.count())).encode()
            run_test(inserter, test_id, status, start, seconds, traceback)
            start += seconds
        if interrupted:
            inserter.mark_interrupted()
        inserter.stopTestRun()
        return inserter

    # Empty repositories and run ids.

    def test_new_repository_is_empty(self):
        self.assertEqual(0, self.repo.count())
        self.assertEqual([], self.repo.run_ids())
        self.assertEqual([], self.repo.runs())
        self.assertEqual([], self.repo.failing_ids())
        self.assertEqual(b"", self.repo.failing_stream())
        self.assertEqual({}, self.repo.durations())

    def test_latest_id_without_runs_raises_no_runs(self):
        error = self.assertRaises(NoRunsError, self.repo.latest_id)
        self.assertIn(self.repo.path, str(error))
        self.assertIn("testr run", str(error))

    def test_run_ids_count_up_from_zero(self):
        ids = [self.add_run([("a", "success")]).run_id for _ in range(3)]
        self.assertEqual([0, 1, 2], ids)
        self.assertEqual([0, 1, 2], self.repo.run_ids())
        self.assertEqual(2, self.repo.latest_id())
        self.assertEqual(3, self.repo.count())

    def test_unknown_run_raises(self):
        self.add_run([("a", "success")])
        self.add_run([("a", "success")])
        error = self.assertRaises(UnknownRunError, self.repo.get_run, 7)
        self.assertIn("7", str(error))
        self.assertIn("0 to 1", str(error))

    def test_unknown_run_in_empty_repository_raises(self):
        error = self.assertRaises(UnknownRunError, self.repo.get_run, 0)
        self.assertIn("no runs", str(error))

    def test_run_is_invisible_until_committed(self):
        inserter = self.repo.insert()
        inserter.startTestRun()
        run_test(inserter, "a", "fail", traceback=b"boom")
        self.assertEqual(0, self.repo.count())
        self.assertEqual([], self.repo.failing_ids())
        self.assertIsNone(inserter.run_id)
        inserter.stopTestRun()
        self.assertEqual((1, ["a"]), (self.repo.count(), self.repo.failing_ids()))

    def test_inserter_stores_one_run_only(self):
        inserter = self.add_run([("a", "success")])
        self.assertRaises(RuntimeError, inserter.startTestRun)

    def test_empty_run_is_stored(self):
        inserter = self.repo.insert()
        inserter.startTestRun()
        inserter.stopTestRun()
        self.assertEqual(0, inserter.run_id)
        self.assertEqual(0, inserter.record.total)
        self.assertEqual([], replayed(self.repo.get_run(0)))

    # Streams.

    def emit_varied_events(self, result):
        result.status(test_id="pkg.a", test_status="exists", timestamp=at(0))
        run_test(result, "pkg.a", "success", route_code="0", test_tags={"worker-0"})
        run_test(result, "pkg.b", "fail", route_code="1/3", test_tags={"worker-1", "slow"},
                 traceback=b"Traceback: boom\n")
        result.status(file_name="stdout", file_bytes=b"not a test\n", eof=True,
                      mime_type="text/plain", route_code="1", timestamp=at(5))
        result.status(test_id="pkg.c", test_status="skip", runnable=False, timestamp=at(6))

    def test_stream_round_trips_route_codes_and_tags(self):
        sent = StreamResult()
        self.emit_varied_events(sent)
        inserter = self.repo.insert()
        inserter.startTestRun()
        self.emit_varied_events(inserter)
        inserter.stopTestRun()
        self.assertEqual(normalised(sent._events), replayed(self.repo.get_run(0)))

    def test_stream_is_the_events_encoded_as_v2(self):
        expected = io.BytesIO()
        self.emit_varied_events(subunit.v2.StreamResultToBytes(expected))
        inserter = self.repo.insert()
        inserter.startTestRun()
        self.emit_varied_events(inserter)
        inserter.stopTestRun()
        with self.repo.get_run(0).stream() as stream:
            self.assertEqual(expected.getvalue(), stream.read())

    def test_replay_does_not_start_or_stop_the_test_run(self):
        self.add_run([("a", "success")])
        result = StreamResult()
        self.repo.get_run(0).replay(result)
        self.assertEqual({"status"}, {event[0] for event in result._events})

    def test_naive_timestamps_are_taken_as_utc(self):
        inserter = self.repo.insert()
        inserter.startTestRun()
        inserter.status(test_id="a", test_status="success",
                        timestamp=datetime.datetime(2024, 5, 1, 12, 0, 0))
        inserter.stopTestRun()
        self.assertEqual([at(0)], [event[-1] for event in replayed(self.repo.get_run(0))])

    # Records.

    def test_counts_in_record(self):
        inserter = self.repo.insert()
        inserter.startTestRun()
        inserter.status(test_id="listed", test_status="exists")
        inserter.status(file_name="stdout", file_bytes=b"chatter", eof=True)
        for test_id, status in [("ok", "success"), ("xf", "xfail"), ("bad", "fail"),
                                ("uxs", "uxsuccess"), ("sk", "skip")]:
            run_test(inserter, test_id, status)
        inserter.stopTestRun()
        record = inserter.record
        self.assertEqual((2, 2, 1, 5), (record.passed, record.failed, record.skipped,
                                        record.total))
        self.assertEqual(record, self.repo.get_run(0).record)

    def test_record_times_span_first_to_last_event(self):
        record = self.add_run([("a", "success", 1.5), ("b", "fail", 2.0)]).record
        self.assertEqual(3.5, record.duration)
        self.assertEqual(at(0).isoformat(), record.started)

    def test_record_without_timestamps_has_no_start(self):
        inserter = self.repo.insert()
        inserter.startTestRun()
        inserter.status(test_id="a", test_status="success")
        inserter.stopTestRun()
        self.assertEqual((0.0, None), (inserter.record.duration, inserter.record.started))

    def test_runs_lists_every_record_in_order(self):
        records = [self.add_run([("a", status)]).record for status in ("fail", "success")]
        self.assertEqual(records, self.repo.runs())
        self.assertEqual([1, 0], [record.failed for record in self.repo.runs()])

    def test_metadata_round_trips(self):
        metadata = {"seed": "1234", "command": "python -m subunit.run", "ünïcode": "✓"}
        self.add_run([("a", "success")], metadata=metadata)
        self.assertEqual(metadata, dict(self.repo.get_run(0).record.metadata))
        self.assertEqual(metadata, dict(self.repo.runs()[0].metadata))

    def test_metadata_must_map_strings_to_strings(self):
        self.assertRaises(TypeError, self.repo.insert, metadata={"seed": 1234})

    def test_partial_and_interrupted_are_recorded(self):
        self.add_run([("a", "success")], partial=True)
        self.add_run([("a", "success")], interrupted=True)
        self.assertEqual([(True, False), (False, True)],
                         [(r.partial, r.interrupted) for r in self.repo.runs()])

    # The failing set.

    def test_full_run_replaces_failing_set(self):
        self.add_run([("a", "fail"), ("b", "fail"), ("c", "success")])
        self.add_run([("b", "success"), ("c", "uxsuccess")])
        self.assertEqual(["c"], self.repo.failing_ids())

    def test_partial_run_updates_failing_set_incrementally(self):
        self.add_run([("a", "fail"), ("b", "fail"), ("c", "fail"), ("d", "success")])
        self.add_run([("a", "success"), ("b", "skip"), ("d", "fail")], partial=True)
        self.assertEqual(["c", "d"], self.repo.failing_ids())

    def test_interrupted_run_keeps_failing_set_of_tests_not_run(self):
        self.add_run([("a", "fail"), ("b", "fail"), ("c", "success")])
        self.add_run([("a", "success"), ("c", "fail")], interrupted=True)
        self.assertEqual(["b", "c"], self.repo.failing_ids())

    def test_test_still_running_when_interrupted_keeps_its_entry(self):
        self.add_run([("a", "fail")])
        inserter = self.repo.insert()
        inserter.startTestRun()
        inserter.status(test_id="a", test_status="inprogress", timestamp=at(0))
        inserter.mark_interrupted()
        inserter.stopTestRun()
        self.assertEqual(["a"], self.repo.failing_ids())

    def test_retried_test_that_passes_leaves_failing_set(self):
        self.add_run([("a", "fail"), ("a", "success"), ("b", "success"), ("b", "fail")])
        self.assertEqual(["b"], self.repo.failing_ids())

    def test_failing_stream_has_traceback(self):
        self.add_run([("z", "fail"), ("ok", "success"), ("a", "uxsuccess")])
        events = parsed(self.repo.failing_stream())
        self.assertEqual(["a", "z"], [e[0] for e in events if e[1] in ("fail", "uxsuccess")])
        tracebacks = [e[5] for e in events if e[4] == "traceback"]
        self.assertEqual([b"a failed in run 0", b"z failed in run 0"], tracebacks)
        self.assertNotIn("ok", [e[0] for e in events])

    def test_failing_stream_keeps_latest_failure_of_each_test(self):
        self.add_run([("a", "fail"), ("b", "fail")])
        self.add_run([("b", "fail")], partial=True)
        tracebacks = [e[5] for e in parsed(self.repo.failing_stream()) if e[4] == "traceback"]
        self.assertEqual([b"a failed in run 0", b"b failed in run 1"], tracebacks)

    def test_run_failures_are_that_runs_failures(self):
        self.add_run([("z", "fail"), ("ok", "success")])
        self.add_run([("a", "fail"), ("z", "success")])
        first, second = (self.repo.get_run(run_id) for run_id in self.repo.run_ids())
        self.assertEqual([b"z failed in run 0"],
                         [e[5] for e in parsed(first.failures()) if e[4] == "traceback"])
        self.assertEqual(["a"], [e[0] for e in parsed(second.failures()) if e[1] == "fail"])

    # Durations.

    def test_run_durations_are_what_the_run_timed(self):
        self.add_run([("a", "success"), ("b", "success")])
        self.add_run([("b", "fail"), ("c", "skip")])
        first, second = self.repo.run_ids()
        self.assertEqual({"a"}, set(self.repo.run_durations(first)))
        self.assertEqual({"b"}, set(self.repo.run_durations(second)))

    def test_slowest_of_a_run(self):
        self.add_run([("a", "success", 1.0), ("b", "success", 3.0), ("c", "fail", 2.0),
                      ("d", "skip")])
        run_id = self.repo.latest_id()
        self.assertEqual([("b", 3.0), ("c", 2.0)], self.repo.slowest(run_id, 2))
        self.assertEqual(["b", "c", "a"], [t for t, _ in self.repo.slowest(run_id)])

    def test_durations_latest_wins(self):
        self.add_run([("a", "success", 2.0), ("b", "fail", 3.0)])
        self.add_run([("a", "success", 5.0)], partial=True)
        self.assertEqual({"a": 5.0, "b": 3.0}, self.repo.durations())

    def test_skip_does_not_update_durations(self):
        self.add_run([("a", "success", 2.0), ("x", "xfail", 1.0), ("u", "uxsuccess", 4.0)])
        self.add_run([("a", "skip", 0.5)])
        self.assertEqual({"a": 2.0, "x": 1.0, "u": 4.0}, self.repo.durations())

    def test_durations_need_both_timestamps(self):
        inserter = self.repo.insert()
        inserter.startTestRun()
        inserter.status(test_id="a", test_status="inprogress")
        inserter.status(test_id="a", test_status="success", timestamp=at(1))
        inserter.status(test_id="b", test_status="success", timestamp=at(1))
        inserter.stopTestRun()
        self.assertEqual({}, self.repo.durations())

    def test_durations_for_given_ids_leave_out_unknown_ids(self):
        self.add_run([("a", "success", 2.0), ("b", "success", 3.0)])
        self.assertEqual({"b": 3.0}, self.repo.durations(iter(["b", "nope", "b"])))
        self.assertEqual({}, self.repo.durations([]))

    def test_durations_for_many_ids(self):
        self.add_run([("t%04d" % i, "success", 0.25) for i in range(1200)])
        wanted = ["t%04d" % i for i in range(0, 1200, 2)] + ["missing"]
        durations = self.repo.durations(wanted)
        self.assertEqual(set(wanted[:-1]), set(durations))
        self.assertEqual({0.25}, set(durations.values()))

    # Removing runs: the index is left as if they had never been inserted.

    def test_removing_latest_run_makes_previous_run_latest(self):
        self.add_run([("a", "success")])
        self.add_run([("a", "fail")])
        self.repo.remove_run(1)
        self.assertEqual(([0], 0, 1), (self.repo.run_ids(), self.repo.latest_id(),
                                       self.repo.count()))
        self.assertEqual([0], [record.run_id for record in self.repo.runs()])
        self.assertRaises(UnknownRunError, self.repo.get_run, 1)

    def test_removed_run_ids_are_not_reused(self):
        self.add_run([("a", "success")])
        self.add_run([("a", "success")])
        self.repo.remove_runs([0, 1])
        self.assertEqual(2, self.add_run([("a", "success")]).run_id)

    def test_removing_every_run_empties_the_repository(self):
        self.add_run([("a", "fail", 2.0)])
        self.add_run([("b", "fail", 3.0)], partial=True)
        self.repo.remove_runs(self.repo.run_ids())
        self.assertEqual((0, [], {}), (self.repo.count(), self.repo.failing_ids(),
                                       self.repo.durations()))
        self.assertRaises(NoRunsError, self.repo.latest_id)

    def test_removing_unknown_run_raises_and_removes_nothing(self):
        self.add_run([("a", "fail")])
        error = self.assertRaises(UnknownRunError, self.repo.remove_runs, [0, 5])
        self.assertIn("5", str(error))
        self.assertEqual(([0], ["a"]), (self.repo.run_ids(), self.repo.failing_ids()))

    def test_removing_no_runs_changes_nothing(self):
        self.add_run([("a", "fail")])
        self.repo.remove_runs([])
        self.assertEqual(([0], ["a"]), (self.repo.run_ids(), self.repo.failing_ids()))

    def test_removing_latest_full_run_restores_previous_failing_set(self):
        self.add_run([("a", "fail"), ("b", "success")])
        self.add_run([("a", "success"), ("b", "fail")])
        self.repo.remove_run(1)
        self.assertEqual(["a"], self.repo.failing_ids())
        tracebacks = [e[5] for e in parsed(self.repo.failing_stream()) if e[4] == "traceback"]
        self.assertEqual([b"a failed in run 0"], tracebacks)

    def test_removing_run_older_than_a_full_run_keeps_failing_set(self):
        self.add_run([("a", "fail")])
        self.add_run([("b", "fail")], partial=True)
        self.add_run([("c", "fail")])
        self.repo.remove_runs([0, 1])
        self.assertEqual(["c"], self.repo.failing_ids())

    def test_removing_partial_run_replays_runs_since_last_full_run(self):
        self.add_run([("a", "fail"), ("b", "fail"), ("c", "fail")])
        self.add_run([("a", "success")], partial=True)
        self.add_run([("b", "success"), ("d", "fail")], partial=True)
        self.add_run([("c", "success")], interrupted=True)
        self.repo.remove_run(2)
        self.assertEqual(["b"], self.repo.failing_ids())
        tracebacks = [e[5] for e in parsed(self.repo.failing_stream()) if e[4] == "traceback"]
        self.assertEqual([b"b failed in run 0"], tracebacks)

    def test_removing_first_full_run_replays_remaining_partial_runs(self):
        self.add_run([("a", "fail")])
        self.add_run([("b", "fail")], partial=True)
        self.repo.remove_run(0)
        self.assertEqual(["b"], self.repo.failing_ids())

    def test_removing_run_restores_durations_of_older_runs(self):
        self.add_run([("a", "success", 2.0), ("b", "success", 3.0)])
        self.add_run([("b", "skip", 1.0)])
        self.add_run([("a", "success", 7.0), ("b", "success", 9.0)])
        self.repo.remove_run(2)
        self.assertEqual({"a": 2.0, "b": 3.0}, self.repo.durations())

    def test_removing_only_run_that_timed_a_test_forgets_its_duration(self):
        self.add_run([("a", "success", 2.0)])
        self.add_run([("b", "success", 3.0)], partial=True)
        self.repo.remove_run(1)
        self.assertEqual({"a": 2.0}, self.repo.durations())

    def test_removal_recomputed_from_stale_run_list_is_refused(self):
        self.add_run([("a", "fail")])
        plan = self.repo._removal_plan(frozenset([0]), self.repo.runs())
        self.add_run([("b", "fail")])
        self.assertFalse(self.repo._remove(plan))
        self.assertEqual(([0, 1], ["b"]), (self.repo.run_ids(), self.repo.failing_ids()))

    # Carrying state over from another repository (testr import).

    def test_replace_failing_sets_exactly_the_given_events(self):
        self.add_run([("a", "fail"), ("b", "success")])
        events = io.BytesIO()
        run_test(subunit.v2.StreamResultToBytes(events), "b", "fail", traceback=b"imported")
        self.repo.replace_failing({"b": events.getvalue()}, run_id=0)
        self.assertEqual(["b"], self.repo.failing_ids())
        self.assertEqual(parsed(events.getvalue()), parsed(self.repo.failing_stream()))

    def test_replace_failing_needs_a_stored_run(self):
        self.assertRaises(UnknownRunError, self.repo.replace_failing, {}, 0)

    def test_imported_durations_fill_gaps_only(self):
        self.add_run([("a", "success", 2.0)])
        self.assertEqual(1, self.repo.import_durations({"a": 9.0, "z": 4.0}))
        self.assertEqual({"a": 2.0, "z": 4.0}, self.repo.durations())

    def test_imported_durations_survive_removal_until_a_run_times_the_test(self):
        self.add_run([("a", "success", 2.0)])
        self.repo.import_durations({"z": 4.0})
        self.repo.remove_run(0)
        self.assertEqual({"z": 4.0}, self.repo.durations())
        self.add_run([("z", "success", 1.0)])
        self.assertEqual({"z": 1.0}, self.repo.durations())

    # Appending to a stored run (run --combine, load --id).

    def append_run(self, run_id, tests):
        inserter = self.repo.append(run_id)
        inserter.startTestRun()
        for index, (test_id, status) in enumerate(tests):
            traceback = b"%s failed late" % test_id.encode() if status == "fail" else None
            run_test(inserter, test_id, status, 10.0 + index, 1.0, traceback)
        inserter.stopTestRun()
        return inserter

    def test_append_keeps_the_run_id_and_counts_both_parts(self):
        self.add_run([("a", "success"), ("b", "fail")])
        inserter = self.append_run(0, [("c", "success"), ("d", "skip")])
        self.assertEqual(0, inserter.run_id)
        self.assertEqual([0], self.repo.run_ids())
        record = self.repo.get_run(0).record
        self.assertEqual((2, 1, 1), (record.passed, record.failed, record.skipped))
        self.assertEqual(["a", "b", "c", "d"],
                         [e[0] for e in replayed(self.repo.get_run(0)) if e[1] == "inprogress"])

    def test_append_updates_failing_set_with_the_new_events_only(self):
        self.add_run([("a", "fail"), ("b", "fail")])
        self.add_run([("a", "success")], partial=True)
        self.append_run(0, [("b", "success"), ("c", "fail")])
        # a passed in run 1: appending to run 0 must not bring it back.
        self.assertEqual(["c"], self.repo.failing_ids())
        failures = [e[0] for e in parsed(self.repo.get_run(0).failures()) if e[1] == "fail"]
        self.assertEqual(["a", "c"], failures)

    def test_append_records_durations_of_the_new_events(self):
        self.add_run([("a", "success", 2.0)])
        self.append_run(0, [("b", "success")])
        self.assertEqual({"a": 2.0, "b": 1.0}, self.repo.durations())
        self.assertEqual({"a", "b"}, set(self.repo.run_durations(0)))

    def test_append_to_unknown_run_raises(self):
        self.add_run([("a", "success")])
        self.assertRaises(UnknownRunError, self.repo.append, 5)

    # Per-run results for reports over many runs.

    def test_failed_tests_lists_each_runs_final_failures(self):
        self.add_run([("a", "fail"), ("b", "success"), ("c", "uxsuccess"), ("d", "skip")])
        self.add_run([("a", "success")], partial=True)
        self.add_run([("b", "fail")])
        self.assertEqual({0: ["a", "c"], 1: [], 2: ["b"]}, self.repo.failed_tests([0, 1, 2]))

    def test_failed_tests_leaves_out_other_and_unknown_runs(self):
        for test_id in ("a", "b", "c"):
            self.add_run([(test_id, "fail")])
        self.assertEqual({0: ["a"], 2: ["c"]}, self.repo.failed_tests([0, 2, 9]))
        self.assertEqual({}, self.repo.failed_tests([]))

    def test_failed_tests_counts_a_retry_that_passed_as_passed(self):
        inserter = self.repo.insert()
        inserter.startTestRun()
        run_test(inserter, "a", "fail", traceback=b"boom")
        run_test(inserter, "a", "success", start=2.0)
        run_test(inserter, "b", "success", start=4.0)
        run_test(inserter, "b", "fail", start=6.0, traceback=b"boom")
        inserter.stopTestRun()
        self.assertEqual({0: ["b"]}, self.repo.failed_tests([0]))

    def test_test_results_give_final_status_and_seconds(self):
        self.add_run([("a", "success", 2.5), ("b", "fail", 0.5), ("c", "skip", 1.0),
                      ("d", "xfail", 1.5)])
        self.assertEqual({"a": ("success", 2.5), "b": ("fail", 0.5), "c": ("skip", None),
                          "d": ("xfail", 1.5)}, self.repo.test_results(0))

    def test_test_results_of_a_retried_test_are_its_latest_attempt(self):
        inserter = self.repo.insert()
        inserter.startTestRun()
        run_test(inserter, "a", "fail", seconds=3.0, traceback=b"boom")
        run_test(inserter, "a", "success", start=3.0, seconds=1.0)
        inserter.stopTestRun()
        self.assertEqual({"a": ("success", 1.0)}, self.repo.test_results(0))

    def test_test_results_of_unknown_run_raises(self):
        self.assertRaises(UnknownRunError, self.repo.test_results, 0)

    def test_hidden_tags_are_counted_only_when_they_fail(self):
        inserter = self.repo.insert()
        inserter.hide_tags({"zope:layer"})
        inserter.startTestRun()
        layer = {"test_tags": {"zope:layer"}}
        run_test(inserter, "layer-setup", "success", **layer)
        run_test(inserter, "layer-broken", "fail", traceback=b"x", **layer)
        run_test(inserter, "real", "success", test_tags={"other"})
        inserter.stopTestRun()
        record = self.repo.get_run(0).record
        self.assertEqual((1, 1, 0), (record.passed, record.failed, record.skipped))
        self.assertEqual(["layer-broken"], self.repo.failing_ids())
        self.assertIn("layer-setup", self.repo.durations())


class TestMemoryRepository(RepositoryContract, testtools.TestCase):
    def make_repository(self):
        return MemoryRepository()


class TestFileRepository(RepositoryContract, testtools.TestCase):
    def make_repository(self):
        temp_dir = self.useFixture(fixtures.TempDir()).path
        return initialise_repository("file:%s/.testrepository" % temp_dir)


class TestSQLiteRepository(RepositoryContract, testtools.TestCase):
    def make_repository(self):
        repo = initialise_repository(sqlite_url(self))
        self.addCleanup(repo.close)
        return repo


class TestPostgreSQLRepository(RepositoryContract, testtools.TestCase):
    def make_repository(self):
        repo = initialise_repository(postgresql_url(self))
        self.addCleanup(repo.close)
        return repo
