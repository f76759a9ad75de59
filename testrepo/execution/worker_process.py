"""One built-in worker process as the pool sees it: the process, its two
protocol pipes, its output files and the work it holds; and how any test
process ends (its exit described, its process group stopped)."""

from __future__ import annotations

import collections
import linecache
import os
import re
import signal
import subprocess
import tempfile
import time
from typing import Deque, Dict, List, Optional, Sequence, Tuple

from testrepo.execution import protocol, reaper

_READ_SIZE = 1 << 16


def describe_exit(returncode: int, shell: bool = False) -> str:
    """``-11`` → ``died with SIGSEGV``.  A shell reports a child killed by
    signal N as exit status 128 + N, so with ``shell`` that reads the same."""
    signum = -returncode if returncode < 0 else 0
    if shell and 128 < returncode < 128 + 65:
        signum = returncode - 128
    if signum:
        try:
            return f"died with {signal.Signals(signum).name}"
        except ValueError:
            return f"died with signal {signum}"
    return f"exited with code {returncode}"


def stop_process_group(process: Optional[subprocess.Popen]) -> None:
    """Stop ``process`` and everything it started (it leads its own process
    group): SIGTERM, then SIGKILL after 2 s.  No orphans are left."""
    if process is None or process.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=2)
            return
        except (ProcessLookupError, PermissionError):
            return
        except subprocess.TimeoutExpired:
            continue


class Worker:
    """One worker process, its two pipes and the work it holds."""

    def __init__(self, index: int, generation: int):
        self.index = index
        self.generation = generation
        self.process: Optional[subprocess.Popen] = None
        # The worker's own output (its report descriptor, faulthandler's
        # dumps), and its file descriptors 1 and 2, where each test's
        # output is captured and where a crash leaves the rest.
        self.stderr = tempfile.TemporaryFile()
        self.captures = (tempfile.TemporaryFile(), tempfile.TemporaryFile())
        # Ids sent and not yet finished, in the order the worker runs them.
        self.assigned: Dict[str, None] = {}
        self.batches: Deque[List[str]] = collections.deque()
        # The first assigned test has been running since (monotonic).
        self.since = 0.0
        self.frames_fd = -1  # worker -> parent
        self.batches_fd = -1  # parent -> worker (non-blocking)
        self.exit_fd = -1  # a pidfd: readable once the process has ended
        self.outgoing = bytearray()  # batches the pipe has not taken yet
        self.more_batches = True
        self.ready = False
        self.ended = False
        self.last_test: Optional[str] = None  # the last test it reported
        self.unread = b""  # bytes read from the frames pipe, not yet a message
        self.last_read = 0  # bytes the last read of the frames pipe took
        self._slot_ends: Tuple[int, ...] = ()  # open_slot's ends for the forking process

    def spawn(self, argv: List[str], cwd: str, slots: Sequence["Worker"] = ()) -> None:
        """Start the process: stdin from /dev/null, stdout and stderr to
        capture files, the protocol on two pipes of its own and its own
        output to a file (``--control R,W,E``); with ``slots``, the workers
        it is to fork (``--fork-slots``, see :meth:`open_slot`)."""
        batches_read, self.batches_fd = os.pipe()
        self.frames_fd, frames_write = os.pipe()
        report = self.stderr.fileno()
        opened = [slot.open_slot() for slot in slots]
        extra = ["--fork-slots", ";".join(spec for spec, _ in opened)] if slots else []
        try:
            self.process = subprocess.Popen(
                argv + ["--control", f"{batches_read},{frames_write},{report}", *extra],
                cwd=cwd, stdin=subprocess.DEVNULL, stdout=self.captures[0],
                stderr=self.captures[1], start_new_session=True,
                pass_fds=(batches_read, frames_write, report,
                          *(fd for _, fds in opened for fd in fds)))
        finally:
            os.close(batches_read)
            os.close(frames_write)
            for slot in slots:
                slot.close_slot_ends()
        os.set_blocking(self.batches_fd, False)
        try:
            self.exit_fd = os.pidfd_open(self.process.pid)
        except (AttributeError, OSError):
            self.exit_fd = -1  # no pidfd: the end is seen as end of file

    def open_slot(self) -> Tuple[str, Tuple[int, ...]]:
        """Pipes for a worker that another worker's process will fork: the
        slot's description (``INDEX:R,W,E,O,X``: batches, frames, its own
        output, its fds 1 and 2) and the descriptors the forking process
        inherits.  Its ``process`` is None until :meth:`adopt`."""
        batches_read, self.batches_fd = os.pipe()
        self.frames_fd, frames_write = os.pipe()
        os.set_blocking(self.batches_fd, False)
        fds = (batches_read, frames_write, self.stderr.fileno(),
               self.captures[0].fileno(), self.captures[1].fileno())
        self._slot_ends = (batches_read, frames_write)
        return f"{self.index}:{','.join(map(str, fds))}", fds

    def close_slot_ends(self) -> None:
        """The forking process has them: this process closes its copies."""
        for fd in self._slot_ends:
            os.close(fd)
        self._slot_ends = ()

    def adopt(self, pid: int) -> None:
        """The forked process ``pid`` (now this process's child, as a
        subreaper) is this worker."""
        self.process = AdoptedProcess(pid)
        try:
            self.exit_fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.exit_fd = -1

    def read_messages(self) -> Optional[List[tuple]]:
        """Read once from the frames pipe: the messages completed, as
        ``(kind, message, payload)``; None at its end.  Raises
        BlockingIOError if nothing was there, ProtocolError (dropping what
        was read) for output that is no message."""
        data = os.read(self.frames_fd, _READ_SIZE)
        if not data:
            return None
        self.last_read = len(data)
        self.unread += data
        try:
            messages, used = protocol.parse_messages(self.unread)
        except protocol.ProtocolError:
            self.unread = b""
            raise
        self.unread = self.unread[used:]
        return messages

    def mark_ready(self, message) -> bool:
        """It said it is ready (``message``: ``["r", N, ids]``, from a forked
        worker ``["r", N, ids, pid]``, from worker 0 of a split pytest
        collection ``["r", N, ids, None, holdings]``); True if that
        adopted it."""
        self.ready = True
        if self.process is None and len(message) > 3 and message[3] is not None:
            self.adopt(message[3])
            return True
        return False

    def send(self, test_ids: List[str]) -> None:
        if not self.batches:
            self.since = time.monotonic()
        self.batches.append(test_ids)
        for test_id in test_ids:
            self.assigned[test_id] = None
        self.outgoing += protocol.encode_batch(test_ids)

    def write_pending(self) -> bool:
        """Write what the pipe takes now; True if something is left (then
        the pool waits for the pipe to be writable)."""
        while self.outgoing and self.batches_fd >= 0:
            try:
                written = os.write(self.batches_fd, self.outgoing)
            except BlockingIOError:
                return True
            except OSError:
                self.outgoing.clear()  # it died; its end of file reports it
                break
            del self.outgoing[:written]
        return False

    def close_batches(self) -> None:
        if self.batches_fd >= 0:
            os.close(self.batches_fd)
            self.batches_fd = -1

    def running(self) -> Optional[str]:
        """The id of the test it is running now, if any."""
        return next(iter(self.assigned), None)

    def stderr_text(self) -> bytes:
        """What its last test (or its exit) left in the capture files, then
        its own output (where a timeout's dump is last)."""
        text = b""
        for output in (*self.captures, self.stderr):
            output.seek(0)
            text += output.read()
        return text

    def kill_leftovers(self) -> str:
        """Kill what its tests left running; what to say about it, if any."""
        left = reaper.kill_session(self.process.pid)
        if not left:
            return ""
        after = f" after {self.last_test}" if self.last_test else ""
        return (f"testr: worker {self.index} left {len(left)} process(es) running{after}, "
                f"killed: {', '.join(left)}\n")

    def kill(self) -> None:
        stop_process_group(self.process)
        if self.process is not None:
            reaper.kill_session(self.process.pid)

    def close_pipes(self) -> None:
        self.close_batches()
        for fd in (self.frames_fd, self.exit_fd):
            if fd >= 0:
                os.close(fd)
        self.frames_fd = self.exit_fd = -1

    def release(self) -> None:
        """Close the pipes and the stderr file of a worker that is gone."""
        self.close_pipes()
        for output in (self.stderr, *self.captures):
            output.close()


class AdoptedProcess:
    """What the pool uses of a ``subprocess.Popen``, for a process it did
    not start itself but adopted (a forked worker re-parented to the pool,
    a subreaper)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: Optional[int] = None

    def poll(self) -> Optional[int]:
        return self._wait(os.WNOHANG)

    def wait(self, timeout: Optional[float] = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._wait(0 if deadline is None else os.WNOHANG) is None:
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
            time.sleep(0.01)
        return self.returncode

    def _wait(self, flags: int) -> Optional[int]:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, flags)
            except ChildProcessError:
                self.returncode = 0  # reaped elsewhere: its end is unknown
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


_TIMEOUT_MARK = b"Timeout ("
_FRAME = re.compile(r'^(\s*)File "([^"]+)", line (\d+) in ')


def with_source_lines(dump: str) -> str:
    """faulthandler prints ``File "x.py", line 58 in test_hang`` only; add
    each line's source text, as a normal traceback would show."""
    lines = []
    for line in dump.splitlines():
        lines.append(line)
        match = _FRAME.match(line)
        if match:
            source = linecache.getline(match.group(2), int(match.group(3))).strip()
            if source:
                lines.append(f"{match.group(1)}    {source}")
    return "\n".join(lines)


def crash_message(worker: Worker, test_id: str, returncode: int,
                  timed_out: Optional[bytes], timeout: Optional[float]) -> str:
    """Why ``test_id`` failed when ``worker`` ended while running it:
    ``timed_out`` is faulthandler's dump when ``timeout`` expired."""
    if timed_out is not None:
        dump = with_source_lines(timed_out.decode("utf-8", "replace"))
        return (f"{test_id} timed out after {timeout:g} s on worker "
                f"{worker.index}; its traceback:\n{dump}")
    return f"worker {worker.index} {describe_exit(returncode)} while running {test_id}"


def split_timeout(stderr: bytes):
    """(faulthandler's timeout dump or None, the output before it)."""
    at = stderr.rfind(_TIMEOUT_MARK)
    if at < 0 or (at and stderr[at - 1:at] != b"\n"):
        return None, stderr
    return stderr[at:], stderr[:at]
