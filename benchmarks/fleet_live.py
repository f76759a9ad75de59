"""The fleet section, live: N local nodes run one build of a sleep-based
skewed suite with ``testr run --queue`` against a real PostgreSQL.

    python benchmarks/fleet_live.py --postgresql-url URL [--nodes 4] [--workers 2]
        [--sum 240] [--start-skew 0] [--kill-at 0.5] [--ttl 10] [--out DIR]

The suite is ``gen_suites``' ``skewed`` kind (about 400 tests, a Pareto
body and three planted long tests) with ``--sum`` seconds in all; its
history is imported into a fresh database (``import_durations``), as a
fleet with a shared repository has it.  Each node runs in its own copy of
the suite; node i starts ``i * --start-skew`` s after the first.  With
``--kill-at F`` node 0 is SIGKILLed (its testr and its workers) F of the
lower bound after the start.

Reported from the merged run's stream (events tagged ``node-N``): the
makespan (first node start to last test end), the lower bound
``max(sum / (nodes * workers), longest)``, their ratio, each node's last
test end and the spread between nodes, and every node's wall time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gen_suites  # noqa: E402


def fresh_database(admin_url: str) -> str:
    import sqlalchemy as sa

    name = "fleet_%s" % uuid.uuid4().hex[:10]
    admin = sa.engine.make_url(admin_url).set(drivername="postgresql+psycopg")
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql('CREATE DATABASE "%s"' % name)
    engine.dispose()
    return admin.set(database=name, drivername="postgresql").render_as_string(
        hide_password=False)


def prepare(args):
    suites = os.path.join(args.out, "suites")
    suite = gen_suites.ensure_suite("fleet_skewed",
                                    gen_suites.suite_params("skewed", sum_s=args.sum), suites)
    url = fresh_database(args.postgresql_url)
    from testrepo import repository

    repo = repository.initialise_repository(url)
    repo.import_durations(suite.manifest["durations"])
    repo.close()
    nodes = []
    for index in range(args.nodes):
        node = os.path.join(args.out, "work", f"node-{index}")
        shutil.rmtree(node, ignore_errors=True)
        shutil.copytree(suite.root, node)
        with open(os.path.join(node, ".stestr.conf"), "w") as conf:
            conf.write(f"[DEFAULT]\ntest_path=./{suite.package}\ntop_dir=./\n")
        nodes.append(node)
    return suite, url, nodes


def kill_node(node_dir: str, process) -> None:
    """SIGKILL a node's testr and its workers (each in its own session)."""
    os.killpg(process.pid, signal.SIGKILL)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/cwd") == node_dir:
                os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass


def run_build(args, suite, url, nodes):
    lower = gen_suites.lower_bound(suite.manifest["costs"], args.nodes * args.workers)
    logs, procs, starts, walls = [], [], [], []
    began = time.time()
    for index, node in enumerate(nodes):
        delay = began + index * args.start_skew - time.time()
        if delay > 0:
            time.sleep(delay)
        log = open(os.path.join(args.out, f"node-{index}.log"), "w")
        starts.append(time.time())
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "testrepo", "-r", url, "run", "-q", "--queue", "build",
             "--lease-ttl", str(args.ttl), "-j", str(args.workers)], cwd=node, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True))
        logs.append(log)
    if args.kill_at is not None:
        time.sleep(max(0.0, began + args.kill_at * lower - time.time()))
        kill_node(nodes[0], procs[0])
    for index, proc in enumerate(procs):
        proc.wait()
        walls.append(time.time() - starts[index])
        logs[index].close()
    return lower, began, walls, [proc.returncode for proc in procs]


def node_ends(url):
    """Each node's last test end (epoch) and the build's test count."""
    from testrepo import repository, subunit_v2

    repo = repository.open_repository(url)
    run = repo.get_run(repo.latest_id())
    ends, first = {}, float("inf")
    with run.stream() as stream:
        for event in subunit_v2.iter_events(stream.read()):
            if event.test_id and event.status and event.timestamp:
                node = next((t for t in event.tags or () if t.startswith("node-")), "?")
                ends[node] = max(ends.get(node, 0.0), event.timestamp)
                first = min(first, event.timestamp)
    record = run.record
    repo.close()
    return ends, first, record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgresql-url", required=True)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sum", type=float, default=240.0)
    parser.add_argument("--start-skew", type=float, default=0.0)
    parser.add_argument("--kill-at", type=float, default=None)
    parser.add_argument("--ttl", type=float, default=10.0)
    parser.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "testrepo-fleet"))
    args = parser.parse_args(argv)
    suite, url, nodes = prepare(args)
    lower, began, walls, codes = run_build(args, suite, url, nodes)
    ends, first, record = node_ends(url)
    makespan = max(ends.values()) - began
    spread = max(ends.values()) - min(ends.values())
    skew = (args.nodes - 1) * args.start_skew
    print(f"{args.nodes} nodes x {args.workers} workers, {suite.n_tests} tests, "
          f"sum {args.sum:.0f} s, longest {suite.manifest['longest_unit_s']:.1f} s, "
          f"start skew {skew:.0f} s, kill at {args.kill_at}, TTL {args.ttl:.0f} s")
    print(f"build run {record.run_id}: {record.total} results, {record.failed} failed; "
          f"exit codes {codes}")
    print(f"lower bound {lower:.1f} s; makespan {makespan:.1f} s = "
          f"{makespan / lower:.3f} x lower bound ({(makespan - skew) / lower:.3f} without "
          f"the start skew)")
    startup = first - began
    print(f"start-up (first node start to first test event) {startup:.1f} s; makespan "
          f"without it {(makespan - startup) / lower:.3f} x lower bound")
    print("last test end per node (s after start): " + ", ".join(
        f"{node} {end - began:.1f}" for node, end in sorted(ends.items())))
    print(f"finish spread {spread:.1f} s; node wall times: "
          + ", ".join(f"{wall:.1f}" for wall in walls))
    return 0 if record.total == suite.n_tests and record.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
