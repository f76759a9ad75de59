"""Small StreamResult stages."""

from __future__ import annotations

from testrepo.results.stream import StreamResult


def worker_route(worker: int, route_code=None) -> str:
    """The route code of an event from ``worker``: ``"N"`` or ``"N/inner"``."""
    return str(worker) if route_code is None else f"{worker}/{route_code}"


def worker_tags(worker: int, test_tags=None) -> set:
    """A fresh tag set with ``worker-N`` added (never mutate the caller's)."""
    tags = set(test_tags or ())
    tags.add(f"worker-{worker}")
    return tags


class StreamFilter(StreamResult):
    """Forwards every call to ``target``; subclasses override ``status`` and
    forward with keywords, so the testtools signature is written once."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    def startTestRun(self):
        self.target.startTestRun()

    def stopTestRun(self):
        self.target.stopTestRun()

    def status(self, **event):
        self.target.status(**event)


class WorkerTagger(StreamFilter):
    """Marks every event as coming from ``worker`` (route code and tag)."""

    def __init__(self, target, worker: int):
        super().__init__(target)
        self.worker = worker

    def status(self, test_tags=None, route_code=None, **event):
        self.target.status(test_tags=worker_tags(self.worker, test_tags),
                           route_code=worker_route(self.worker, route_code), **event)
