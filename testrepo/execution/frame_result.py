"""What a built-in worker reports for each test it runs: a frame (see
:mod:`testrepo.execution.protocol`) holding the test's subunit v2 events,
with its output captured at file descriptors 1 and 2."""

from __future__ import annotations

import faulthandler
import os
import struct
import sys
import tempfile
import time
import unittest
import zlib

from testrepo import subunit_v2
from testrepo.execution import protocol

_TRACEBACK_MIME = "text/x-traceback;charset=utf8"
_TEXT_MIME = "text/plain;charset=utf8"
_CRC = struct.Struct(">I")


class FrameResult(unittest.TestResult):
    """A unittest result that writes one frame per finished test.

    Lean on purpose: no testtools layers, one v2 encoder, no lists of
    failures kept in memory.
    """

    def __init__(self, out, worker, timeout=None, capture=None):
        super().__init__()
        self._out = out
        # An OutputCapture; None (``run --pdb``): the test's output goes to
        # the terminal, so that pdb's prompt can be seen.
        self._capture = capture
        # faulthandler's timeout dump must reach the parent, not the capture.
        self._dump_file = capture.report if capture is not None else sys.__stderr__
        self._tags = subunit_v2.encode_tags([f"worker-{worker}"])
        self._route = str(worker)
        self._status_packet = StatusPackets([f"worker-{worker}"], self._route).encode
        self._timeout = timeout
        self._packets = []
        self._test_id = None
        self._start = None
        self._details = []
        # What was reported last, and how many tests were: a batch suite
        # asks after each test it ran (see _BatchSuite).
        self.last_id = None
        self.reported = 0

    def _event(self, test_id, status=None, file_name=None, file_bytes=b"", mime_type=None,
               eof=False):
        self._packets.append(subunit_v2.encode(
            test_id, status, None, True, file_name, file_bytes, eof, mime_type, self._route,
            time.time(), encoded_tags=self._tags))

    def startTest(self, test):
        self._begin(test.id())

    def _begin(self, test_id):
        self._test_id = test_id
        self._details = []
        # At the stream's precision: the durations the parent counts from
        # the frame header are then those a replay of the events gives.
        self._start = subunit_v2.stored_time(time.time())
        self._packets.append(self._status_packet(test_id, "inprogress", self._start))
        if self._capture is not None:
            self._capture.forward()  # written between tests: the worker's own output
        if self._timeout:
            faulthandler.dump_traceback_later(self._timeout, exit=True, file=self._dump_file)

    def begin_test(self, test_id):
        """A test starts that is no unittest case (the pytest worker's)."""
        self._begin(test_id)

    def rearm_timeout(self):
        """Set the running test's timeout timer again, to what is left of
        it: faulthandler has one timer, and a test's runner (pytest's
        faulthandler plugin) may have replaced or cancelled it."""
        if self._timeout and self._test_id is not None:
            left = self._timeout - (time.time() - self._start)
            faulthandler.dump_traceback_later(max(left, 0.001), exit=True, file=self._dump_file)

    def finish_test(self, test_id, status, details=(), output=()):
        """Its outcome; ``output``: (name, bytes) text its runner captured
        itself, shown before what reached file descriptors 1 and 2."""
        self._finish(_Named(test_id), status, details, output)

    def _finish(self, test, status, details=(), output=()):
        test_id = test.id()
        if self._test_id != test_id:
            self._begin(test_id)  # class/module fixture errors have no startTest
        if self._timeout:
            faulthandler.cancel_dump_traceback_later()
        captured = dict(output)
        if self._capture is not None:
            stdout, stderr = self._capture.take()
            captured["stdout"] = captured.get("stdout", b"") + stdout
            captured["stderr"] = captured.get("stderr", b"") + stderr
        details = [*self._details, *details]
        for name, text in details:
            self._event(test_id, file_name=name, file_bytes=text.encode("utf-8"),
                        mime_type=_TRACEBACK_MIME, eof=True)
        for name, data in captured.items():
            if data:
                self._event(test_id, file_name=name, file_bytes=data,
                            mime_type=_TEXT_MIME, eof=True)
        stop = subunit_v2.stored_time(time.time())
        self._packets.append(self._status_packet(test_id, status, stop))
        data = b"".join(self._packets)
        self._packets.clear()
        protocol.write_test_frame(self._out, test_id, status, self._start, stop, data,
                                  bool(details or any(captured.values())))
        self._test_id = None
        self.last_id = test_id
        self.reported += 1

    def addSuccess(self, test):
        self._finish(test, "success")

    def addFailure(self, test, err):
        self._finish(test, "fail", [("traceback", self._exc_info_to_string(err, test))])

    def addError(self, test, err):
        self._finish(test, "fail", [("traceback", self._exc_info_to_string(err, test))])

    def addSkip(self, test, reason):
        self._finish(test, "skip", [("reason", reason)])

    def addExpectedFailure(self, test, err):
        self._finish(test, "xfail", [("traceback", self._exc_info_to_string(err, test))])

    def addUnexpectedSuccess(self, test):
        self._finish(test, "uxsuccess")

    def addSubTest(self, test, subtest, err):
        if err is not None:
            # A failing subtest fails its test; keep each failure's traceback.
            self._details.append((f"traceback {subtest._subDescription()}",
                                  self._exc_info_to_string(err, test)))

    def stopTest(self, test):
        if self._test_id is not None:
            # No outcome was reported: unittest does that when subtests
            # failed (their tracebacks are in _details).
            self._finish(test, "fail" if self._details else "success")


class _Named:
    """A test known by its id only."""

    def __init__(self, test_id):
        self._test_id = test_id

    def id(self):
        return self._test_id


class OutputCapture:
    """A test's output, captured where ``subunit.run`` in a pipe would see
    it: at file descriptors 1 and 2, which the parent points at two files
    (or, if they are not files, two unlinked temporary files).
    ``sys.stdout`` and ``sys.stderr`` stay the interpreter's own objects
    (``.buffer``, ``.fileno()`` and subprocesses writing to fd 1 all work);
    what reaches the files while a test runs, from the test or any process
    it started, is that test's output.  What a crash leaves there, the
    parent reads.

    ``report`` (``report_fd``, else a copy of stderr) is the worker's own
    output, which the parent shows: what is written between tests goes
    there, and so does faulthandler's dump.
    """

    def __init__(self, report_fd=None):
        sys.stdout.flush()
        sys.stderr.flush()
        if report_fd is None or report_fd in (1, 2):
            report_fd = os.dup(2 if report_fd is None else report_fd)
        os.set_inheritable(report_fd, False)
        self.report = os.fdopen(report_fd, "w", encoding="utf-8", errors="replace")
        self._report_fd = report_fd
        for fd in (1, 2):
            try:
                os.lseek(fd, 0, os.SEEK_CUR)
            except OSError:  # a pipe or a terminal: capture in a file of our own
                with tempfile.TemporaryFile() as capture:
                    os.dup2(capture.fileno(), fd)

    def take(self):
        """(stdout bytes, stderr bytes) written since the last call."""
        return self._read(1, sys.__stdout__), self._read(2, sys.__stderr__)

    def forward(self) -> None:
        """Copy what was written since the last call to ``report``."""
        for data in self.take():
            if data:
                os.write(self._report_fd, data)

    @staticmethod
    def _read(fd, stream) -> bytes:
        try:
            if stream is not None:
                stream.flush()
            size = os.lseek(fd, 0, os.SEEK_CUR)
            if not size:
                return b""
            data = os.pread(fd, size, 0)
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            return data
        except (OSError, ValueError):
            return b""  # a test closed or replaced the descriptor


class StatusPackets:
    """``subunit_v2.encode(test_id, status, tags, route_code=route_code,
    timestamp=...)``, byte for byte, for the packets without attachments
    that every test sends twice (its start and its outcome): the fields
    shared by every packet of a worker are encoded once, which is a good
    part of a worker's cost per trivial test."""

    _FLAGS = (subunit_v2.VERSION_2 | subunit_v2.FLAG_TIMESTAMP | subunit_v2.FLAG_TEST_ID
              | subunit_v2.FLAG_TAGS | subunit_v2.FLAG_RUNNABLE | subunit_v2.FLAG_ROUTE_CODE)

    def __init__(self, tags, route_code):
        # Field order: timestamp, test id, tags, route code (no MIME type
        # or file in these packets).
        self._tags = subunit_v2.encode_tags(tags)
        self._route_code = route_code
        self._shared = self._tags + subunit_v2._text(route_code)
        self._flags = {status: struct.pack(">H", self._FLAGS | code)
                       for status, code in subunit_v2.STATUS_CODES.items()}

    def encode(self, test_id, status, timestamp):
        body = b"".join((subunit_v2._timestamp(timestamp), subunit_v2._text(test_id),
                         self._shared))
        # signature + flags + length field + body + CRC (subunit_v2.encode)
        base = 7 + len(body)
        length = base + (1 if base <= 62 else 2 if base <= 16381 else 3)
        if length > subunit_v2.MAX_PACKET:  # the general case says why not
            return subunit_v2.encode(test_id, status, route_code=self._route_code,
                                     timestamp=timestamp, encoded_tags=self._tags)
        content = b"".join((b"\xb3", self._flags[status], subunit_v2._number(length), body))
        return content + _CRC.pack(zlib.crc32(content) & 0xFFFFFFFF)
