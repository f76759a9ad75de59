"""pytest plugin for ``real_pytest_suites.py`` (``-p corpus_outcomes``,
found on ``PYTHONPATH``): writes every test's outcome to the JSON file
named by ``$CORPUS_OUTCOMES`` when the session ends, in the record shape
``real_suites.outcomes_of`` reads (``id``, subunit ``status``, ``dur``,
``msg``).  Under pytest-xdist only the controller writes; it sees every
worker's reports."""

import json
import os

# pytest's outcome of one phase, in subunit's words; a test's outcome is
# its worst phase's.  Non-strict xpass is "uxsuccess" (strict xpass is
# reported by pytest as failed).
_WORST_FIRST = ["fail", "uxsuccess", "xfail", "skip", "success"]


def _status(report):
    if report.failed:
        return "fail"
    if report.skipped:
        return "xfail" if hasattr(report, "wasxfail") else "skip"
    if hasattr(report, "wasxfail"):
        return "uxsuccess"
    return "success"


class _Recorder:
    def __init__(self, path):
        self.path = path
        self.tests = {}

    def pytest_runtest_logreport(self, report):
        record = self.tests.setdefault(report.nodeid, {
            "id": report.nodeid, "status": "success", "dur": 0.0, "msg": ""})
        record["dur"] += report.duration
        status = _status(report)
        if _WORST_FIRST.index(status) < _WORST_FIRST.index(record["status"]):
            record["status"] = status
            lines = [line for line in report.longreprtext.splitlines() if line.strip()]
            record["msg"] = lines[-1].strip()[:300] if lines else ""

    def pytest_sessionfinish(self, session):
        with open(self.path, "w") as f:
            json.dump(list(self.tests.values()), f)


def pytest_configure(config):
    path = os.environ.get("CORPUS_OUTCOMES")
    if path and not hasattr(config, "workerinput"):
        config.pluginmanager.register(_Recorder(path), "corpus-outcomes-recorder")
