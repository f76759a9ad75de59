"""How stored runs are described: rows for ``testr history list`` and the
heading of ``testr history show``. Pure: everything comes from the runs'
records (the index), no stream is read."""

from __future__ import annotations

import datetime
from typing import List, Mapping, Optional, Sequence, Tuple

COLUMNS = ("Run ID", "Passed", "Failed", "Skipped", "Runtime (s)", "Started (UTC)")
METADATA_COLUMN = "Metadata"


def started_text(started: Optional[str]) -> str:
    """``2024-05-01 12:00:00`` from a record's ISO 8601 UTC start, or ``-``."""
    if not started:
        return "-"
    try:
        moment = datetime.datetime.fromisoformat(started)
    except ValueError:
        return started
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def metadata_text(metadata: Mapping[str, str]) -> str:
    """``key=value`` pairs in key order, comma separated (``-`` if none)."""
    return ", ".join(f"{key}={metadata[key]}" for key in sorted(metadata)) or "-"


def rows(records: Sequence, show_metadata: bool = False) -> Tuple[Tuple[str, ...], List[tuple]]:
    """(columns, one row per run record) for a cliff Lister."""
    columns = COLUMNS + ((METADATA_COLUMN,) if show_metadata else ())
    table = []
    for record in records:
        row = (record.run_id, record.passed, record.failed, record.skipped,
               round(record.duration, 3), started_text(record.started))
        if show_metadata:
            row += (metadata_text(record.metadata),)
        table.append(row)
    return columns, table


def heading(record) -> str:
    """The line ``testr history show`` prints before the run's failures,
    e.g. ``Run 3 (partial): started 2024-05-01 12:00:00 UTC, 1.234 s``
    (the closing summary shows the counts and the metadata)."""
    kinds = [kind for kind, flag in (("partial", record.partial),
                                     ("interrupted", record.interrupted)) if flag]
    kind = f" ({', '.join(kinds)})" if kinds else ""
    when = f"started {started_text(record.started)} UTC" if record.started else "no timestamps"
    return f"Run {record.run_id}{kind}: {when}, {record.duration:.3f} s\n"
