"""pytest plugin for ``pytest_bench.py``: the CPU time a process spends
collecting (``-p bench_collect_cpu``), appended to ``$BENCH_COLLECT_LOG``
when the session ends.  Nested collection reports count once (the
outermost one): ``Session.perform_collect`` and any collection report
made outside it."""

import contextlib
import os
import time

import pytest

_state = {"depth": 0, "cpu": 0.0}
# A process forked after collecting (testrepo's forked pytest workers)
# spent none of the collection CPU it inherited the count of.
os.register_at_fork(after_in_child=lambda: _state.update(cpu=0.0))


@contextlib.contextmanager
def _timed():
    if _state["depth"] == 0:
        started = time.process_time()
    _state["depth"] += 1
    try:
        yield
    finally:
        _state["depth"] -= 1
        if _state["depth"] == 0:
            _state["cpu"] += time.process_time() - started


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    with _timed():
        return (yield)


def _timed_perform_collect(perform_collect):
    def timed(self, *args, **kwargs):
        with _timed():
            return perform_collect(self, *args, **kwargs)
    return timed


# Every collection (with its pytest_collection_modifyitems) runs in
# Session.perform_collect.  Timed there rather than by a hook of
# pytest_collection_modifyitems, which testrepo's workers would take for
# a plugin that must see the whole suite (pytest_split.why_not_split).
pytest.Session.perform_collect = _timed_perform_collect(pytest.Session.perform_collect)


def pytest_sessionfinish(session):
    path = os.environ.get("BENCH_COLLECT_LOG")
    if path and _state["cpu"]:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{_state['cpu']:.4f}\n")
