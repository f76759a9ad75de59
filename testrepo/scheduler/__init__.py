"""Deciding which worker runs which test.

:mod:`testrepo.scheduler.static` splits the selected test ids up front, from
recorded durations.
"""

from testrepo.scheduler.static import (
    group_function,
    partition,
    shuffle_within,
    strip_tags,
)

__all__ = ["group_function", "partition", "shuffle_within", "strip_tags"]
