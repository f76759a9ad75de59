"""pytest plugin for ``pytest_bench.py``: the CPU time a process spends
collecting (``-p bench_collect_cpu``), appended to ``$BENCH_COLLECT_LOG``
when the session ends.  Nested collection reports count once (the
outermost one), plus ``pytest_collection_modifyitems``."""

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


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(session, config, items):
    with _timed():
        return (yield)


def pytest_sessionfinish(session):
    path = os.environ.get("BENCH_COLLECT_LOG")
    if path and _state["cpu"]:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{_state['cpu']:.4f}\n")
