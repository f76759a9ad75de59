"""The built-in Python worker: ``python -m testrepo.execution.worker``.

It discovers the suite once (unittest discovery from ``--test-path`` with
``--top-dir`` on ``sys.path``) and then either lists the test ids, one per
line (``--list``), or runs the ids named in ``--load-list FILE`` *in that
file's order* (so ``--random --seed`` and isolation bisection mean what they
say), writing subunit v2 to its standard output.

Tests that print would corrupt the stream, so the stream gets a private copy
of file descriptor 1 and fd 1 itself is pointed at stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
import unittest

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


def write_listing(tests, out):
    out.write("".join(test_id + "\n" for test_id in tests).encode("utf-8"))
    out.flush()


def run_tests(tests, test_ids, out):
    """Run ``test_ids`` in order, writing v2 to the binary file ``out``."""
    import subunit
    import testtools

    stream = subunit.StreamResultToBytes(out)
    result = testtools.ExtendedToStreamDecorator(stream)
    result.startTestRun()
    try:
        missing = [test_id for test_id in test_ids if test_id not in tests]
        for test_id in missing:
            stream.status(test_id=test_id, test_status="fail",
                          file_name="traceback", mime_type="text/plain;charset=utf8",
                          file_bytes=b"test id not found by discovery", eof=True)
        suite = unittest.TestSuite(tests[t] for t in test_ids if t in tests)
        suite.run(result)
    finally:
        result.stopTestRun()
        out.flush()


def read_ids(path):
    with open(path, encoding="utf-8") as id_file:
        return [line.strip() for line in id_file if line.strip()]


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m testrepo.execution.worker")
    parser.add_argument("--test-path", default=".")
    parser.add_argument("--top-dir", default=".")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--load-list")
    return parser.parse_args(argv)


def private_stdout():
    """A binary file on the original stdout; fd 1 now goes to stderr."""
    out = os.fdopen(os.dup(1), "wb")
    sys.stdout.flush()
    os.dup2(2, 1)
    return out


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    out = private_stdout()
    top_dir = os.path.abspath(args.top_dir)
    sys.path.insert(0, top_dir)
    tests, import_errors = discover(args.test_path, top_dir)
    if import_errors:
        sys.stderr.write("\n".join(import_errors) + "\n")
        return EXIT_LISTING_FAILED
    if args.list:
        write_listing(tests, out)
        return 0
    test_ids = read_ids(args.load_list) if args.load_list else list(tests)
    run_tests(tests, test_ids, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
