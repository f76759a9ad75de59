"""One pytest test's reports (setup, call, teardown) → one subunit status,
its details and its captured output.  The mapping, the same everywhere
(doc/pytest.rst, "Outcomes")::

    passed                         -> success
    failed in any phase            -> fail   (an error in setup or teardown too)
    skipped                        -> skip   (detail "reason")
    xfail                          -> xfail  (details "reason", "traceback")
    xpass (not strict)             -> uxsuccess (counts as a failure, as in subunit)
    xpass (strict)                 -> fail   (pytest itself fails it)

Pure: takes pytest's report objects, imports nothing of pytest.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

# Worst first: the status of a test is the worst of its phases'.
_RANK = {"fail": 0, "uxsuccess": 1, "xfail": 2, "skip": 3, "success": 4}


def outcome_of(reports: Sequence) -> Tuple[str, List[Tuple[str, str]], List[Tuple[str, bytes]]]:
    """(status, details as (name, text), captured output as (name, bytes))."""
    status = "success"
    failures, details = [], []
    for report in reports:
        phase_status = _phase_status(report)
        if phase_status == "fail":
            failures.append(_failure_text(report))
        elif phase_status in ("skip", "xfail"):
            details.append(("reason", _reason(report)))
            if phase_status == "xfail" and report.longreprtext:
                details.append(("traceback", report.longreprtext))
        if _RANK[phase_status] < _RANK[status]:
            status = phase_status
    if failures:
        details = [("traceback", "\n\n".join(failures))]
    return status, details, _captured(reports)


def _phase_status(report) -> str:
    if report.failed:
        return "fail"
    if report.skipped:
        return "xfail" if hasattr(report, "wasxfail") else "skip"
    if report.passed and hasattr(report, "wasxfail"):
        return "uxsuccess"
    return "success"  # passed, or a plugin's own outcome (rerun)


def _failure_text(report) -> str:
    text = report.longreprtext
    if report.when != "call":
        return f"[error in {report.when}]\n{text}"
    return text


def _reason(report) -> str:
    if hasattr(report, "wasxfail"):
        return report.wasxfail or "expected to fail"
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
        return reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason
    return str(longrepr)


def _captured(reports: Sequence) -> List[Tuple[str, bytes]]:
    """What pytest captured (its sections accumulate: the last report
    holds every phase's)."""
    if not reports:
        return []
    last = reports[-1]
    return [(name, text.encode("utf-8", "replace"))
            for name, text in (("stdout", last.capstdout), ("stderr", last.capstderr),
                               ("log", last.caplog)) if text]
