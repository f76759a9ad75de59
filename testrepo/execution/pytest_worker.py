"""The pytest worker: ``python -m testrepo.execution.pytest_worker``.

The same kind of process as :mod:`testrepo.execution.worker`, speaking the
same protocol on the same pipes (``--control R,W,E``), so the pool, the
queue, the results pipeline and the repository treat both alike: worker 0
(``--send-ids``) collects the suite and sends the listing, every worker
then runs the batches of node ids it is handed.  The worker is one pytest
session (``pytest.main``) driven by :class:`WorkerPlugin`
(:mod:`testrepo.execution.pytest_session`), which collects lazily in the
other workers.

``--pytest-args`` (JSON) are pytest's own arguments: the configured
``test_path`` and what followed ``--`` on testr's command line.  With
``--timeout S`` faulthandler dumps every thread's stack and ends the
worker if one test (setup, call and teardown) takes longer than S seconds.

Imported only when a project's runner is pytest: unittest users never
import pytest.
"""

from __future__ import annotations

import argparse
import json
import sys

from testrepo.execution import worker as unittest_worker

# pytest missing, or the session ended before it listed or served.
EXIT_NOT_STARTED = 3


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m testrepo.execution.pytest_worker")
    parser.add_argument("--pytest-args", default="[]", metavar="JSON",
                        help="pytest's own arguments, as a JSON list.")
    parser.add_argument("--randomly-seed", type=int, default=None, metavar="N",
                        help="The run's seed for pytest-randomly, the same in every "
                             "worker (unless the pytest arguments choose one).")
    parser.add_argument("--fork-slots", default=None, metavar="I:R,W,E,O,X;...",
                        help="With --send-ids: the workers to fork once the suite is "
                             "collected, each with its descriptors.")
    unittest_worker.add_protocol_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    pytest_args = json.loads(args.pytest_args)
    unittest_worker.die_with_parent()
    try:
        import pytest
    except ImportError as err:
        sys.stderr.write(f"runner = pytest, but pytest cannot be imported by "
                         f"{sys.executable} ({err}); pip install 'testrepo[pytest]'\n")
        return EXIT_NOT_STARTED
    from testrepo.execution.pytest_fork import parse_slots
    from testrepo.execution.pytest_session import Channel, SharedSeed, WorkerPlugin

    seeds = [] if args.randomly_seed is None else [SharedSeed(args.randomly_seed)]
    if args.list:
        listing = unittest_worker.private_stdout()
        plugin = WorkerPlugin(listing=listing, report=sys.stderr)
        return _exit_code(plugin, pytest.main(pytest_args, plugins=[plugin, *seeds]))
    channel = Channel(args.control, args.worker, args.timeout)
    # Tests see the command line of a plain runner, not the protocol's.
    sys.argv = sys.argv[:1]
    plugin = WorkerPlugin(channel, send_ids=args.send_ids, timeout=args.timeout,
                          slots=parse_slots(args.fork_slots) if args.send_ids else ())
    code = _exit_code(plugin, pytest.main(pytest_args, plugins=[plugin, *seeds]))
    plugin.channel.capture.forward()  # a forked worker's own channel
    return code


def _exit_code(plugin, pytest_code) -> int:
    """Ours once the session served (or listed); pytest's if it ended
    before that (a usage error, a conftest that cannot be imported)."""
    if plugin.served:
        return plugin.exit_code
    return int(pytest_code) or EXIT_NOT_STARTED


if __name__ == "__main__":
    sys.exit(main())
