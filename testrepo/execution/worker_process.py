"""One built-in worker process as the pool sees it: the process, its two
protocol pipes, its output files and the work it holds; and how any test
process ends (its exit described, its process group stopped)."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import tempfile
import time
from typing import Deque, Dict, List, Optional

from testrepo.execution import protocol, reaper


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

    def spawn(self, argv: List[str], cwd: str) -> None:
        """Start the process: stdin from /dev/null, stdout and stderr to
        capture files, the protocol on two pipes of its own and its own
        output to a file (``--control R,W,E``)."""
        batches_read, self.batches_fd = os.pipe()
        self.frames_fd, frames_write = os.pipe()
        report = self.stderr.fileno()
        try:
            self.process = subprocess.Popen(
                argv + ["--control", f"{batches_read},{frames_write},{report}"], cwd=cwd,
                stdin=subprocess.DEVNULL, stdout=self.captures[0], stderr=self.captures[1],
                pass_fds=(batches_read, frames_write, report), start_new_session=True)
        finally:
            os.close(batches_read)
            os.close(frames_write)
        os.set_blocking(self.batches_fd, False)
        try:
            self.exit_fd = os.pidfd_open(self.process.pid)
        except (AttributeError, OSError):
            self.exit_fd = -1  # no pidfd: the end is seen as end of file

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
