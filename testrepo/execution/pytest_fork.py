"""Workers forked from the pytest worker that collected the suite.

Worker 0 lists the suite.  With ``--fork-slots`` the pool has prepared
the other workers' pipes and files (see
:meth:`testrepo.execution.worker_process.Worker.open_slot`), and worker 0
forks one process per slot: no second interpreter start, no second pytest
configuration.  It forks once it has walked the suite's files, and each
process collects its share of them
(:mod:`testrepo.execution.pytest_split`); or, where the suite must be
collected whole, once it has collected it, and each forked process starts
serving with every item collected.  Either way a run collects the suite
once, whatever the number of workers.

Each forked worker is the pool's as a spawned one is: worker 0 forks
twice and the middle process exits, so the new process is re-parented to
the pool (a child subreaper), which reaps it and reads its exit status; it
leads a session of its own; it writes where its slot's files are (file
descriptors 1 and 2, every copy pytest keeps of them, and pytest's own
capture files, which would otherwise be shared with worker 0); and its
``ready`` message carries its pid.

Worker 0 does not fork (and the pool starts the slots' workers afresh
when their pipes end) if another thread is running (a fork copies only
the calling thread, and a lock another thread held stays held) or coverage
is measuring (its data file would be written by both processes).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import List, Optional, Tuple

from testrepo.execution import worker as unittest_worker

# A slot: the worker's index and its descriptors (batches, frames, its own
# output, its fds 1 and 2).
Slot = Tuple[int, Tuple[int, int, int, int, int]]

# How long a forked process waits for the middle process to exit (it does
# so at once); past that it gives up and the pool starts the slot afresh.
ADOPTION_SECONDS = 5.0
EXIT_NOT_ADOPTED = 70


def parse_slots(text: Optional[str]) -> List[Slot]:
    """``'1:5,6,7,8,9;2:10,11,12,13,14'`` -> ``[(1, (5, 6, 7, 8, 9)), (2, ...)]``."""
    slots = []
    for entry in (text or "").split(";"):
        if entry:
            index, _, fds = entry.partition(":")
            slots.append((int(index), tuple(int(fd) for fd in fds.split(","))))
    return slots


def why_not_fork() -> Optional[str]:
    """Why this process must not fork its workers now, or None."""
    if not hasattr(os, "fork"):
        return "no fork()"
    if threading.active_count() > 1:
        return "threads are running"
    if "coverage" in sys.modules:
        return "coverage is imported"
    return None


def fork_slots(slots: List[Slot], config) -> Tuple[Optional[Slot], List[int]]:
    """Fork a worker for each slot.  Returns, in the forking worker, None
    (the slots' descriptors closed) and the indices of the slots it forked;
    in each forked worker, its slot, whose standard output and error (and
    pytest's capture of them) are then its slot's.  A slot's descriptors
    after the first five are the forked worker's too."""
    forked: Optional[Slot] = None
    done: List[int] = []
    if why_not_fork() is None:
        sys.stdout.flush()
        sys.stderr.flush()
        for slot in slots:
            try:
                if _fork_adopted():
                    forked = slot
                    break
            except OSError:
                break  # no fork now (EAGAIN, ENOMEM): the rest start afresh
            done.append(slot[0])
    for index, fds in slots:
        for fd in fds if forked is None or index != forked[0] else ():
            os.close(fd)
    if forked is not None:
        _take_stdio(config, *forked[1][3:5])
    return forked, done


def _fork_adopted() -> bool:
    """Fork a process the pool adopts: False here, True in the new process
    (re-parented to the pool, leading its own session, killed if the pool
    dies)."""
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)  # the middle process, which exits at once
        return False
    try:
        middle = os.getpid()
        if os.fork():
            os._exit(0)
        os.setsid()
        deadline = time.monotonic() + ADOPTION_SECONDS
        while os.getppid() == middle:
            if time.monotonic() > deadline:
                os._exit(EXIT_NOT_ADOPTED)
            time.sleep(0.001)
        unittest_worker.die_with_parent()
    except BaseException:  # noqa: BLE001 - never return into worker 0's code
        os._exit(EXIT_NOT_ADOPTED)
    return True


def _take_stdio(config, out_fd: int, err_fd: int) -> None:
    """Make file descriptors 1 and 2, and every descriptor that still
    writes where worker 0's did (pytest's faulthandler keeps a copy of 2),
    write to this worker's files; pytest's capture starts afresh on them."""
    capture = config.pluginmanager.get_plugin("capturemanager")
    capturing = getattr(capture, "_global_capturing", None)
    started = capturing is not None and capturing.is_started()
    if capturing is not None:
        capture.stop_global_capturing()  # fds 1 and 2 are worker 0's again
    for old, new in ((1, out_fd), (2, err_fd)):
        target = os.fstat(old)
        for fd in _open_descriptors():
            try:
                same = os.path.samestat(os.fstat(fd), target)
            except OSError:
                continue
            if same and fd != new:
                os.dup2(new, fd, inheritable=fd in (0, 1, 2))
        os.close(new)
    if capturing is not None:
        capture.start_global_capturing()
        if not started:
            capture.suspend_global_capture()


def _open_descriptors() -> List[int]:
    try:
        return [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return [1, 2]
