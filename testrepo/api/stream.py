"""Feeding a run's events through a fresh pipeline into the repository and
reporting them: shared by ``run``, ``load`` and ``run --pdb``."""

from __future__ import annotations

import time

from testrepo.api.project import RunOutcome
from testrepo.errors import EXIT_INTERRUPTED, EXIT_SUCCESS, EXIT_TESTS_FAILED
from testrepo.reports import trace


def stream_run(inserter, output, out, feed) -> RunOutcome:
    """Feed events through a fresh pipeline into the repository and report.

    Ctrl-C stores what ran as an interrupted run and returns exit 130.
    """
    from testrepo.results.pipeline import Pipeline, TolerantOutput

    subunit_out = None
    if output.subunit:
        out.flush()
        subunit_out = getattr(out, "buffer", out)
    else:
        out = TolerantOutput(out)
    pipeline = Pipeline(inserter, out, show_passes=not output.quiet,
                        color=bool(output.color), subunit_out=subunit_out,
                        abbreviate=output.abbreviate, attachments=output.attachments,
                        progress=output.progress)
    started = time.monotonic()
    pipeline.result.startTestRun()
    interrupted = False
    try:
        feed(pipeline)
    except KeyboardInterrupt:
        interrupted = True
        inserter.mark_interrupted()
        if subunit_out is None:
            pipeline.interrupted(time.monotonic())
    finally:
        pipeline.result.stopTestRun()
    record = inserter.record
    if subunit_out is not None:
        subunit_out.flush()
    else:
        if record.total == 0:
            out.write("No tests were run.\n")
        trace.write_summary(out, record, time.monotonic() - started, pipeline.balance)
    return RunOutcome(inserter.run_id, record, run_exit_code(record, interrupted))


def run_exit_code(record, interrupted: bool = False) -> int:
    """130 if interrupted; 1 if anything failed or nothing ran at all (a
    gate must not pass on an empty run); else 0."""
    if interrupted:
        return EXIT_INTERRUPTED
    if record.failed or record.total == 0:
        return EXIT_TESTS_FAILED
    return EXIT_SUCCESS
