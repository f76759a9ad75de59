"""A build's queue in the PostgreSQL repository (``testr run --queue``):
the rows every node leases its tests from.

Three tables, created on first use beside the repository's own (they
hold only builds in progress, so the repository's schema version is not
involved):

* ``testrepo_queue_builds``: one row per build key in progress; its
  ``state`` is ``running``, then ``merging`` once one node (``merger``)
  has been chosen to make the nodes' runs into one; the merger holds
  that job as a lease too (``merge_expires``, renewed with its
  heartbeat): if it dies, a node still waiting for the build, or the
  next ``testr last``, takes the merge over; ``lease_ttl`` is the planning
  node's ``--lease-ttl``, which every node of the build uses;
* ``testrepo_queue_items``: the build's items (:mod:`testrepo.scheduler.
  build_queue`), each ``todo``, ``leased`` (being run by ``owner`` until
  ``expires``), ``ran`` (run, results not stored yet) or ``done`` (stored
  in the owner's node run); ``leases`` counts how often it was leased;
* ``testrepo_queue_nodes``: the nodes that joined, their worker count,
  when they were last ``seen`` and the run each stored.

Leases are ``SELECT ... FOR UPDATE SKIP LOCKED``: nodes never wait for
each other's transactions.  A node renews its leases (``heartbeat``); the
items of a node silent for the TTL are leased again by the others, so
every item runs at least once, and one leased twice is counted
(``leases``) so that the merged run can say which results are
duplicates.  The build's rows are deleted when it has been merged.

A node with nothing to do but wait (for the other nodes' leases to end,
for the merge) sleeps until a poll has passed or another node announces
news on the build's channel (``NOTIFY``): the build's last item run,
items given back to the queue, the build merged.  Only those, so that a
hundred waiting nodes are woken a few times per build, not per lease; the
poll still finds what no node announces (a lease that lapsed, a merger
that died).  The waiting uses a pooled connection, so it costs no
connection of its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import threading
import time
from typing import Callable, List, Optional, Sequence, Tuple

import sqlalchemy as sa

from testrepo.errors import UsageError
from testrepo.repository.sql_schema import run_metadata
from testrepo.scheduler import build_queue
from testrepo.scheduler.build_queue import Item

_TABLES = (
    """CREATE TABLE IF NOT EXISTS testrepo_queue_builds (
        build_key TEXT PRIMARY KEY, state TEXT NOT NULL,
        created TIMESTAMPTZ NOT NULL DEFAULT now())""",
    """CREATE TABLE IF NOT EXISTS testrepo_queue_items (
        build_key TEXT NOT NULL REFERENCES testrepo_queue_builds ON DELETE CASCADE,
        position INTEGER NOT NULL, test_ids TEXT NOT NULL,
        estimate DOUBLE PRECISION NOT NULL, timed BOOLEAN NOT NULL,
        state TEXT NOT NULL DEFAULT 'todo', owner TEXT, expires TIMESTAMPTZ,
        leases INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (build_key, position))""",
    """CREATE TABLE IF NOT EXISTS testrepo_queue_nodes (
        build_key TEXT NOT NULL REFERENCES testrepo_queue_builds ON DELETE CASCADE,
        node TEXT NOT NULL, workers INTEGER NOT NULL, seen TIMESTAMPTZ NOT NULL,
        finished BOOLEAN NOT NULL DEFAULT false, run_id INTEGER,
        PRIMARY KEY (build_key, node))""",
    # The merge's columns came after the first release of the queue; an
    # ALTER TABLE takes the table's exclusive lock, so only when missing.
    """DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attname = 'merger'
        AND attrelid = 'testrepo_queue_builds'::regclass) THEN
        ALTER TABLE testrepo_queue_builds ADD COLUMN merger TEXT,
        ADD COLUMN merge_expires TIMESTAMPTZ, ADD COLUMN partial BOOLEAN; END IF; END $$""",
    # The build's lease TTL (its planning node's), so that every node
    # lapses, polls and presumes others dead by one clock.
    """DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attname = 'lease_ttl'
        AND attrelid = 'testrepo_queue_builds'::regclass) THEN
        ALTER TABLE testrepo_queue_builds ADD COLUMN lease_ttl DOUBLE PRECISION; END IF; END $$""",
)
# One advisory lock key for creating the tables (two nodes' first joins).
_CREATE_LOCK_KEY = 0x7465737471  # "testq"
# An item is leasable when nobody holds it, or its holder fell silent.
_LEASABLE = "(state = 'todo' OR (state IN ('leased', 'ran') AND expires < now()))"
# Builds no node has been seen in for this long are abandoned: deleted.
_ABANDONED = "interval '1 day'"


@dataclasses.dataclass(frozen=True)
class Joined:
    """What joining a build found: ``planned`` if this node made its
    queue, ``items`` how many it holds, ``state`` the build's state
    (``running``; ``merging``: it is over), ``run_id`` the build's run if
    it is complete already."""

    planned: bool
    items: int
    state: str
    run_id: Optional[int] = None
    ttl: Optional[float] = None


@dataclasses.dataclass(frozen=True)
class Finish:
    """A finished node's answer: ``merge`` the node runs ``run_ids`` (it is
    the last, or takes the merge over from ``taken_from``, a merger that
    fell silent; ``merged`` is the build's run if that one stored it
    already; ``lost`` names tests nobody stored), ``wait`` for other nodes
    still running or merging, or ``leave`` (the build is merged)."""

    action: str
    run_ids: Tuple[int, ...] = ()
    lost: Tuple[str, ...] = ()
    duplicates: Tuple[str, ...] = ()
    merged: Optional[int] = None
    taken_from: Optional[str] = None
    partial: bool = False
    counted: bool = False  # wait: this node's run is among those to merge


class BuildQueue:
    """One node's view of build ``key`` in the repository's database."""

    def __init__(self, db, key: str, node: str, lease_ttl: float):
        if db.sqlite:
            raise UsageError(
                f"--queue needs a PostgreSQL repository (its SKIP LOCKED leases); "
                f"{db.shown} is SQLite. Use --shard K/N, or --repo-url postgresql://...")
        self._db, self.key, self.node, self.ttl = db, key, node, float(lease_ttl)
        # A node's transactions run one at a time: its heartbeat thread's
        # renewal locks the rows its main thread's finish or forget locks,
        # in another order, and PostgreSQL aborted one of them as a deadlock.
        self._one_at_a_time = threading.Lock()

    @contextlib.contextmanager
    def _transaction(self):
        """One transaction, errors as RepositoryErrors.  Not the
        repository's write lock: leases must not wait for runs being
        stored."""
        with self._one_at_a_time, self._db._translated():
            with self._db.engine.begin() as conn:
                yield conn

    def _run(self, conn, sql: str, **params):
        return conn.execute(sa.text(sql), dict(key=self.key, node=self.node, ttl=self.ttl,
                                               **params))

    def join(self, make_items: Callable[[], Sequence[Item]], workers: int,
             partial: bool = False) -> Joined:
        """Join the build, planning its queue if this node is the first
        (``partial``: the build's run will be partial, not the whole suite)."""
        with self._transaction() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:lock)"),
                         {"lock": _CREATE_LOCK_KEY})
            for statement in _TABLES:
                conn.execute(sa.text(statement))
        with self._transaction() as conn:
            self._forget_abandoned(conn)
            state = self._run(conn, "SELECT state FROM testrepo_queue_builds "
                              "WHERE build_key = :key").scalar()
            if state is None and (run_id := self._complete_run(conn)) is not None:
                return Joined(False, 0, "complete", run_id)
            planned = self._run(conn, "INSERT INTO testrepo_queue_builds (build_key, state, "
                                "partial, lease_ttl) VALUES (:key, 'running', :partial, :ttl) "
                                "ON CONFLICT DO NOTHING RETURNING build_key", partial=partial
                                ).first() is not None
            if planned:
                self._insert_items(conn, make_items())
            state, ttl = self._run(conn, "SELECT state, lease_ttl FROM testrepo_queue_builds "
                                   "WHERE build_key = :key FOR SHARE").one()
            # The planning node's TTL governs (a build planned before the
            # column existed has none: then this node's own).
            self.ttl = float(ttl) if ttl is not None else self.ttl
            self._run(conn, "INSERT INTO testrepo_queue_nodes (build_key, node, workers, seen) "
                      "VALUES (:key, :node, :workers, now()) ON CONFLICT (build_key, node) "
                      "DO UPDATE SET seen = now(), workers = :workers", workers=workers)
            count = self._run(conn, "SELECT count(*) FROM testrepo_queue_items "
                              "WHERE build_key = :key").scalar()
        return Joined(planned, count, state, ttl=self.ttl)

    def _forget_abandoned(self, conn) -> None:
        self._run(conn, "DELETE FROM testrepo_queue_builds b WHERE b.created < now() - "
                  f"{_ABANDONED} AND NOT EXISTS (SELECT 1 FROM testrepo_queue_nodes n WHERE "
                  f"n.build_key = b.build_key AND n.seen > now() - {_ABANDONED})")

    def _complete_run(self, conn) -> Optional[int]:
        """The merged run of this key, if the build is over already."""
        node_runs = sa.select(run_metadata.c.run_id).where(run_metadata.c.key == "queue_node")
        return conn.execute(sa.select(sa.func.max(run_metadata.c.run_id)).where(
            run_metadata.c.key == "queue", run_metadata.c.value == self.key,
            run_metadata.c.run_id.not_in(node_runs))).scalar()

    def _insert_items(self, conn, items: Sequence[Item]) -> None:
        if items:
            self._run(conn, "INSERT INTO testrepo_queue_items (build_key, position, test_ids, "
                      "estimate, timed) SELECT :key, * FROM unnest(CAST(:positions AS int[]), "
                      "CAST(:ids AS text[]), CAST(:estimates AS float8[]), "
                      "CAST(:timed AS boolean[]))",
                      positions=[item.position for item in items],
                      ids=["\n".join(item.test_ids) for item in items],
                      estimates=[item.estimate for item in items],
                      timed=[item.timed for item in items])

    def lease(self, ran: Sequence[int]) -> Tuple[List[Item], int]:
        """Mark the items ``ran`` (positions) as run, and lease the next
        batch; also how many items are still todo or leased anywhere."""
        with self._transaction() as conn:
            if ran:
                self._run(conn, "UPDATE testrepo_queue_items SET state = 'ran' WHERE "
                          "build_key = :key AND owner = :node AND state = 'leased' AND "
                          "position = ANY(:ran)", ran=list(ran))
            self._run(conn, "UPDATE testrepo_queue_nodes SET seen = now() WHERE "
                      "build_key = :key AND node = :node")
            remaining, longest = self._run(
                conn, f"SELECT coalesce(sum(estimate) FILTER (WHERE {_LEASABLE}), 0), "
                "coalesce(max(estimate), 0) FROM testrepo_queue_items WHERE build_key = :key"
            ).one()
            workers = self._run(conn, "SELECT coalesce(sum(workers), 1) FROM "
                                "testrepo_queue_nodes WHERE build_key = :key AND NOT finished "
                                "AND seen > now() - make_interval(secs => :ttl)").scalar()
            target = build_queue.lease_target(remaining, workers, longest)
            taken = self._lock_front(conn, target)
            if taken:
                self._run(conn, "UPDATE testrepo_queue_items SET state = 'leased', owner = :node, "
                          "expires = now() + make_interval(secs => :ttl), leases = leases + 1 "
                          "WHERE build_key = :key AND position = ANY(:taken)",
                          taken=[row[0] for row in taken])
            outstanding = self._run(conn, "SELECT count(*) FROM testrepo_queue_items WHERE "
                                    "build_key = :key AND state IN ('todo', 'leased')").scalar()
            if ran and not outstanding:
                self._notify(conn)  # the build's last work is run: waiting nodes end
        return [Item(row[0], tuple(row[1].split("\n")), row[2], row[3]) for row in taken], \
            outstanding

    def _lock_front(self, conn, target: float):
        """The rows of the next lease, locked.  How many is worked out from
        the front unlocked, then only that many are locked (SKIP LOCKED):
        locking the whole front would leave a node leasing at the same
        moment with nothing, and its worker idle for a poll."""
        front = self._run(conn, "SELECT estimate, timed FROM testrepo_queue_items WHERE "
                          f"build_key = :key AND {_LEASABLE} ORDER BY position LIMIT 400").all()
        count = build_queue.lease_count([tuple(row) for row in front], target)
        if not count:
            return []
        rows = self._run(conn, "SELECT position, test_ids, estimate, timed FROM "
                         f"testrepo_queue_items WHERE build_key = :key AND {_LEASABLE} "
                         "ORDER BY position LIMIT :count FOR UPDATE SKIP LOCKED",
                         count=count).all()
        # Other nodes may hold the front: these rows are further back.
        return rows[:build_queue.lease_count([(row[2], row[3]) for row in rows], target)]

    def heartbeat(self) -> None:
        """This node is alive: its leases last another TTL."""
        with self._transaction() as conn:
            # The build's row first, as finish and forget lock it: one order
            # of locks for every transaction that takes it.
            self._run(conn, "UPDATE testrepo_queue_builds SET merge_expires = now() + "
                      "make_interval(secs => :ttl) WHERE build_key = :key AND merger = :node")
            self._run(conn, "UPDATE testrepo_queue_items SET expires = now() + "
                      "make_interval(secs => :ttl) WHERE build_key = :key AND owner = :node "
                      "AND state IN ('leased', 'ran')")
            self._run(conn, "UPDATE testrepo_queue_nodes SET seen = now() WHERE "
                      "build_key = :key AND node = :node")

    def finish(self, run_id: Optional[int], whole: bool = True) -> Finish:
        """This node stored its run ``run_id``: its items are done (leased
        ones it never ran go back; all go back unless the run is
        ``whole``: one recovered from a killed node's spool may lack its
        last results); merge if every other node is finished or silent
        for the TTL.  While another node merges, wait; take the merge over
        if that node falls silent for the TTL."""
        with self._transaction() as conn:
            build = self._run(conn, "SELECT state, merger, merge_expires IS NULL OR "
                              "merge_expires < now() FROM testrepo_queue_builds WHERE "
                              "build_key = :key FOR UPDATE").first()
            if build is None:
                # Merged already (or abandoned): a node presumed dead that
                # stored its run since joins that run (``merged``).
                return Finish("leave", merged=self._complete_run(conn))
            if build[0] != "running":
                return self._take_over(conn, build[1]) if build[2] else Finish("wait")
            self._run(conn, "UPDATE testrepo_queue_items SET state = 'done' WHERE "
                      "build_key = :key AND owner = :node AND state = 'ran' AND :whole",
                      whole=whole)
            if self._run(conn, "UPDATE testrepo_queue_items SET state = 'todo', owner = NULL "
                         "WHERE build_key = :key AND owner = :node AND state IN "
                         "('leased', 'ran')").rowcount:
                self._notify(conn)  # work for the waiting nodes
            self._run(conn, "UPDATE testrepo_queue_nodes SET finished = true, run_id = :run, "
                      "seen = now() WHERE build_key = :key AND node = :node", run=run_id)
            running = self._run(conn, "SELECT count(*) FROM testrepo_queue_nodes WHERE "
                                "build_key = :key AND NOT finished AND seen > now() - "
                                "make_interval(secs => :ttl)").scalar()
            if running:
                return Finish("wait", counted=True)
            return self._take_over(conn, None)

    def take_over_merge(self) -> Optional[Finish]:
        """The merge of this build, if its merger fell silent for its TTL
        (``testr last`` finishing a build nobody waits for); else None."""
        with self._transaction() as conn:
            build = self._run(conn, "SELECT merger FROM testrepo_queue_builds WHERE "
                              "build_key = :key AND state = 'merging' AND (merge_expires IS "
                              "NULL OR merge_expires < now()) FOR UPDATE SKIP LOCKED").first()
            return None if build is None else self._take_over(conn, build[0])

    def _take_over(self, conn, previous: Optional[str]) -> Finish:
        """This node merges (``previous``: the merger it replaces)."""
        self._run(conn, "UPDATE testrepo_queue_builds SET state = 'merging', merger = :node, "
                  "merge_expires = now() + make_interval(secs => :ttl) WHERE build_key = :key")
        run_ids = self._run(conn, "SELECT run_id FROM testrepo_queue_nodes WHERE "
                            "build_key = :key AND finished AND run_id IS NOT NULL "
                            "ORDER BY run_id").scalars().all()
        lost = self._run(conn, "SELECT test_ids FROM testrepo_queue_items WHERE "
                         "build_key = :key AND state <> 'done' ORDER BY position"
                         ).scalars().all()
        twice = self._run(conn, "SELECT test_ids FROM testrepo_queue_items WHERE "
                          "build_key = :key AND leases > 1 ORDER BY position").scalars().all()
        partial = self._run(conn, "SELECT coalesce(partial, false) FROM testrepo_queue_builds "
                            "WHERE build_key = :key").scalar()
        return Finish("merge", tuple(run_ids), _ids(lost), _ids(twice),
                      self._complete_run(conn), previous, bool(partial))

    @staticmethod
    def orphaned_merges(db) -> List[str]:
        """The keys of builds whose merger fell silent for its TTL (none
        if no build ever used the queue here)."""
        with db._translated():
            with db.engine.begin() as conn:
                if conn.execute(sa.text("SELECT to_regclass('testrepo_queue_builds')")
                                ).scalar() is None:
                    return []
                return list(conn.execute(sa.text(
                    "SELECT build_key FROM testrepo_queue_builds WHERE state = 'merging' AND "
                    "(merge_expires IS NULL OR merge_expires < now()) ORDER BY created")
                ).scalars())

    @contextlib.contextmanager
    def late_join_lock(self):
        """Held while a late node's run is appended to the build's run: two
        late nodes must not each append to the run as it was before the
        other's append (a session lock on a connection of its own)."""
        with self._db._translated():
            with self._db.engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(hashtext(:name))"),
                             {"name": "testrepo-late-join:" + self.key})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:name))"),
                                 {"name": "testrepo-late-join:" + self.key})
                    conn.commit()

    def forget(self) -> None:
        """The build is merged: its rows go."""
        with self._transaction() as conn:
            self._run(conn, "DELETE FROM testrepo_queue_builds WHERE build_key = :key")
            self._notify(conn)

    def _notify(self, conn) -> None:
        """Wake the build's waiting nodes (at this transaction's commit)."""
        self._run(conn, "SELECT pg_notify(:channel, '')", channel=self._channel())

    def _channel(self) -> str:
        # A build key is any string; a channel name is an identifier.
        return "testrepo_queue_" + hashlib.sha1(self.key.encode()).hexdigest()[:24]

    def wait_for_news(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, less if another node of the build
        announces news meanwhile (the module docstring): True if it did.
        If the database cannot be used, just sleep (the caller's next
        transaction reports the failure)."""
        started = time.monotonic()
        try:
            with self._db.engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql(f'LISTEN "{self._channel()}"')
                driver = conn.connection.driver_connection
                woken = any(True for _ in driver.notifies(timeout=seconds, stop_after=1))
                conn.exec_driver_sql("UNLISTEN *")  # before the pool lends it out
                return woken
        except (sa.exc.SQLAlchemyError, OSError, self._db.engine.dialect.loaded_dbapi.Error):
            time.sleep(max(0.0, seconds - (time.monotonic() - started)))
            return False


def _ids(joined_lists) -> Tuple[str, ...]:
    return tuple(test_id for joined in joined_lists for test_id in joined.split("\n"))
