"""The built-in Python worker: ``python -m testrepo.execution.worker``.

A worker that lists (``--list``, or ``--send-ids``: worker 0 of a run)
discovers the suite once (unittest discovery from ``--test-path`` with
``--top-dir`` on ``sys.path``).  The others load lazily (:class:`LazyTests`):
a test ``package.module.Class.test_method`` is made from its id when it is
first sent, importing only the modules the worker runs, and the first id
that cannot be made that way (a ``load_tests`` protocol, generated ids such
as ``test_x(scenario)``) makes the worker discover after all.

It then serves on two pipes of its own, never on stdin or stdout, so that it
is a transparent host for the tests (see doc/running.rst, "How tests are
hosted"): the parent passes their file descriptors (``--control R,W``).  It
reads batches of test ids from R (one JSON list per line) in its main
thread, runs each batch in the order given, and answers on W with
*frames* (see :mod:`testrepo.execution.protocol`): per finished test, a
small binary header followed by that test's subunit v2 bytes, already
tagged ``worker-N`` with route code ``N``.  The parent stores those bytes
verbatim and never has to parse v2, which is what makes 20,000 trivial
tests cheap.

The tests get stdin from ``/dev/null`` and stdout/stderr on the worker's
output file, as under ``subunit.run`` in a pipe.  No thread of the worker
holds a lock while a test runs, and a process forked by a test closes the
two pipes at once (``os.register_at_fork``), so it can neither deadlock on
the protocol nor keep the parent waiting for it.

Test output is captured per test (``sys.stdout``/``sys.stderr`` swapped for
buffers) and attached to the test's events.  Each test is dropped as soon
as it has run (as unittest's ``TestSuite`` does), so what a test keeps on
``self`` does not pile up.  With ``--timeout S`` faulthandler dumps every
thread's traceback to stderr and exits if one test runs longer than S
seconds.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import fnmatch
import json
import os
import select
import signal
import sys
import unittest

from testrepo.execution import protocol
from testrepo.execution.frame_result import FrameResult, OutputCapture

EXIT_LISTING_FAILED = 3


def iter_tests(suite):
    """Yield the individual test cases of a (nested) unittest suite."""
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from iter_tests(item)
        else:
            yield item


def discover(test_path, top_dir):
    """Return (tests by id in discovery order, import error messages)."""
    loader = unittest.TestLoader()
    suite = loader.discover(test_path, top_level_dir=top_dir)
    tests = {}
    for test in iter_tests(suite):
        if test.__class__.__name__ in ("_FailedTest", "ModuleImportFailure"):
            continue  # its traceback is in loader.errors
        tests.setdefault(test.id(), test)
    return tests, list(loader.errors)


def read_batches(control):
    """Batches (JSON lines) from the parent, read in the main thread between
    batches: no thread holds the reader's lock while a test runs (a test
    that forks must not inherit a held lock).  The parent buffers what it
    sends, so a busy worker never makes it wait."""
    return iter(control.readline, b"")


class _BatchSuite(unittest.TestSuite):
    """One batch: the tests handed out, in order.  After each test has run,
    it is dropped (unittest's own behaviour) and the parent is told which
    handed-out id it was when the test reported under other ids
    (testscenarios, ``clone_test_with_new_id``): the handed id is then
    accounted for by the results it produced."""

    def __init__(self, tests, handed_ids, result, out):
        super().__init__(tests)
        self._handed_ids = handed_ids
        self._result = result
        self._out = out
        self._reported = result.reported

    def _removeTestAtIndex(self, index):
        super()._removeTestAtIndex(index)
        result = self._result
        handed_id = self._handed_ids[index]
        if result.last_id != handed_id and result.reported > self._reported:
            protocol.write_handed_done(self._out, handed_id)
        self._reported = result.reported


def serve(find, worker, timeout, batches, out, capture=None):
    """Run each batch of ids read from ``batches`` and answer with frames;
    ``find(test_id)`` returns the test case (and forgets it), or None if
    there is none.

    The batches are one unittest run: a class (or module) whose tests
    continue in the next batch keeps its setUpClass state, and fixtures are
    torn down once, when the class changes or the last batch is done.
    """
    result = FrameResult(out, worker, timeout, capture)
    # unittest tears fixtures down at the end of a top-level suite; marking
    # the run as entered makes each batch's suite a nested one.
    result._testRunEntered = True
    for line in batches:
        found, handed_ids = [], []
        for test_id in json.loads(line):
            test = find(test_id)
            if test is None:
                result._finish(_Missing(test_id), "fail", [
                    ("traceback", f"{test_id}: no such test (not found by discovery)")])
            else:
                found.append(test)
                handed_ids.append(test_id)
        suite = _BatchSuite(found, handed_ids, result, out)
        found = test = None  # the suite holds the only references
        suite.run(result)
        suite = None
        protocol.write_batch_done(out)
    result._testRunEntered = False
    unittest.TestSuite().run(result)  # the last class and module teardowns
    if capture is not None:
        capture.forward()


class LazyTests:
    """Test cases by id for a worker that does not list: each made from its
    id on first use (import the module, look the class and method up,
    instantiate), which is what discovery would have made for an id of the
    form ``package.module.Class.test_method`` in a module without
    ``load_tests``.

    Anything else (an id that does not resolve that way, a ``load_tests``
    function in the module or a package above it, a module that fails to
    import) calls ``load()`` once, the worker's full discovery, and every
    later id is looked up in what it found.  Lazily made tests keep running
    either way: they are the same tests discovery makes.
    """

    def __init__(self, load):
        self._load = load
        self._discovered = None
        # module name -> the module, or None if it cannot be used directly
        self._modules = {}

    def find(self, test_id):
        if self._discovered is None:
            test = self._make(test_id)
            if test is not None:
                return test
            self._discovered = self._discover()
        return self._discovered.pop(test_id, None)

    def _make(self, test_id):
        """The unittest test case ``module.Class.method`` names, or None."""
        module_name, _, method_name = test_id.rpartition(".")
        module_name, _, class_name = module_name.rpartition(".")
        if not module_name or not method_name.startswith("test"):
            return None
        module = self._modules.get(module_name, False)
        if module is False:
            module = self._modules[module_name] = usable_module(module_name)
        case = getattr(module, class_name, None)
        if not (isinstance(case, type) and issubclass(case, unittest.TestCase)
                and callable(getattr(case, method_name, None))):
            return None
        try:
            test = case(method_name)
        except Exception:  # noqa: BLE001 - left to discovery
            return None
        return test if test.id() == test_id else None

    def _discover(self):
        tests, import_errors = self._load()
        if import_errors:
            # Worker 0 listed these tests without errors; report what this
            # process saw, and the tests concerned fail as not found.
            sys.stderr.write("\n".join(import_errors) + "\n")
        return tests


def usable_module(module_name):
    """The module, imported, if discovery would make its tests the plain
    way; None if it or a package above it defines ``load_tests`` (discovery
    lets that function decide) or it fails to import (discovery reports
    why)."""
    try:
        module = importlib.import_module(module_name)
    except Exception:  # noqa: BLE001 - discovery reports it properly
        return None
    parts = module_name.split(".")
    for end in range(1, len(parts) + 1):
        package = sys.modules.get(".".join(parts[:end]))
        if package is not None and callable(getattr(package, "load_tests", None)):
            return None
    return module


class _Missing:
    def __init__(self, test_id):
        self._test_id = test_id

    def id(self):
        return self._test_id


def add_protocol_arguments(parser) -> None:
    """The flags the pool gives every built-in worker (unittest's, pytest's)."""
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--worker", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--send-ids", action="store_true")
    parser.add_argument("--control", metavar="R,W,E",
                        help="File descriptors of the pipes from and to the parent, "
                             "and of the worker's own output.")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m testrepo.execution.worker")
    parser.add_argument("--test-path", default=".")
    parser.add_argument("--top-dir", default=".")
    add_protocol_arguments(parser)
    parser.add_argument("--load-name", action="append", default=[], metavar="NAME",
                        help="Load these dotted names instead of discovering "
                             "(run --no-discover).")
    parser.add_argument("--warm", action="store_true",
                        help="A worker that does not list imports the suite's test "
                             "modules until its first batch arrives.")
    return parser.parse_args(argv)


def load_named(names, top_dir):
    """Like :func:`discover`, for dotted names (module, class or test
    method) imported from ``top_dir`` instead of a discovered directory."""
    loader = unittest.TestLoader()
    tests = {}
    for name in names:
        for test in iter_tests(loader.loadTestsFromName(name)):
            if test.__class__.__name__ in ("_FailedTest", "ModuleImportFailure"):
                continue  # its traceback is in loader.errors
            tests.setdefault(test.id(), test)
    return tests, list(loader.errors)


def test_module_names(test_path, top_dir):
    """Dotted names of the modules discovery imports below ``test_path``
    (``test*.py`` files in packages), in its order; none if ``test_path``
    is not below ``top_dir``."""
    start, top = os.path.abspath(test_path), os.path.abspath(top_dir)
    if os.path.commonpath([start, top]) != top or not os.path.isdir(start):
        return []

    def walk(directory):
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            if fnmatch.fnmatch(name, "test*.py") and name[:-3].isidentifier():
                yield os.path.relpath(path[:-3], top).replace(os.sep, ".")
            elif name.isidentifier() and os.path.isfile(os.path.join(path, "__init__.py")):
                yield from walk(path)
    return list(walk(start))


def warm_up(module_names, batch_pending):
    """Import ``module_names`` in order until ``batch_pending()``.

    A worker that does not list makes each test from its id when the test
    arrives, so it would import the suite only after worker 0 has listed it,
    while the run waits.  Until its first batch it has nothing else to do:
    it imports what it will need then, as stestr's workers all discover.
    Import errors are left to the test that needs the module (see
    :class:`LazyTests`)."""
    for name in module_names:
        if batch_pending():
            return
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - reported when a test needs it
            pass


def batch_pending(batches):
    """Whether the parent has sent a batch (or closed the pipe); only
    before the first read, while nothing sits in ``batches``' buffer."""
    fd = batches.fileno()
    return lambda: bool(select.select([fd], [], [], 0)[0])


def private_stdout():
    """A binary file on the original stdout; fd 1 now goes to stderr."""
    out = os.fdopen(os.dup(1), "wb")
    sys.stdout.flush()
    os.dup2(2, 1)
    return out


class ControlWriter:
    """The frames pipe, written without a buffer or a lock: each frame is
    one ``write`` call (completed if the pipe takes it in parts)."""

    def __init__(self, fd):
        self.fd = fd

    def write(self, data) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def flush(self) -> None:
        pass


def open_control(fds: str):
    """The batches reader and frames writer on the parent's pipes, and the
    descriptor of the worker's own output (``--control R,W,E``).  They are not inherited by programs a test
    executes, and a process a test forks closes them at once: it must
    neither write frames nor hold the pipes open after the worker ends."""
    read_fd, write_fd, report_fd = (int(fd) for fd in fds.split(","))
    for fd in (read_fd, write_fd):
        os.set_inheritable(fd, False)
    batches = os.fdopen(read_fd, "rb")
    frames = ControlWriter(write_fd)

    def close_in_child():
        frames.fd = -1  # a frame written in the child fails (EBADF)
        for fd in (read_fd, write_fd):
            try:
                os.close(fd)
            except OSError:
                pass

    os.register_at_fork(after_in_child=close_in_child)
    return batches, frames, report_fd


def die_with_parent():
    """Linux: have the kernel kill this worker if the parent testr dies
    (even by SIGKILL), so a hung test cannot outlive the run."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the worker still ends when its batches pipe closes


def subunit_run_path() -> str:
    """``sys.argv[0]`` as under stestr's ``python -m subunit.run``: some
    suites assert on its basename (keystoneauth1's user-agent test expects
    ``run.py``).  Found without importing subunit, which the worker never
    needs; this worker's own path if subunit is not installed."""
    spec = importlib.util.find_spec("subunit")
    if spec is None or not spec.origin:
        return sys.argv[0]
    return os.path.join(os.path.dirname(spec.origin), "run.py")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    die_with_parent()
    top_dir = os.path.abspath(args.top_dir)
    sys.path.insert(0, top_dir)

    def load():
        if args.load_name:
            return load_named(args.load_name, top_dir)
        return discover(args.test_path, top_dir)

    if args.list:
        listing = private_stdout()  # what the suite prints goes to stderr
        tests, import_errors = load()
        if import_errors:
            sys.stderr.write("\n".join(import_errors) + "\n")
            return EXIT_LISTING_FAILED
        listing.write("".join(test_id + "\n" for test_id in tests).encode("utf-8"))
        listing.flush()
        return 0
    batches, out, report_fd = open_control(args.control)
    capture = OutputCapture(report_fd)
    # Tests see the command line of a plain runner, not the protocol's.
    sys.argv = [subunit_run_path()]
    if not args.send_ids:
        # Nobody needs this worker's listing: load the tests it is sent.
        protocol.write_ready(out, [], False)
        pending = batch_pending(batches)
        # A process started with its batch (a replacement, --isolated)
        # does not even walk the tree.
        if args.warm and not args.load_name and not pending():
            warm_up(test_module_names(args.test_path, top_dir), pending)
        find = LazyTests(load).find
    else:
        tests, import_errors = load()
        if import_errors:
            capture.forward()
            capture.report.write("\n".join(import_errors) + "\n")
            return EXIT_LISTING_FAILED
        protocol.write_ready(out, list(tests), args.send_ids)
        find = _popper(tests)
        tests = None
    serve(find, args.worker, args.timeout, read_batches(batches), out, capture)
    return 0


def _popper(tests):
    """``find`` over discovered tests: each is handed out (at most) once,
    and forgetting it lets it be freed once it has run."""
    def find(test_id):
        return tests.pop(test_id, None)
    return find


if __name__ == "__main__":
    sys.exit(main())
