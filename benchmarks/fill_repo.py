"""Fill a testrepo repository with R synthetic runs of T tests, in-process.

Run with the Python that has the project installed (bench.py does that):

    python benchmarks/fill_repo.py PATH --runs 1000 --tests 20000 [--seed N]

It writes through the library API, not the CLI: ``open_repository(path)
.insert()`` gives an Inserter (a testtools StreamResult) that receives each
run's ``status()`` events.  Each run: T tests (ids of the trivial suite, so
``bench_trivial.test_m000.TestC0.test_000`` ...) spread over two workers
(tags ``worker-0``/``worker-1``, route codes ``0``/``1``), log-normal
durations stable per test id (+-10 % per run), a fixed 2 % skipped (with a
reason), a different 1 % failing each run (with a traceback attachment),
and consecutive runs an hour apart.  Prints one JSON line with the fill time.
"""

import argparse
import datetime
import json
import os
import random
import sys
import time

from gen_suites import trivial_id

UTC = datetime.timezone.utc
TEXT = "text/plain;charset=utf8"
TRACEBACK = ("Traceback (most recent call last):\n"
             '  File "bench_trivial/test_m000.py", line 7, in test_%s\n'
             "    self.assertEqual(expected, observed)\n"
             "AssertionError: 1 != 2 (synthetic failure of run %d)\n")


def fill(path, runs, tests, seed, job=0, jobs=1, progress=True):
    """Store runs number job, job + jobs, ... of `runs` (so that `jobs`
    processes can fill one repository together; the index's write lock
    serialises their commits).  Run r's content depends only on (seed, r)."""
    from testrepo.repository import initialise_repository, open_repository

    if os.path.exists(path):
        repo = open_repository(path)
    else:
        repo = initialise_repository(path)
    rng = random.Random(seed)
    ids = [trivial_id(i) for i in range(tests)]
    base = [rng.lognormvariate(-7.0, 1.2) for _ in range(tests)]   # median ~0.9 ms
    skipped = set(rng.sample(range(tests), tests // 50))
    tags = ({"worker-0"}, {"worker-1"})
    routes = ("0", "1")
    start = datetime.datetime(2026, 1, 1, tzinfo=UTC)
    hour = datetime.timedelta(hours=1)
    tick = datetime.timedelta(microseconds=20)
    td = datetime.timedelta
    per_run = []
    t_fill = time.perf_counter()
    mine = range(job, runs, jobs)
    for n, r in enumerate(mine):
        t_run = time.perf_counter()
        rng = random.Random(seed * 1000003 + r)
        failing = set(rng.sample(range(tests), tests // 100))
        clock = [start + r * hour, start + r * hour]
        inserter = repo.insert(metadata={"concurrency": "2", "synthetic": "benchmarks/fill_repo.py"})
        inserter.startTestRun()
        status = inserter.status
        uniform = rng.uniform
        for i, test_id in enumerate(ids):
            w = i & 1
            now = clock[w]
            status(test_id=test_id, test_status="inprogress", timestamp=now,
                   test_tags=tags[w], route_code=routes[w])
            if i in skipped:
                now += tick
                status(test_id=test_id, test_status="skip", timestamp=now, test_tags=tags[w],
                       route_code=routes[w], file_name="reason",
                       file_bytes=b"synthetic skip", mime_type=TEXT, eof=True)
            else:
                now += td(seconds=base[i] * uniform(0.9, 1.1))
                if i in failing:
                    status(test_id=test_id, test_status=None, timestamp=now, test_tags=tags[w],
                           route_code=routes[w], file_name="traceback",
                           file_bytes=(TRACEBACK % (i, r)).encode(), mime_type=TEXT, eof=True)
                    status(test_id=test_id, test_status="fail", timestamp=now,
                           test_tags=tags[w], route_code=routes[w])
                else:
                    status(test_id=test_id, test_status="success", timestamp=now,
                           test_tags=tags[w], route_code=routes[w])
            clock[w] = now + tick
        inserter.stopTestRun()
        per_run.append(time.perf_counter() - t_run)
        if progress and ((n + 1) % 50 == 0 or n + 1 == len(mine)):
            done = time.perf_counter() - t_fill
            sys.stderr.write("  fill %s [job %d/%d]: %d/%d runs, %.0f s, ~%.0f s left\n" % (
                path, job + 1, jobs, n + 1, len(mine), done, done / (n + 1) * (len(mine) - n - 1)))
            sys.stderr.flush()
    return {
        "fill_s": round(time.perf_counter() - t_fill, 2),
        "runs": len(mine),
        "tests": tests,
        "first_run_s": round(per_run[0], 3) if per_run else None,
        "last10_run_s": round(sum(per_run[-10:]) / max(1, len(per_run[-10:])), 3),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("path")
    p.add_argument("--runs", type=int, default=1000)
    p.add_argument("--tests", type=int, default=20000)
    p.add_argument("--seed", type=int, default=4)
    p.add_argument("--job", type=int, default=0, help="this process's share: runs JOB, JOB+JOBS, ...")
    p.add_argument("--jobs", type=int, default=1)
    args = p.parse_args(argv)
    print(json.dumps(fill(args.path, args.runs, args.tests, args.seed, args.job, args.jobs)))


if __name__ == "__main__":
    main()
