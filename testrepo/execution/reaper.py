"""Processes that tests leave behind: found and killed when their worker ends.

Every worker (and every command-mode test process) leads a session of its
own (``start_new_session``).  Whatever a test starts stays in that session
unless it calls ``setsid`` itself, even after its parent has gone: when the
worker ends, the processes still in its session are the ones its tests left
behind (:func:`kill_session`).  A daemon that made a session of its own is
caught by the parent being a *child subreaper* for the length of the run
(Linux ``PR_SET_CHILD_SUBREAPER``): orphans are re-parented to testr instead
of init, and :func:`kill_adopted` finds them at the end of the run.

Linux only (``/proc``); elsewhere these find nothing, and the process group
kill in :func:`testrepo.execution.worker_process.stop_process_group` is what is left.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Iterable, List, NamedTuple, Optional

PR_SET_CHILD_SUBREAPER = 36
# How long killed leftovers get to disappear before we stop reaping them.
REAP_SECONDS = 2.0


class ProcessInfo(NamedTuple):
    pid: int
    ppid: int
    sid: int
    start: int  # clock ticks after boot
    zombie: bool  # ended, not yet reaped by its parent


def read_process(pid: int) -> Optional[ProcessInfo]:
    """``/proc/PID/stat``'s parent, session and start time, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces or parentheses.
    fields = stat[stat.rfind(b")") + 2:].split()
    try:
        return ProcessInfo(pid, int(fields[1]), int(fields[3]), int(fields[19]),
                           fields[0] == b"Z")
    except (IndexError, ValueError):
        return None


def processes() -> List[ProcessInfo]:
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    found = []
    for name in names:
        if name.isdigit():
            info = read_process(int(name))
            if info is not None:
                found.append(info)
    return found


def describe(pid: int) -> str:
    """``1234 (sleep 600)``: the pid and its command line."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            argv = handle.read().rstrip(b"\0").replace(b"\0", b" ")
    except OSError:
        argv = b""
    command = argv.decode("utf-8", "replace")
    if len(command) > 80:
        command = command[:77] + "..."
    return f"{pid} ({command})" if command else str(pid)


def become_subreaper(on: bool = True) -> bool:
    """Adopt the orphans of our descendants (Linux), or stop (``on=False``);
    True if it worked."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def boot_ticks_now() -> int:
    """The current time in ``/proc/PID/stat`` start-time units."""
    ticks = os.sysconf("SC_CLK_TCK")
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * ticks)


def kill_session(sid: int) -> List[str]:
    """Kill the processes left in session ``sid`` (a worker that has
    ended); returns their descriptions."""
    found = [info for info in processes() if info.sid == sid and info.pid != sid]
    # Zombies have ended already: not left running, but reaped once they
    # are ours (their parent, the worker or a killed process, has gone).
    killed = _kill([info.pid for info in found if not info.zombie])
    _reap([info.pid for info in found if info.zombie])
    return killed


def kill_adopted(since: int, exclude: Iterable[int]) -> List[str]:
    """Kill the orphans re-parented to this process (a subreaper) that
    started at or after ``since`` (:func:`boot_ticks_now`), other than
    ``exclude`` (processes we started ourselves)."""
    me, skip = os.getpid(), set(exclude)
    found = [info for info in processes()
             if info.ppid == me and info.start >= since and info.pid not in skip]
    killed = _kill([info.pid for info in found if not info.zombie])
    _reap([info.pid for info in found if info.zombie])
    return killed


def _kill(pids: List[int]) -> List[str]:
    described = [describe(pid) for pid in pids]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    _reap(pids)
    return described


def _reap(pids: List[int]) -> None:
    """Wait for killed processes that are (or become, as orphans) our
    children, so that none is left a zombie; give up after REAP_SECONDS.

    A killed process that has ended as the child of a process we did not
    kill (init, or a parent outside the run) is that parent's to reap: we
    stop waiting for it at once.  Waiting for it cost the whole
    REAP_SECONDS per leftover where init reaps late (containers, some VMs).
    """
    waiting = set(pids)
    killed = set(pids)
    deadline = time.monotonic() + REAP_SECONDS
    me = os.getpid()
    while waiting and time.monotonic() < deadline:
        for pid in list(waiting):
            info = read_process(pid)
            if info is None or (info.zombie and info.ppid not in killed and info.ppid != me):
                waiting.discard(pid)
            elif info.ppid == me:
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass
                waiting.discard(pid)
        if waiting:
            time.sleep(0.01)  # a dying parent hands its zombies over
