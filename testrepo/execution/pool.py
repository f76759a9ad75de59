"""The built-in runner's worker pool: dynamic dispatch, crash and timeout
recovery.

Workers (``python -m testrepo.execution.worker``) import the suite once and
pull batches from a :class:`~testrepo.scheduler.protocol.WorkSource`.  The
calling thread reads every worker's pipe (a selector), parses the frames and
feeds the results on; nothing else runs in the parent, so dispatching and
reporting need no locks and no thread competes for the GIL.

Every test handed out ends with an outcome:

* a result reported by the worker;
* the worker died while running it (crash, or ``--timeout`` expired and
  faulthandler killed it): a failure naming the signal or the timeout,
  with the traceback faulthandler wrote;
* the worker finished its batch without reporting it (unittest skips the
  tests of a class whose ``setUpClass`` failed): a failure saying so;
* the pool gave up after too many crashes: a failure saying "not run".

Tests queued on a worker that died go back to the front of the queue and a
fresh worker takes over, up to ``max_restarts`` replacements in all.
"""

from __future__ import annotations

import os
import selectors
import time
from typing import Dict, FrozenSet, List, Optional, Set

from testrepo import errors
from testrepo.execution import protocol, reaper
from testrepo.execution.worker_process import (
    Worker,
    crash_message,
    describe_exit,
    split_timeout,
)
from testrepo.results.outcome import TestOutcome, synthetic_outcome
from testrepo.results.running import HEARTBEAT, RunningTest
from testrepo.scheduler.protocol import WorkSource

_EOF = "eof"
# What a selector key's data says is ready: (worker, one of these).
_FRAMES, _EXITED, _WRITABLE = "frames", "exited", "writable"
_FAILED = "failed"
# How long the parent waits, before it reads again, while every worker
# holds a batch behind the one it is running (so none can run dry
# meanwhile) and none is writing much output (each last read took less
# than SMALL_READ bytes; a test's large output would otherwise wait on a
# full pipe): a stream of fast tests is then read a few dozen results at
# a time, not one per wake-up.  On two CPUs the parent's wake-ups take
# them from the workers: 10,000 trivial pytest tests ran 4 % faster.
COALESCE_SECONDS = 0.002
SMALL_READ = 1 << 14


class WorkerPool:
    """Built-in workers, started before the tests are selected.

    ``start()`` launches them (worker 0 discovers the suite, the others
    import its modules meanwhile with ``--warm``; with ``forks``, pytest's,
    worker 0 forks the others once it has collected);
    ``listing()`` returns the ids worker 0 discovered, so no separate
    listing process is needed; ``run(work, sink)`` hands out ``work`` and
    feeds ``sink`` (``add_outcome``/``add_output``) on the calling thread;
    ``close()`` kills whatever is still running (always call it).
    """

    def __init__(self, argv: List[str], cwd: str, workers: int,
                 timeout: Optional[float] = None, max_restarts: Optional[int] = None,
                 isolated: bool = False, forks: bool = False):
        self._argv = argv
        # --isolated: each worker process runs one batch (one test) and exits.
        self._isolated = isolated
        # pytest: worker 0 forks the others once it has collected the suite.
        self._forks = forks and workers > 1 and not isolated
        self._cwd = cwd
        self._count = max(1, workers)
        self._timeout = timeout
        self._max_restarts = 4 * self._count if max_restarts is None else max_restarts
        self._restarts = 0
        self._selector = selectors.DefaultSelector()
        self._workers: Dict[int, Worker] = {}
        self._work: Optional[WorkSource] = None
        self._sink = None
        self._listed: Optional[List[str]] = None
        # The files each pytest worker holds, when worker 0 split the
        # collection (see collections()).
        self._holdings: Optional[Dict[int, FrozenSet[str]]] = None
        # Events read while waiting for the listing, handled by run().
        self._pending: List[tuple] = []
        self._next_beat = 0.0
        self._started_at = reaper.boot_ticks_now()
        self._pids: List[int] = []  # every worker process started
        self._subreaper = False
        # Workers waiting for the queue to have something for them.
        self._parked: Set[int] = set()
        # A batch each for the fresh process replacing a worker whose next
        # tests go back in the order its process has run (starts_over).
        self._held: Dict[int, List[str]] = {}

    def start(self) -> None:
        self._subreaper = reaper.become_subreaper()
        # Forked workers are adopted (re-parented to this subreaper).
        self._forks = self._forks and self._subreaper
        slots = [Worker(index, 0) for index in range(1, self._count)] if self._forks else []
        self._start(0, generation=0, send_ids=True, slots=slots)
        for slot in slots:
            self._register(slot)
        for index in range(1 + len(slots), self._count):
            self._start(index, generation=0)

    def collections(self) -> Dict[int, Optional[FrozenSet[str]]]:
        """What each worker has collected (None: the whole suite), for the
        file queue: worker 0 and those it forks hold the whole collection,
        or each its share of the files when worker 0 split it
        (:mod:`testrepo.execution.pytest_split`); a slot worker 0 did not
        fork starts afresh, with nothing."""
        if self._holdings is not None:
            return dict(self._holdings)
        return {index: None for index in (range(self._count) if self._forks else [0])}

    def grow(self, count: int) -> None:
        """Have ``count`` workers in all (``test_run_concurrency`` of 0: one
        per test, known only once worker 0 has listed them)."""
        for index in range(self._count, count):
            self._start(index, generation=0)
        self._count = max(self._count, count)

    def listing(self) -> List[str]:
        """The test ids worker 0 discovered, in discovery order."""
        while self._listed is None:
            for item in self._poll():
                worker, kind, message, _ = item
                if kind == _EOF and worker.index == 0 and not worker.ready:
                    self._failed_to_start(worker)
                self._pending.append(item)
                if kind == protocol.READY:
                    self._ready(worker, message)
                    if worker.index == 0:
                        self._listed = message[2]
                        if len(message) > 4 and isinstance(message[4], dict):
                            self._holdings = {int(index): frozenset(files)
                                              for index, files in message[4].items()}
        return self._listed

    def run(self, work: WorkSource, sink) -> None:
        """Run every test in ``work``; workers beyond what it needs stop."""
        self._work, self._sink = work, sink
        for worker in list(self._workers.values()):
            self._refill(worker)
        backlog, self._pending = self._pending, []
        for item in backlog:
            self._handle(*item)
        try:
            while self._workers:
                for item in self._poll():
                    self._handle(*item)
        except KeyboardInterrupt:
            now = time.monotonic()
            sink.heartbeat(self.running(now), now)  # what was cut short
            raise
        if len(self._work):
            # Pinned queues (--worker-file): a worker that gave up leaves
            # its own tests behind, which no other worker may take.
            self._abandon(0)

    def running(self, now: float) -> List[RunningTest]:
        """The test each busy worker is running."""
        return [RunningTest(worker.index, test_id, worker.since)
                for worker in self._workers.values()
                if (test_id := worker.running()) is not None]

    def close(self) -> None:
        """Stop every worker, and every process a test left behind."""
        for worker in self._workers.values():
            worker.kill()
            worker.release()
        self._selector.close()
        if self._subreaper:
            reaper.kill_adopted(self._started_at, self._pids)
            reaper.become_subreaper(False)

    # --- workers ---------------------------------------------------------

    def _start(self, index: int, generation: int, send_ids: bool = False,
               slots: List[Worker] = ()) -> None:
        worker = Worker(index, generation)
        argv = self._argv + ["--worker", str(index)]
        if self._timeout:
            argv += ["--timeout", str(self._timeout)]
        if send_ids:
            argv.append("--send-ids")
        try:
            worker.spawn(argv, self._cwd, slots)
        except OSError as err:
            worker.release()
            raise errors.ExecutionError(f"cannot start a worker `{' '.join(argv)}`: {err}") from err
        self._pids.append(worker.process.pid)
        self._register(worker)
        held = self._held.pop(index, None)
        if held:
            self._send(worker, held)
        if self._work is not None:
            self._refill(worker)

    def _register(self, worker: Worker) -> None:
        self._workers[worker.index] = worker
        self._selector.register(worker.frames_fd, selectors.EVENT_READ, (worker, _FRAMES))
        self._watch_exit(worker)

    def _watch_exit(self, worker: Worker) -> None:
        if worker.exit_fd >= 0:
            self._selector.register(worker.exit_fd, selectors.EVENT_READ, (worker, _EXITED))

    def _ready(self, worker: Worker, message) -> None:
        if worker.mark_ready(message):  # a forked worker, adopted
            self._pids.append(worker.process.pid)
            self._watch_exit(worker)

    def _failed_to_start(self, worker: Worker) -> None:
        stderr = worker.stderr_text().decode("utf-8", "replace").rstrip()
        raise errors.ExecutionError(
            f"listing tests failed: the built-in runner `{' '.join(self._argv)}` "
            f"{describe_exit(worker.process.returncode)} during discovery; fix the error "
            "below (often an import error) and run again", detail=stderr)

    def _poll(self) -> List[tuple]:
        """Wait for output from any worker and return what it said, as
        ``(worker, kind, message, payload)`` items.

        One thread reads every pipe: a reader thread per worker would fight
        the main thread for the GIL on every test.  A worker's end is seen
        on its pidfd, not only as end of file: a process a test started
        may still hold the frames pipe open.
        """
        items: List[tuple] = []
        if self._sink is not None and self._may_wait():
            self._sink.flush()  # idle: a killed parent then loses nothing
            time.sleep(COALESCE_SECONDS)
        ready = self._selector.select(0)
        if not ready:
            if self._sink is not None:
                self._sink.flush()
            ready = self._selector.select(HEARTBEAT if self._sink is not None else None)
        for key, _ in ready:
            worker, what = key.data
            if worker.ended:
                continue
            if what == _WRITABLE:
                self._write_pending(worker)
            elif what == _EXITED:
                self._drain(worker, items)
            else:
                self._read(worker, items)
        if self._sink is not None:
            now = time.monotonic()
            if now >= self._next_beat:
                self._next_beat = now + HEARTBEAT
                self._sink.heartbeat(self.running(now), now)
        return items

    def _may_wait(self) -> bool:
        """Every worker has a batch waiting behind the one it runs, and
        none is sending much output (see COALESCE_SECONDS)."""
        return all(len(worker.batches) >= 2 and worker.last_read < SMALL_READ
                   for worker in self._workers.values())

    def _read(self, worker: Worker, items: List[tuple]) -> bool:
        """Read once from the frames pipe; False at its end."""
        try:
            messages = worker.read_messages()
        except BlockingIOError:
            return False
        except protocol.ProtocolError as err:
            items.append((worker, _FAILED, str(err), b""))
            return True
        if messages is None:
            self._end(worker, items)
            return False
        items.extend((worker, *message) for message in messages)
        return True

    def _drain(self, worker: Worker, items: List[tuple]) -> None:
        """The process has ended: read what is left in its pipe, then end
        it even if a process it left behind holds the pipe open."""
        os.set_blocking(worker.frames_fd, False)
        while not worker.ended and self._read(worker, items):
            pass
        if not worker.ended:
            self._end(worker, items)

    def _end(self, worker: Worker, items: List[tuple]) -> None:
        worker.ended = True
        for fd in (worker.frames_fd, worker.exit_fd, worker.batches_fd):
            if fd >= 0:
                try:
                    self._selector.unregister(fd)
                except (KeyError, ValueError):
                    pass
        if worker.process is not None:
            worker.process.wait()
        worker.close_pipes()
        items.append((worker, _EOF, None, b""))

    def _write_pending(self, worker: Worker) -> None:
        """Send what a worker's pipe did not take, waiting for the pipe to
        be writable while something is left; close it once everything is
        sent and no more batches will come."""
        fd = worker.batches_fd
        if fd < 0:
            return
        left = worker.write_pending()
        registered = fd in self._selector.get_map()
        if left and not registered:
            self._selector.register(fd, selectors.EVENT_WRITE, (worker, _WRITABLE))
        elif not left:
            if registered:
                self._selector.unregister(fd)
            if not worker.more_batches:
                worker.close_batches()

    def _send(self, worker: Worker, batch: List[str]) -> None:
        worker.send(batch)
        self._write_pending(worker)

    def _finish(self, worker: Worker) -> None:
        """No more batches for ``worker``: it ends after what it was sent."""
        worker.more_batches = False
        self._write_pending(worker)

    def _refill(self, worker: Worker) -> None:
        """Keep a worker busy: one batch running and, while the queue is far
        from empty, one more waiting in its pipe.  Near the end nothing
        waits behind a running batch, so no test is stuck behind a slow or
        hung one while another worker idles."""
        if self._isolated:
            self._refill_isolated(worker)
            return
        while worker.more_batches:
            limit = 2 if len(self._work) > 2 * len(self._workers) else 1
            if len(worker.batches) >= limit:
                return
            batch = self._work.next_batch(worker.index)
            if not batch:
                self._park(worker)
                return
            self._parked.discard(worker.index)
            if self._work.starts_over(worker.index):
                self._start_over(worker, batch)
                return
            self._send(worker, batch)

    def _start_over(self, worker: Worker, batch: List[str]) -> None:
        """``batch`` goes back in the order ``worker``'s process has run its
        tests: that process ends after the batches it holds, and a fresh one
        starts with ``batch`` (doc/running.rst, "Order and isolation")."""
        self._held[worker.index] = batch
        self._finish(worker)

    def _park(self, worker: Worker) -> None:
        """The queue has nothing for ``worker`` now.  While tests are left
        anywhere it waits and asks again whenever a batch ends (the queue
        may then let it take over another worker's tail); it is only told
        to finish once the queue is empty.  A worker that still holds a
        batch just asks again when that batch is done."""
        if len(self._work):
            if not worker.batches:
                self._parked.add(worker.index)
            self._finish_if_stalled()
            return
        self._parked.discard(worker.index)
        self._finish(worker)
        self._finish_parked()  # the queue is empty: all are done

    def _finish_if_stalled(self) -> None:
        """Every live worker waits and none holds a batch: the queue has
        nothing any of them may take (a --worker-file entry whose workers
        gave up), so they finish and run() reports what is left."""
        if self._parked and all(index in self._parked for index in self._workers):
            self._finish_parked()

    def _finish_parked(self) -> None:
        for index in list(self._parked):
            self._parked.discard(index)
            if index in self._workers:
                self._finish(self._workers[index])

    def _unpark(self) -> None:
        """A batch ended somewhere: parked workers ask again."""
        for index in list(self._parked):
            parked = self._workers.get(index)
            if parked is None:
                self._parked.discard(index)
            else:
                self._refill(parked)

    def _refill_isolated(self, worker: Worker) -> None:
        """--isolated: one batch per worker process; closing its batches
        pipe at once makes it exit after that batch."""
        if worker.more_batches:
            batch = self._work.next_batch(worker.index)
            if batch:
                worker.send(batch)
            self._finish(worker)

    # --- events ----------------------------------------------------------

    def _handle(self, worker: Worker, kind: str, message, payload: bytes) -> None:
        if self._workers.get(worker.index) is not worker:
            return  # a replaced worker's leftovers
        if kind == protocol.TEST:
            _, test_id, status, start, stop, _size, has_details = message
            if worker.assigned.pop(test_id, False) is None:
                worker.since = time.monotonic()
            worker.last_test = test_id
            self._work.observe(stop - start)
            self._sink.add_outcome(TestOutcome(test_id, status, worker.index, start, stop,
                                               payload, has_details))
        elif kind == protocol.HANDED_DONE:
            # It reported under other ids (scenarios): those account for it.
            worker.assigned.pop(message[1], None)
            worker.since = time.monotonic()
        elif kind == protocol.BATCH_DONE:
            self._batch_done(worker)
        elif kind == protocol.READY:
            self._ready(worker, message)
        elif kind == _FAILED:
            self._sink.add_output(worker.index, "stderr", message.encode("utf-8"))
            worker.kill()
        elif kind == _EOF:
            self._ended(worker)

    def _batch_done(self, worker: Worker) -> None:
        batch = worker.batches.popleft()
        worker.since = time.monotonic()
        for test_id in batch:
            if test_id in worker.assigned:
                del worker.assigned[test_id]
                self._sink.add_outcome(synthetic_outcome(
                    test_id, worker.index,
                    f"{test_id} was handed to worker {worker.index} but it reported no "
                    "result (unittest does this when setUpClass or setUpModule fails)"))
        self._refill(worker)
        self._unpark()

    def _ended(self, worker: Worker) -> None:
        del self._workers[worker.index]
        self._parked.discard(worker.index)
        self._end_of(worker)
        self._unpark()  # work put back, or the last busy worker gone
        self._finish_if_stalled()

    def _end_of(self, worker: Worker) -> None:
        if worker.process is None:
            # A slot worker 0 did not fork (threads running, coverage, or it
            # died first): a fresh process takes its place and its tests.
            worker.release()
            if self._work is not None:
                self._work.put_back(list(worker.assigned))
            if self._work is None or len(self._work):
                self._start(worker.index, worker.generation)
            return
        returncode = worker.process.returncode
        stderr = worker.stderr_text()
        worker.release()
        self._kill_leftovers(worker)
        if not worker.assigned and returncode == 0:
            if stderr.strip():
                self._sink.add_output(worker.index, "stderr", stderr)
            if worker.index in self._held or (self._isolated and len(self._work)):
                self._start(worker.index, worker.generation + 1)  # fresh process, next tests
            return
        self._recover(worker, returncode, stderr)

    def _kill_leftovers(self, worker: Worker) -> None:
        """Kill what the worker's tests left running, and say so."""
        said = worker.kill_leftovers()
        if said:
            self._sink.add_output(worker.index, "stderr", said.encode("utf-8"))

    def _recover(self, worker: Worker, returncode: int, stderr: bytes) -> None:
        """A worker ended holding work: fail the test it was running, put
        the rest back and start a replacement (within the restart budget)."""
        pending = list(worker.assigned)
        if not worker.ready:
            self._sink.add_output(worker.index, "stderr", stderr)
            raise errors.ExecutionError(
                f"worker {worker.index} {describe_exit(returncode)} before it was ready; "
                "see its output above")
        crashed = pending.pop(0) if pending else None
        timed_out, output = split_timeout(stderr)
        if output.strip():
            self._sink.add_output(worker.index, "stderr", output)
        if crashed is not None:
            self._sink.add_outcome(synthetic_outcome(
                crashed, worker.index,
                crash_message(worker, crashed, returncode, timed_out, self._timeout)))
        elif returncode:
            self._sink.add_outcome(synthetic_outcome(
                "process-returncode", worker.index,
                f"worker {worker.index} {describe_exit(returncode)}"))
        self._work.put_back(pending + self._held.pop(worker.index, []))
        self._replace(worker)

    def _replace(self, worker: Worker) -> None:
        if not len(self._work):
            return
        if self._restarts >= self._max_restarts:
            self._abandon(worker.index)
            return
        self._restarts += 1
        self._start(worker.index, worker.generation + 1)

    def _abandon(self, index: int) -> None:
        """Too many crashes: every test still queued is reported as not run,
        unless another worker is still alive to take it."""
        if self._workers:
            return
        while len(self._work):
            for test_id in self._work.next_batch():
                self._sink.add_outcome(synthetic_outcome(
                    test_id, index,
                    f"{test_id} was not run: workers crashed {self._restarts + 1} times, "
                    f"more than the limit of {self._max_restarts} restarts"))

