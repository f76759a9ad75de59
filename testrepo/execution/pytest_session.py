"""The pytest plugin that makes one pytest session a built-in worker.

pytest keeps its own session, fixtures, conftest files, plugins and
reports; this plugin replaces only two steps of it:

* collection: the listing worker (``--send-ids``) walks the suite's
  files, forks the other workers (``--fork-slots``,
  :mod:`testrepo.execution.pytest_fork`) and each process collects its
  share of the files (:mod:`testrepo.execution.pytest_split`); where the
  suite must be collected whole, the listing worker collects it, as
  pytest would, and forks the others after, with every item collected
  (``--list`` collects it whole too).  A worker started as a process of its own
  (no fork, or a replacement) collects nothing at the start (pytest's
  collection runs over no paths) and later collects only the files named
  by the node ids it is handed (``path::...``), each file once, so a run's
  collection work stays close to one ``pytest --collect-only`` whatever
  the number of workers;
* the test loop (``pytest_runtestloop``): batches of node ids are read
  from the parent's pipe and each item runs through pytest's own
  ``pytest_runtest_protocol``; its reports become one frame
  (:mod:`testrepo.execution.pytest_outcome`, :class:`FrameResult`).

Fixture scopes: pytest tears a class, module or session fixture down when
the *next* item does not need it.  Within a batch the next item is known;
at a batch's end it is the first item of the next batch if that is
already in the pipe (the pool sends one ahead while the queue is long).
If not, the item's collectors are kept set up (:class:`_KeepCollectors`)
and whatever the next item does not share is torn down just before its
setup; an error there is reported on that item.  After the last batch
everything is torn down; an error then is written to the worker's output
and makes it exit 1 (a ``process-returncode`` failure).
"""

from __future__ import annotations

import json
import os
import select
import sys
from typing import Dict, List, Optional

import pytest

from testrepo.execution import protocol, pytest_fork, pytest_split
from testrepo.execution import worker as unittest_worker
from testrepo.execution.frame_result import FrameResult, OutputCapture
from testrepo.execution.pytest_outcome import outcome_of

EXIT_LISTING_FAILED = 3
EXIT_TEARDOWN_FAILED = 1
_EOF = object()


class BatchLines:
    """Lines from the batches pipe, read without a buffered file: the
    worker asks whether the next batch is there without waiting for it."""

    def __init__(self, fd: int):
        self._fd = fd
        self._buffer = b""
        self._ended = False

    def next_line(self, wait: bool = True):
        """The next line; None if ``wait`` is false and none has arrived;
        ``_EOF`` once the parent closed the pipe."""
        while b"\n" not in self._buffer:
            if self._ended:
                return _EOF
            if not wait and not select.select([self._fd], [], [], 0)[0]:
                return None
            data = os.read(self._fd, 1 << 16)
            if not data:
                self._ended = True
            self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line


class Channel:
    """A serving worker's ends of its pipes (``--control R,W,E``): its
    batches, its frames (``out``) and the FrameResult that writes them, its
    OutputCapture and its own output (``report``)."""

    def __init__(self, control: str, worker: int, timeout: Optional[float]):
        batches, self.out, report_fd = unittest_worker.open_control(control)
        self._batches_file = batches  # owns the descriptor BatchLines reads
        self.batches = BatchLines(batches.fileno())
        self.capture = OutputCapture(report_fd)
        self.report = self.capture.report
        self.result = FrameResult(self.out, worker, timeout, self.capture)


class _KeepCollectors:
    """Stands for a next item not known yet: pytest tears down the item's
    function fixtures and keeps its class, module and session set up."""

    def __init__(self, item):
        self._chain = item.listchain()[:-1]

    def listchain(self):
        return self._chain


class WorkerPlugin:
    """Listing (the ids go to ``listing``, the parent's ``--list``;
    ``report`` is the worker's own output, for collection errors), or
    serving the batches of ``channel``; ``send_ids``: this worker lists the
    suite for the pool and forks the workers of ``slots``, once it has
    walked the suite (each then collects its share:
    :mod:`testrepo.execution.pytest_split`) or once it has collected it
    whole (see :mod:`testrepo.execution.pytest_fork`)."""

    def __init__(self, channel: Optional[Channel] = None, send_ids: bool = False,
                 listing=None, report=None, slots=(), timeout: Optional[float] = None):
        self.channel = channel
        self._listing = listing
        self._report = channel.report if channel is not None else report
        self._send_ids = send_ids
        self._lazy = listing is None and not send_ids
        self._slots = list(slots)
        self._timeout = timeout
        self._pid: Optional[int] = None  # said when ready: a forked worker's
        self._items: Dict[str, object] = {}
        self._files = set()
        self._directories: Dict[object, object] = {}
        # What each directory node collected (reused by every later
        # collection: the lazy workers', a share's after the walk), and
        # the paths of the files being collected now.
        self._directory_reports: Dict[object, object] = {}
        self._requested = frozenset()
        # The split collection (pytest_split): the files the walk found
        # (path -> node id) while it walks; the paths this process imports
        # while it collects its share; in a forked worker, where its ids go;
        # in worker 0, the forked workers' (index, pipe, share) and the
        # walk's order, then which worker holds which files.
        self._walk: Optional[Dict[object, str]] = None
        self._share: Optional[frozenset] = None
        self._share_out: Optional[int] = None
        self._peers: Optional[List[tuple]] = None
        self._walk_order: List[str] = []
        self._holdings: Optional[Dict[int, List[str]]] = None
        self._reports: List[object] = []
        self._collect_errors: List[str] = []
        self._stale_stack = False
        self.served = False
        self.exit_code = 0

    # --- pytest hooks ------------------------------------------------------

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_cmdline_main(self, config):
        # pytest-xdist's -n from the project's addopts would start workers
        # of its own in each of ours; testr's workers replace them.
        if getattr(config.option, "numprocesses", None):
            config.option.numprocesses = 0
        return (yield)

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config):
        # pytest's terminal output would mix with the tests' captured output.
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            from _pytest._io import TerminalWriter

            reporter._tw = TerminalWriter(open(os.devnull, "w", encoding="utf-8"))
            _silence_per_test_hooks(config.pluginmanager, reporter)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection(self, session):
        if self._slots:
            self._split_collection(session)
        if self._share is not None:
            try:
                return (yield)
            finally:
                self._share = None  # files handed later are collected whole
        if not self._lazy:
            return (yield)
        # Collect over no paths: the files come with the batches.
        config = session.config
        saved, config.args = config.args, []
        try:
            return (yield)
        finally:
            config.args = saved

    @pytest.hookimpl(tryfirst=True)
    def pytest_collect_directory(self, path):
        # One node per directory for the whole session, however many times
        # the worker collects: pytest (9.1 on) attaches a conftest's
        # fixtures to the directory node that first collected it.
        return self._directories.get(path)

    @pytest.hookimpl(wrapper=True, specname="pytest_collect_directory")
    def pytest_collect_directory_recorded(self, path):  # named for pytest: pytest_*
        node = yield
        if node is not None:
            self._directories.setdefault(path, node)
        return node

    @pytest.hookimpl(tryfirst=True)
    def pytest_make_collect_report(self, collector):
        if isinstance(collector, pytest.File) and (
                self._walk is not None
                or (self._share is not None and collector.path not in self._share)):
            # Walking, or another process's share: the file is not imported.
            if self._walk is not None:
                self._walk.setdefault(collector.path, collector.nodeid)
            return pytest.CollectReport(collector.nodeid, "passed", None, [])
        # pytest collects every directory on the way to a file again at
        # each collection, building a node for each of its files: a lazy
        # worker that collects file by file would pay that again for every
        # file.  The directory's first report serves, unless a file being
        # collected now is not in it (a file outside python_files named
        # by a node id).
        report = self._directory_reports.get(collector)
        if report is not None:
            found = {child.path for child in report.result}
            if all(path in found for path in self._requested if path.parent == collector.path):
                return report
        return None

    @pytest.hookimpl(wrapper=True, specname="pytest_make_collect_report")
    def pytest_make_collect_report_recorded(self, collector):  # named for pytest: pytest_*
        report = yield
        if isinstance(collector, pytest.Directory) and report.passed:
            self._directory_reports[collector] = report
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_finish(self, session):
        # pytest (9.1 on) forgets, when a collection ends, the conftest files
        # whose directory it did not collect: this worker collects those
        # directories later, and their fixtures must still be found then.
        fixtures = getattr(session, "_fixturemanager", None)
        pending = getattr(fixtures, "_pending_conftests", None)
        kept = dict(pending) if pending is not None else {}
        try:
            return (yield)
        finally:
            if pending is not None:
                pending.update(kept)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session):
        _drop_idle_hypothesis_summary(session.config.pluginmanager)

    def pytest_collectreport(self, report):
        if report.failed:
            self._collect_errors.append(
                f"ERROR collecting {report.nodeid or '.'}:\n{report.longreprtext}")

    def pytest_runtest_logreport(self, report):
        self._reports.append(report)

    def pytest_internalerror(self, excrepr):
        if self._report is not None:
            self._report.write(f"pytest INTERNALERROR:\n{excrepr}\n")
            self._report.flush()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        # pytest's faulthandler plugin has just armed faulthandler's one
        # timer for faulthandler_timeout (no exit): --timeout's comes back.
        self.channel.result.rearm_timeout()
        if self._stale_stack:
            # The previous batch kept collectors this item may not share.
            self._stale_stack = False
            item.session._setupstate.teardown_exact(item)

    @pytest.hookimpl(trylast=True)
    def pytest_exception_interact(self):
        # pytest's faulthandler plugin cancels the timer when a test phase
        # fails: the teardown that follows must still time out.
        if self.channel is not None:
            self.channel.result.rearm_timeout()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        self.served = True
        listing = None
        if not self._lazy:
            self._keep(session.items)
            if self._share_out is not None:
                out, self._share_out = self._share_out, None
                pytest_split.send_share(out, list(self._items), self._collect_errors)
            elif self._peers is not None:
                listing = self._gather(session)
            if (self._collect_errors and (self._send_ids or self._listing is not None)
                    and not session.config.option.continue_on_collection_errors):
                self._report.write("\n".join(self._collect_errors) + "\n")
                self._report.flush()
                self.exit_code = EXIT_LISTING_FAILED
                return True
        if self._listing is not None:
            self._listing.write("".join(test_id + "\n" for test_id in self._items).encode())
            self._listing.flush()
            return True
        if self._slots:
            self._fork(session.config)
        protocol.write_ready(self.channel.out, listing or list(self._items), self._send_ids,
                             self._pid, self._holdings)
        self._serve(session)
        return True

    def _fork(self, config) -> None:
        """Fork the slots' workers (:mod:`testrepo.execution.pytest_fork`);
        in each, this plugin goes on as that worker, on its slot's pipes."""
        slots, self._slots = self._slots, []
        slot, _ = pytest_fork.fork_slots(slots, config)
        if slot is not None:
            self._become(slot)

    def _become(self, slot) -> None:
        """Go on as the forked worker of ``slot``."""
        index, fds = slot
        self.channel.report.close()  # worker 0's; its pipes closed at the fork
        self.channel = Channel(",".join(map(str, fds[:3])), index, self._timeout)
        self._report = self.channel.report
        self._send_ids = False
        self._pid = os.getpid()

    # --- the split collection (pytest_split) --------------------------------

    def _split_collection(self, session) -> None:
        """Walk the suite; unless it must be collected whole, fork the
        slots' workers now and give each process its share of the files."""
        if pytest_split.why_not_split(session.config, self) is not None:
            return  # collected whole; the slots are forked after that (_fork)
        walk = self._walk_files(session)
        if pytest_split.why_not_split(session.config, self, list(walk.values())) is not None:
            return
        participants = [0] + [index for index, _ in self._slots]
        parts = pytest_split.shares(list(walk.values()), pytest_split.sizes_of(walk),
                                    len(participants))
        paths = {nodeid: path for path, nodeid in walk.items()}
        pipes = [os.pipe() for _ in self._slots]
        slots = [(index, fds + (write,)) for (index, fds), (_, write) in zip(self._slots, pipes)]
        self._slots = []
        slot, forked = pytest_fork.fork_slots(slots, session.config)
        if slot is not None:
            for read, _ in pipes:
                os.close(read)
            self._become(slot)
            self._share_out = slot[1][5]
            mine = parts[participants.index(slot[0])]
        else:
            self._walk_order = list(walk.values())
            self._peers, mine = [], list(parts[0])
            for (index, _), (read, _), part in zip(slots, pipes, parts[1:]):
                if index in forked:
                    self._peers.append((index, read, part))
                else:  # not forked: started afresh, it collects what it runs
                    os.close(read)
                    mine += part
            self._holdings = {0: mine}
        self._share = frozenset(paths[nodeid] for nodeid in mine)

    def _walk_files(self, session) -> Dict[object, str]:
        """The suite's test files (path -> node id) in collection order,
        none imported; empty if the walk reported an error (the whole
        collection reports it again)."""
        self._walk = {}
        try:
            session.perform_collect()
        except pytest.UsageError:
            return {}  # the whole collection says what is wrong
        finally:
            walk, self._walk = self._walk, None
        errors, self._collect_errors = self._collect_errors, []
        return {} if errors else walk

    def _gather(self, session) -> List[str]:
        """Worker 0: the forked workers' ids merged with its own into the
        listing.  A share whose worker ended before sending it is
        collected here."""
        theirs = []
        peers, self._peers = self._peers or [], None
        for index, read, files in peers:
            share = pytest_split.read_share(read)
            if share is None:
                self._collect(session, files)
                self._holdings[0] += files
                continue
            theirs.append(share.get("ids", []))
            self._collect_errors += share.get("errors", [])
            self._holdings[index] = files
        return pytest_split.merge(self._walk_order, [list(self._items), *theirs])

    # --- the batches -------------------------------------------------------

    def _serve(self, session) -> None:
        batch = self._read_batch(session, wait=True)
        while batch is not None:
            following = None
            for position, (test_id, item) in enumerate(batch):
                if item is None:
                    self._missing(test_id)
                    continue
                if session.shouldfail or session.shouldstop:
                    # Its own -x/--maxfail: the run stops (failure_limit).
                    protocol.write_handed_done(self.channel.out, test_id)
                    continue
                nextitem = _next_item(batch, position)
                if nextitem is None:
                    following = self._read_batch(session, wait=False)
                    if isinstance(following, list):
                        nextitem = _next_item(following, -1)
                    if nextitem is None and following is not _EOF:
                        nextitem = _KeepCollectors(item)
                self._run(item, nextitem)
            protocol.write_batch_done(self.channel.out)
            if following is None:
                following = self._read_batch(session, wait=True)
            batch = None if following is _EOF else following
        self._finish(session)

    def _read_batch(self, session, wait: bool):
        """The next batch as (node id, item or None); None if ``wait`` is
        false and none has arrived; ``_EOF`` (``wait=False``) or None
        (``wait=True``) after the last."""
        line = self.channel.batches.next_line(wait)
        if line is _EOF:
            return _EOF if not wait else None
        if line is None:
            return None
        test_ids = json.loads(line)
        files = [path for path in dict.fromkeys(test_id.split("::")[0] for test_id in test_ids)
                 if path not in self._files]
        if files:
            self._collect(session, files)
        return [(test_id, self._items.pop(test_id, None)) for test_id in test_ids]

    def _collect(self, session, files: List[str]) -> None:
        """Collect ``files`` (node id paths, relative to the rootdir)."""
        self._files.update(files)
        root = session.config.rootpath
        paths = [root / path for path in files]
        self._requested = frozenset(paths)
        try:
            self._keep(session.perform_collect([str(path) for path in paths]))
        except pytest.UsageError as err:
            if len(files) == 1:
                self._collect_errors.append(f"{files[0]}: {err}")
                return
            for path in files:  # one of them is gone: collect the others
                self._collect(session, [path])

    def _keep(self, items) -> None:
        for item in items:
            self._items.setdefault(item.nodeid, item)
            self._files.add(item.nodeid.split("::")[0])

    def _run(self, item, nextitem) -> None:
        self._reports = []
        self.channel.result.begin_test(item.nodeid)
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
        if isinstance(nextitem, _KeepCollectors):
            self._stale_stack = True
        status, details, output = outcome_of(self._reports)
        self._reports = []
        self.channel.result.finish_test(item.nodeid, status, details, output)

    def _missing(self, test_id: str) -> None:
        why = "\n".join(self._collect_errors) or "no such node id (renamed or removed?)"
        self.channel.result.finish_test(test_id, "fail", [(
            "traceback", f"{test_id}: not collected by this worker:\n{why}")])

    def _finish(self, session) -> None:
        """Tear down what the last item kept (see the module docstring)."""
        try:
            session._setupstate.teardown_exact(None)
        except BaseException as err:  # noqa: BLE001 - reported, then exit 1
            import traceback

            self._report.write("testr: fixture teardown after the last test failed:\n"
                               + "".join(traceback.format_exception(err)))
            self._report.flush()
            self.exit_code = EXIT_TEARDOWN_FAILED


def _drop_idle_hypothesis_summary(pluginmanager) -> None:
    """hypothesis's pytest plugin takes care not to import hypothesis
    unless a test did, except in its terminal summary, which imports it
    whole (half a second of CPU with hypothesis 6.170) in every session:
    in every worker of every run of a project whose environment merely
    has hypothesis installed.  If no test of this worker imported it, that
    summary has nothing to say (no statistics, no failing example to save
    as a patch), and a worker's terminal output is discarded anyway: the
    plugin is unregistered before the summary."""
    if "hypothesis" in sys.modules:
        return
    for _, plugin in pluginmanager.list_name_plugin():
        if getattr(plugin, "__name__", None) == "_hypothesis_pytestplugin":
            pluginmanager.unregister(plugin)


def _silence_per_test_hooks(pluginmanager, reporter) -> None:
    """The terminal reporter stays registered (plugins write through it
    and read its stats), but no longer hears of each test: its progress
    letters go nowhere, and hearing them cost a tenth of a trivial test's
    run (a hook call, its stats and a flush per test).  pluggy takes a
    plugin's hooks from its attributes when it is registered."""
    name = pluginmanager.get_name(reporter)
    pluginmanager.unregister(reporter)
    for hook in ("pytest_runtest_logstart", "pytest_runtest_logreport"):
        setattr(reporter, hook, None)
    pluginmanager.register(reporter, name)


def _next_item(batch, position: int):
    for _, item in batch[position + 1:]:
        if item is not None:
            return item
    return None


class SharedSeed:
    """pytest-randomly draws a seed per pytest session, so each worker
    would draw its own and a test's random values would depend on the
    worker that ran it.  Under pytest-xdist the controller hands its seed
    to every worker; here the parent does (``--randomly-seed`` of the
    worker, :func:`testrepo.api.builtin.builtin_argv`): it is set before
    pytest-randomly's ``pytest_configure`` reads it, unless the user chose
    one (``-- --randomly-seed=N``).  Without pytest-randomly, nothing."""

    def __init__(self, seed: int):
        self.seed = seed

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config):
        if not config.pluginmanager.hasplugin("randomly"):
            return
        if getattr(config.option, "randomly_seed", None) == "default":
            config.option.randomly_seed = self.seed
