"""One build over many CI machines (doc/fleet.rst): which shard a run is
(``--shard K/N`` or the CI's variables, :mod:`testrepo.scheduler.shards`)
and cutting the selected ids down to it.  A shard's run stores
``shard=K/N`` and is partial: the failing set changes only for its tests."""

from __future__ import annotations

import os
from typing import List, Optional, Sequence

from testrepo import scheduler
from testrepo.scheduler import shards


def resolve_shard(shard_text: Optional[str], environ=None) -> Optional[shards.Shard]:
    """``--shard`` if given, else the CI's variables; None for one node."""
    if shard_text is not None:
        shard = shards.parse_shard(shard_text)
        return shard if shard.total > 1 else None
    return shards.from_environ(os.environ if environ is None else environ)


def cut_shard(context, selected: Sequence[str]) -> List[str]:
    """The part of ``selected`` that ``context.shard`` runs, said aloud;
    Bazel's status file is touched."""
    shard = context.shard
    shards.touch_status_file(shard)
    config = context.config
    group_of = scheduler.group_function(config.group_regex, config.parallel_class)
    durations = context.repo.durations(selected) if selected else {}
    chosen = shards.select_shard(selected, shard, durations, group_of)
    context.say(shards.describe(shard, chosen, selected, durations))
    return chosen
