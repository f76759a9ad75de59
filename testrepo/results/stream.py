"""The StreamResult protocol (testtools' event API) without importing
testtools: the run and read paths of testrepo never need it, and its import
costs more than the rest of a ``testr last``.

A stage has ``startTestRun()``, ``stopTestRun()`` and ``status(**event)``
with testtools' keywords (``test_id``, ``test_status``, ``test_tags``,
``runnable``, ``file_name``, ``file_bytes``, ``eof``, ``mime_type``,
``route_code``, ``timestamp``), so testtools and python-subunit objects can
be used as stages too.
"""

from __future__ import annotations

from typing import Sequence


class StreamResult:
    """A stage that ignores everything; subclasses override what they use."""

    def startTestRun(self):
        pass

    def stopTestRun(self):
        pass

    def status(self, **event):
        pass


class Fanout(StreamResult):
    """Sends every call to each of ``targets`` in turn (testtools'
    CopyStreamResult)."""

    def __init__(self, targets: Sequence):
        self.targets = list(targets)

    def startTestRun(self):
        for target in self.targets:
            target.startTestRun()

    def stopTestRun(self):
        for target in self.targets:
            target.stopTestRun()

    def status(self, **event):
        for target in self.targets:
            target.status(**event)


def show(data: bytes, result) -> None:
    """Feed the v2 events in ``data`` to ``result`` (our decoder)."""
    from testrepo import subunit_v2

    subunit_v2.replay(data, result)
