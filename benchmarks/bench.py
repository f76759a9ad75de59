#!/usr/bin/env python3
"""Benchmarks for testrepo: the targets of issue 4, side by side with stestr,
testrepository and pytest-xdist.

    python benchmarks/bench.py [--reps 3] [--anchors /tmp/anchors]
                               [--only trivial,skewed,grouped,repo,memory,backends]
                               [--postgresql-url URL] [--out DIR]

Run it with the Python of the virtualenv the project is installed in (the
project's `testr` is taken from next to that Python, else from PATH, or from
--testr).  Standard library only.  The comparison tools come from a separate
virtualenv given with --anchors (never the project's):

    python3 -m venv /tmp/anchors
    /tmp/anchors/bin/pip install stestr testrepository pytest pytest-xdist

Sections (--only):
  trivial  20,000 `pass` tests: testrepo run 1 (empty repository) and run 2
           (on that history), serial `python -m unittest discover`, and with
           --anchors stestr, testrepository (runs 1 and 2) and pytest -n (run 1)
  skewed   ~400 tests sleeping heavy-tailed durations (sum --skewed-sum,
           60 s): makespan ratio = wall / max(sum / workers, longest)
  grouped  the skewed layout with setUpClass sleeps, group_regex by class
  repo     a repository of --repo-runs runs x --repo-tests tests, filled
           through the library API: last, failing, slowest, stats,
           history list vs a 1-run repository; `testr run` start-up on a
           10-test suite and `testr load` of one run, full vs empty repository
  memory   peak RSS of the `testr` parent process on a 100,000-test suite
  backends the trivial suite run twice into each repository backend: a
           directory, a SQLite file and, with --postgresql-url (a server
           URL whose user may create databases), PostgreSQL; then the read
           commands on those two runs

Tools interleave within each repetition (their order rotates from one
repetition to the next) so machine noise spreads over all of them.  Every
run's exit code and test counts are checked; a broken run is reported as
broken and left out of the medians.  The markdown report goes to stdout and
to DIR/report-latest.md; one JSON line per measurement to
DIR/results-<time>.jsonl; logs of every command under DIR/logs/.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gen_suites  # noqa: E402
import runproc  # noqa: E402
import toolset  # noqa: E402

SECTIONS = ("trivial", "skewed", "grouped", "repo", "memory", "backends")
# The `skewed` section's suites: the same durations with the longest test
# listed in the middle, at 90 % of the listing, and last.
SKEWED_SHAPES = ("skewed", "skewed_late", "skewed_last")
SUITES = ("trivial",) + SKEWED_SHAPES + ("grouped",)
BACKENDS = ("file", "sqlite", "postgresql")
# Run with the testrepo virtualenv's Python (which has SQLAlchemy): a fresh
# database for each repetition of the `backends` section.
RECREATE_DATABASE = """
import sys, sqlalchemy as sa
url = sa.engine.make_url(sys.argv[1]).set(drivername="postgresql+psycopg")
engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
with engine.connect() as conn:
    conn.exec_driver_sql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % sys.argv[2])
    conn.exec_driver_sql('CREATE DATABASE "%s"' % sys.argv[2])
print(url.set(database=sys.argv[2], drivername="postgresql").render_as_string(hide_password=False))
"""
READ_COMMANDS = ("last", "failing", "slowest", "stats", "history list")
# `testr --version` reads no repository: the CLI's own start-up, the floor
# under every read command.
REPO_COMMANDS = ("--version",) + READ_COMMANDS
HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="See benchmarks/README.rst and doc/performance.rst.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=3,
                   help="repetitions of every run (default 3); medians are reported")
    p.add_argument("--anchors", metavar="VENV",
                   help="virtualenv holding stestr, testrepository, pytest and pytest-xdist")
    p.add_argument("--only", default=",".join(SECTIONS),
                   help="comma list of sections (default: %s)" % ",".join(SECTIONS))
    p.add_argument("--out", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "testrepo-bench"),
                   help="work directory: suites, work copies, repositories, logs, results "
                        "(default: $TMPDIR/testrepo-bench)")
    p.add_argument("--testr", help="the project's testr executable "
                                   "(default: next to this Python, else on PATH)")
    p.add_argument("-j", "--concurrency", type=int, default=2, help="workers (default 2)")
    p.add_argument("--trivial-n", type=int, default=20000, help="tests in `trivial` (20000)")
    p.add_argument("--skewed-sum", type=float, default=60.0,
                   help="seconds of sleep in `skewed` and `grouped` (60; e.g. 6 for a quick check)")
    p.add_argument("--skewed-n", type=int, default=400, help="tests in `skewed`/`grouped` (400)")
    p.add_argument("--seed", type=int, default=20240601, help="seed of the generated suites")
    p.add_argument("--repo-runs", type=int, default=1000, help="runs in the `repo` repository (1000)")
    p.add_argument("--repo-tests", type=int, default=20000, help="tests per run there (20000)")
    p.add_argument("--repo-reps", type=int, default=5,
                   help="timings of each `repo` command (default 5)")
    p.add_argument("--fill-jobs", type=int, default=2,
                   help="processes filling the repository together (default 2)")
    p.add_argument("--keep", action="store_true",
                   help="reuse a filled repository from an earlier invocation (same size and "
                        "seed) instead of filling it again")
    p.add_argument("--memory-n", type=int, default=100000, help="tests in the memory suite (100000)")
    p.add_argument("--postgresql-url", metavar="URL",
                   help="`backends`: a PostgreSQL server (its user may create databases); "
                        "without it the section measures the file and SQLite backends only")
    p.add_argument("--timeout", type=float, default=900.0,
                   help="seconds before a run is killed and reported broken (900)")
    args = p.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    for s in args.only:
        if s not in SECTIONS:
            p.error("unknown section %r in --only (known: %s)" % (s, ", ".join(SECTIONS)))
    if args.reps < 1 or args.repo_reps < 1:
        p.error("--reps and --repo-reps must be at least 1")
    return args


# --------------------------------------------------------------------------- helpers

def say(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def rotate(items, k):
    items = list(items)
    if not items:
        return items
    k %= len(items)
    return items[k:] + items[:k]


def stats(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def fmt(s, digits=2, unit=""):
    """'median (min-max)' of a stats dict."""
    if s is None:
        return "—"
    f = "%%.%df%s" % (digits, unit)
    if s["n"] == 1 or s["min"] == s["max"]:
        return f % s["median"]
    return "%s (%s-%s)" % (f % s["median"], f % s["min"], f % s["max"])


def git_state(path):
    """'abc1234' or 'abc1234 + uncommitted changes in: a, b' for the checkout at path."""
    def git(*a):
        r = subprocess.run(["git", "-C", path] + list(a), stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
        return r.stdout.decode().rstrip() if r.returncode == 0 else None
    head = git("rev-parse", "--short", "HEAD")
    if not head:
        return "not a git checkout"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".")
    if dirty:
        files = [line[3:] for line in dirty.splitlines()]
        shown = ", ".join(files[:8]) + (" and %d more" % (len(files) - 8) if len(files) > 8 else "")
        return "%s + uncommitted changes in %s" % (head, shown)
    return head


class Bench:
    def __init__(self, args):
        self.args = args
        self.out = os.path.abspath(args.out)
        os.makedirs(self.out, exist_ok=True)
        self.stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
        self.records = []
        self.results_path = os.path.join(self.out, "results-%s.jsonl" % self.stamp)
        self.logs = os.path.join(self.out, "logs", self.stamp)
        private = os.path.join(self.out, "private")
        exe = os.path.abspath(args.testr) if args.testr else toolset.find_testrepo()
        self.testrepo = toolset.Testrepo(exe, private)
        self.unittest = toolset.Unittest(exe, private)
        self.anchors, self.missing = {}, []
        if args.anchors:
            self.anchors, self.missing = toolset.anchor_tools(os.path.abspath(args.anchors), private)
            if self.missing:
                say("warning: not in %s: %s (those rows are left out)"
                    % (args.anchors, ", ".join(self.missing)))
        self.counter = 0
        self.loads = []
        self.fill_info = {}

    # -- measuring
    def measure(self, tool, argv, cwd, section, label, expect=None, timeout=None,
                poll_hwm=False, ok_rcs=(0,), check=None, **fields):
        """Time one command; check its exit code, and its counts against
        `expect` (ran, passed, failed, skipped) or with check(counts), which
        returns what is wrong or None."""
        self.counter += 1
        log = os.path.join(self.logs, "%04d-%s-%s.log" % (
            self.counter, section, label.replace(" ", "_").replace("/", "_")))
        m = runproc.measure(argv, cwd, tool.env, log, timeout or self.args.timeout, poll_hwm)
        text = m.pop("text")
        counts = tool.parse(text) if tool.parser else None
        problem = None
        if m["timed_out"]:
            problem = "killed at the %.0f s cap" % (timeout or self.args.timeout)
        elif m["rc"] not in ok_rcs:
            problem = "exit %d" % m["rc"]
        if expect is not None and problem is None:
            if counts is None:
                problem = "no test counts in its output"
            else:
                got = (counts["ran"], counts["passed"], counts["failed"], counts["skipped"])
                if got != expect:
                    problem = "ran/passed/failed/skipped %s, expected %s" % (
                        "/".join(map(str, got)), "/".join(map(str, expect)))
        if check is not None and problem is None:
            problem = check(counts)
        rec = dict(section=section, tool=tool.name, label=label, ok=problem is None,
                   problem=problem, counts=counts, cmd=" ".join(argv), cwd=cwd, **m)
        rec.update(fields)
        if rec.get("lower_bound_s"):
            rec["makespan"] = round(m["wall_s"] / rec["lower_bound_s"], 4)
        self.records.append(rec)
        if m["load_before"] is not None:
            self.loads.append(m["load_before"])
        with open(self.results_path, "a") as f:
            f.write(json.dumps(rec, sort_keys=True) + "\n")
        say("  %-44s %8.3f s  %s  (load %.2f)" % (
            label, m["wall_s"], "ok" if problem is None else "BROKEN: " + problem,
            m["load_before"] or 0))
        return rec

    def select(self, **kw):
        return [r for r in self.records if all(r.get(k) == v for k, v in kw.items())]

    def walls(self, **kw):
        recs = self.select(**kw)
        return [r["wall_s"] for r in recs if r["ok"]], len(recs)

    # -- staging
    def suite(self, name, kind, **params):
        p = gen_suites.suite_params(kind, seed=self.args.seed, **params)
        t0 = time.perf_counter()
        s = gen_suites.ensure_suite(name, p, os.path.join(self.out, "suites"))
        say("suite %s: %d tests (%.1f s to make or check)" % (name, s.n_tests, time.perf_counter() - t0))
        return s

    def workdir(self, suite, tool):
        wd = os.path.join(self.out, "work", suite.name, tool.name)
        tool.stage(suite, wd)
        return wd

    # ----------------------------------------------------------------------- sections

    def run_suites(self):
        a = self.args
        j = a.concurrency
        wanted = [s for s in SUITES if (s if s not in SKEWED_SHAPES else "skewed") in a.only]
        suites = {}
        for name in wanted:
            if name == "trivial":
                suites[name] = self.suite(name, "trivial", n=a.trivial_n)
            else:
                suites[name] = self.suite(name, name, n=a.skewed_n, sum_s=a.skewed_sum)
        history_tools = [self.testrepo] + [self.anchors[n] for n in ("stestr", "testrepository")
                                           if n in self.anchors]
        for rep in range(a.reps):
            for name in wanted:
                suite = suites[name]
                first = list(history_tools)
                if (name == "trivial" or name in SKEWED_SHAPES) and "pytest" in self.anchors:
                    first.append(self.anchors["pytest"])
                if name == "trivial":
                    first.append(self.unittest)
                wds = {t.name: self.workdir(suite, t) for t in first}
                for t in history_tools:
                    t.reset(wds[t.name])
                n = suite.n_tests
                expect = (n, n, 0, 0)
                lb = suite.lower_bound(j)
                say("[rep %d/%d] %s (%d tests%s)" % (rep + 1, a.reps, name, n,
                                                     ", lower bound %.2f s" % lb if lb else ""))
                for run in (1, 2):
                    tools = first if run == 1 else history_tools
                    for t in rotate(tools, rep):
                        self.measure(t, t.run_argv(suite, wds[t.name], j), wds[t.name],
                                     "suite", "%s %s run %d" % (name, t.name, run),
                                     expect=expect, suite=name, run=run, rep=rep,
                                     lower_bound_s=lb)
                if name == "trivial":
                    # The history commands on a repository holding two 20k-test runs.
                    commands = [c for c in READ_COMMANDS
                                if any(c in t.followups for t in history_tools)]
                    for c in commands:
                        for t in rotate(history_tools, rep):
                            if c in t.followups:
                                self.measure(t, t.followup_argv(c), wds[t.name], "followup",
                                             "trivial %s %s" % (t.name, c), ok_rcs=(0,),
                                             suite=name, command=c, rep=rep)

    def run_repo(self):
        a = self.args
        R, T = a.repo_runs, a.repo_tests
        t = self.testrepo
        base = os.path.join(self.out, "repo")
        big = self.filled_repo(os.path.join(base, "R%d-T%d" % (R, T)), R, T)
        small = self.filled_repo(os.path.join(base, "R1-T%d" % T), 1, T)
        self.repo_info = {"runs": R, "tests": T, "size_mb": dir_mb(big),
                          "fill": self.fill_info[big]}
        # Read commands, interleaved: command by command, 1-run then R-run repository.
        say("[repo] read commands, %d timings each" % a.repo_reps)

        def shows_all(counts):
            if not counts or counts["passed"] + counts["failed"] + counts["skipped"] != T:
                return "`last` does not show %d tests: %s" % (T, counts)
            return None

        for rep in range(a.repo_reps):
            for c in REPO_COMMANDS:
                for label, path, runs in rotate((("1 run", small, 1), ("%d runs" % R, big, R)), rep):
                    self.measure(t, [t.exe] + c.split(), os.path.dirname(path), "repo",
                                 "repo %s %s" % (label.replace(" ", ""), c), ok_rcs=(0, 1),
                                 check=shows_all if c == "last" else None,
                                 command=c, runs=runs, rep=rep)
        # Start-up of `testr run` (10 tests) and `testr load` of one stored
        # run: into the full repository (a hard-linked clone, so the cached
        # one stays as it is) vs into an empty one.
        tiny = self.suite("tiny", "tiny")
        wd = self.workdir(tiny, t)
        clone = os.path.join(base, "clone", ".testrepository")
        empty = os.path.join(base, "empty", ".testrepository")
        clone_repo(big, clone)
        stream = latest_stream(big)
        say("[repo] testr run (10 tests) and testr load (%d tests), full vs empty repository" % T)
        for rep in range(a.repo_reps):
            for label, path in rotate((("empty", empty), ("full", clone)), rep):
                if label == "empty":
                    shutil.rmtree(os.path.dirname(empty), ignore_errors=True)
                    runproc.run_checked([t.exe, "-r", empty, "init"], wd, t.env, "testr init")
                self.measure(t, [t.exe, "-r", path, "run", "--concurrency", str(a.concurrency)],
                             wd, "startup", "startup run %s" % label, expect=(10, 10, 0, 0),
                             repo=label, rep=rep)
            for label, path in rotate((("empty", empty), ("full", clone)), rep):
                if label == "empty":
                    shutil.rmtree(os.path.dirname(empty), ignore_errors=True)
                    runproc.run_checked([t.exe, "-r", empty, "init"], wd, t.env, "testr init")
                if stream:
                    self.measure(t, [t.exe, "-r", path, "load", "--quiet", stream], wd, "load",
                                 "load one run into %s" % label, ok_rcs=(0, 1), repo=label, rep=rep)

    def filled_repo(self, parent, runs, tests):
        """parent/.testrepository holding `runs` synthetic runs (reused with --keep)."""
        path = os.path.join(parent, ".testrepository")
        marker = os.path.join(parent, "filled.json")
        want = {"runs": runs, "tests": tests, "seed": 4}
        t = self.testrepo
        if self.args.keep and os.path.exists(marker):
            with open(marker) as f:
                have = json.load(f)
            if {k: have.get(k) for k in want} == want:
                r = subprocess.run([t.exe, "-r", path, "stats"], env=t.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
                if r.returncode == 0:
                    say("repository %s: reusing (%d runs x %d tests, filled in %.0f s)"
                        % (path, runs, tests, have.get("fill_s", 0)))
                    self.fill_info[path] = have
                    return path
                say("repository %s: the project cannot read it any more; filling it again" % path)
        shutil.rmtree(parent, ignore_errors=True)
        os.makedirs(parent)
        runproc.run_checked([t.exe, "-r", path, "init"], parent, t.env, "testr init")
        jobs = max(1, min(self.args.fill_jobs, runs))
        say("repository %s: filling %d runs x %d tests with %d process(es)" % (path, runs, tests, jobs))
        t0 = time.perf_counter()
        procs = [subprocess.Popen([t.python, os.path.join(HERE, "fill_repo.py"), path,
                                   "--runs", str(runs), "--tests", str(tests), "--seed", "4",
                                   "--job", str(k), "--jobs", str(jobs)],
                                  env=t.env, stdout=subprocess.PIPE) for k in range(jobs)]
        for p in procs:
            out, _ = p.communicate()
            if p.returncode != 0:
                raise SystemExit("filling %s failed (exit %d)" % (path, p.returncode))
        info = dict(want, fill_s=round(time.perf_counter() - t0, 1), jobs=jobs,
                    date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
        with open(marker, "w") as f:
            json.dump(info, f)
        self.fill_info[path] = info
        say("  filled in %.0f s" % info["fill_s"])
        return path

    def run_memory(self):
        a = self.args
        t = self.testrepo
        suite = self.suite("trivial%dk" % (a.memory_n // 1000), "trivial", n=a.memory_n)
        wd = self.workdir(suite, t)
        n = suite.n_tests
        reps = a.reps
        say("[memory] testr run on %d tests, %d time(s)" % (n, reps))
        for rep in range(reps):
            t.reset(wd)
            self.measure(t, t.run_argv(suite, wd, a.concurrency), wd, "memory",
                         "memory %s run 1" % suite.name, expect=(n, n, 0, 0), poll_hwm=True,
                         suite=suite.name, rep=rep)
        self.memory_suite = suite.name

    # ----------------------------------------------------------------------- report

    def environment(self):
        t = self.testrepo
        info = {}
        info["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        info["cpus"] = os.cpu_count()
        try:
            info["usable_cpus"] = len(os.sched_getaffinity(0))
        except AttributeError:
            info["usable_cpus"] = info["cpus"]
        info["cpu_model"] = cpu_model()
        info["mem_gb"] = mem_gb()
        info["kernel"] = platform.release()
        info["bench_python"] = platform.python_version()
        out = runproc.run_checked([t.python, "-c",
                                   "import sys, testrepo; print(sys.version.split()[0]); "
                                   "print(testrepo.__version__); print(testrepo.__file__)"],
                                  self.out, t.env, "probe testrepo").split("\n")
        info["testrepo_python"], info["testrepo_version"], init = out[0], out[1], out[2]
        info["testrepo_src"] = os.path.dirname(os.path.dirname(init))
        info["testrepo_git"] = git_state(info["testrepo_src"])
        info["testrepo_exe"] = t.exe
        if self.anchors:
            py = next(iter(self.anchors.values())).python
            info["anchors_python"] = runproc.run_checked(
                [py, "-c", "import sys; print(sys.version.split()[0])"], self.out, t.env,
                "probe anchors").strip()
            info["anchors"] = {d: toolset.distribution_version(py, d) for d in (
                "stestr", "testrepository", "pytest", "pytest-xdist", "python-subunit",
                "testtools")}
        return info

    def report(self, env, load_start, load_end):
        a = self.args
        L = []
        w = L.append
        w("## testrepo benchmarks, %s" % env["date"])
        w("")
        w("Command: `python benchmarks/bench.py %s`" % " ".join(sys.argv[1:]))
        w("")
        w("* Machine: %d CPUs (%d usable), %s, %s GB RAM, Linux %s" % (
            env["cpus"], env["usable_cpus"], env["cpu_model"], env["mem_gb"], env["kernel"]))
        lm = stats(self.loads)
        w("* Load average (1/5/15 min) at start %s, at end %s; 1-min load before each "
          "measurement: %s" % (load_start, load_end, fmt(lm, 2)))
        w("* testrepo %s (Python %s) from `%s`, git %s" % (
            env["testrepo_version"], env["testrepo_python"], env["testrepo_src"], env["testrepo_git"]))
        if "anchors" in env:
            w("* Anchors (Python %s): %s" % (env["anchors_python"], ", ".join(
                "%s %s" % (k, v) for k, v in env["anchors"].items() if v)))
        w("* %d workers; %d repetition(s) per run, tools interleaved; cells are median "
          "(min-max) over the runs that passed their checks" % (a.concurrency, a.reps))
        w("")
        self.report_targets(L)
        if self.select(section="suite"):
            self.report_suites(L)
        if self.select(section="followup"):
            self.report_followups(L)
        if self.select(section="repo"):
            self.report_repo(L)
        if self.select(section="memory"):
            self.report_memory(L)
        if self.select(section="backends"):
            self.report_backends(L)
        broken = [r for r in self.records if not r["ok"]]
        if broken:
            w("### Broken measurements")
            w("")
            for r in broken:
                w("* %s: %s (log `%s`)" % (r["label"], r["problem"], r["log_path"]))
            w("")
        return "\n".join(L)

    def wall_stats(self, **kw):
        vals, _ = self.walls(**kw)
        return stats(vals)

    def makespan_stats(self, **kw):
        return stats([r.get("makespan") for r in self.select(**kw) if r["ok"]])

    def paired_ratios(self, num, den):
        """Per-repetition ratios num/den (selectors) where both runs passed."""
        by_rep = {}
        for key, sel in (("n", num), ("d", den)):
            for r in self.select(**sel):
                if r["ok"]:
                    by_rep.setdefault(r.get("rep"), {})[key] = r["wall_s"]
        return [v["n"] / v["d"] for v in by_rep.values() if "n" in v and "d" in v]

    def report_targets(self, L):
        w = L.append
        rows = []

        def verdict(value, limit, extra_ok=True):
            if value is None:
                return "not measured"
            if value <= limit and extra_ok:
                return "met"
            if value > limit:
                miss = (value / limit - 1) * 100
                return "**missed** by %s %%" % ("%.1f" % miss if miss < 10 else "%.0f" % miss)
            return "**missed** (not better than an anchor)"

        def ratio_row(title, num, den, limit, limit_text):
            sn, sd = self.wall_stats(**num), self.wall_stats(**den)
            if not sn or not sd:
                rows.append((title, "—", limit_text, "not measured"))
                return
            value = sn["median"] / sd["median"]
            per = stats(self.paired_ratios(num, den))
            text = "%.3f (%.2f s / %.2f s)" % (value, sn["median"], sd["median"])
            if per and per["n"] > 1:
                text += "; per repetition %.3f-%.3f" % (per["min"], per["max"])
            rows.append((title, text, limit_text, verdict(value, limit)))

        if self.select(section="suite", suite="trivial"):
            for run in (1, 2):
                ratio_row("trivial %d: testrepo / stestr wall, run %d" % (self.args.trivial_n, run),
                          dict(section="suite", suite="trivial", tool="testrepo", run=run),
                          dict(section="suite", suite="trivial", tool="stestr", run=run),
                          1 / 6.0, "≤ 1/6 (0.167)")
            for run in (1, 2):
                ratio_row("trivial %d: testrepo run %d / serial unittest wall"
                          % (self.args.trivial_n, run),
                          dict(section="suite", suite="trivial", tool="testrepo", run=run),
                          dict(section="suite", suite="trivial", tool="unittest", run=1),
                          2.0, "≤ 2")
        for shape in SKEWED_SHAPES:
            if not self.select(section="suite", suite=shape):
                continue
            for run, limit in ((1, 1.05), (2, 1.02)):
                ms = self.makespan_stats(section="suite", suite=shape, tool="testrepo", run=run)
                # Run 1 must match pytest-xdist (dynamic, no history); run 2
                # must beat every anchor: stestr and testrepository with
                # history, pytest-xdist (which has none).
                rivals = [("pytest", 1)] if run == 1 else [
                    ("stestr", 2), ("testrepository", 2), ("pytest", 1)]
                beat = {}
                for name, arun in rivals:
                    s = self.makespan_stats(section="suite", suite=shape, tool=name, run=arun)
                    if s:
                        beat["%s run %d" % (name, arun)] = s["median"]
                value = ms["median"] if ms else None
                ok_vs = value is not None and all(
                    (value <= v if run == 1 else value < v) for v in beat.values())
                text = fmt(ms, 3) if ms else "—"
                if beat:
                    text += "; " + ", ".join("%s %.3f" % kv for kv in sorted(beat.items()))
                lt = ("≤ %.2f and ≤ pytest-xdist" if run == 1 else "≤ %.2f and < every anchor") % limit
                rows.append(("%s makespan ratio, run %d (%s)" % (
                    shape, run, "no history" if run == 1 else "history"), text, lt,
                    verdict(value, limit, ok_vs)))
        if self.select(section="repo"):
            R = self.repo_info["runs"]
            for c in READ_COMMANDS:
                s = self.wall_stats(section="repo", command=c, runs=R)
                one = self.wall_stats(section="repo", command=c, runs=1)
                if s:
                    text = "%s s (1 run: %s s)" % (fmt(s, 3), fmt(one, 3) if one else "—")
                    rows.append(("repo %d x %d: `testr %s`" % (R, self.repo_info["tests"], c),
                                 text, "< 0.3 s", verdict(s["median"], 0.3)))
            se = self.wall_stats(section="startup", repo="empty")
            sf = self.wall_stats(section="startup", repo="full")
            if se and sf:
                delta = sf["median"] - se["median"]
                noise = max((se["max"] - se["min"]) / 2, (sf["max"] - sf["min"]) / 2,
                            0.05 * se["median"])
                rows.append(("`testr run` start-up (10 tests), full - empty repository",
                             "%+.3f s (empty %s s, full %s s)" % (delta, fmt(se, 3), fmt(sf, 3)),
                             "not measurably different (Δ within half the spread or 5 %)",
                             "met" if abs(delta) <= noise else "**missed** (Δ %.0f %% of empty)"
                             % (100 * delta / se["median"])))
        if self.select(section="memory"):
            hwm = stats([r["parent_hwm_kb"] / 1024.0 for r in self.select(section="memory")
                         if r["ok"] and r["parent_hwm_kb"]])
            rows.append(("peak RSS of the `testr` parent, %s" % self.memory_suite,
                         "%s MB" % fmt(hwm, 0) if hwm else "—", "< 150 MB",
                         verdict(hwm["median"], 150.0) if hwm else "not measured"))
        if not rows:
            return
        w("### Targets of issue 4")
        w("")
        w("| target | measured (medians) | limit | verdict |")
        w("|---|---|---|---|")
        for row in rows:
            w("| %s |" % " | ".join(row))
        w("")

    def report_suites(self, L):
        w = L.append
        w("### Runs (%d workers)" % self.args.concurrency)
        w("")
        w("| suite | tool | run | ok/n | wall s | makespan ratio | CPU s (user+sys) | "
          "max RSS MB (largest process) | load before |")
        w("|---|---|---|---|---|---|---|---|---|")
        order = ["testrepo", "unittest", "stestr", "testrepository", "pytest"]
        for suite in SUITES:
            recs = self.select(section="suite", suite=suite)
            if not recs:
                continue
            lb = recs[0].get("lower_bound_s")
            for tool in order:
                for run in (1, 2):
                    sel = [r for r in recs if r["tool"] == tool and r["run"] == run]
                    if not sel:
                        continue
                    good = [r for r in sel if r["ok"]]
                    cpu = stats([r["user_s"] + r["sys_s"] for r in good])
                    rss = stats([r["max_rss_kb"] / 1024.0 for r in good])
                    ms = stats([r.get("makespan") for r in good])
                    name = {"unittest": "unittest (serial)", "pytest": "pytest-xdist -n"}.get(tool, tool)
                    w("| %s | %s | %s | %d/%d | %s | %s | %s | %s | %s |" % (
                        suite + (" (LB %.2f s)" % lb if lb else ""), name,
                        "—" if tool == "unittest" else ("1 (no history)" if run == 1 else "2 (history)"),
                        len(good), len(sel),
                        fmt(stats([r["wall_s"] for r in good]), 2) if good else "BROKEN",
                        fmt(ms, 3) if ms else "—", fmt(cpu, 1), fmt(rss, 0),
                        fmt(stats([r["load_before"] for r in sel]), 1)))
        w("")
        w("LB = lower bound of the makespan, max(sum / workers, longest) over tests "
          "(skewed) or classes with their setUpClass (grouped). Wall time includes each "
          "tool's start-up, listing and storing the run, so a ratio of 1.00 is out of reach.")
        w("")

    def run_backends(self):
        a = self.args
        suite = self.suite("trivial", "trivial", n=a.trivial_n)
        tool = self.testrepo
        wd = self.workdir(suite, tool)
        backends = [b for b in BACKENDS if b != "postgresql" or a.postgresql_url]
        n = suite.n_tests
        for rep in range(a.reps):
            say("[rep %d/%d] backends (%d tests): %s" % (rep + 1, a.reps, n, ", ".join(backends)))
            for backend in rotate(backends, rep):
                url = self.empty_repository(backend, wd)
                base = [tool.exe, "--repo-url", url]
                for run in (1, 2):
                    self.measure(tool, base + ["run", "--concurrency", str(a.concurrency)], wd,
                                 "backends", "%s run %d" % (backend, run), expect=(n, n, 0, 0),
                                 backend=backend, command="run %d" % run, rep=rep)
                for command in READ_COMMANDS:
                    self.measure(tool, base + command.split(), wd, "backends",
                                 "%s %s" % (backend, command), backend=backend,
                                 command=command, rep=rep)

    def empty_repository(self, backend, wd):
        """The URL of a new, empty repository of ``backend`` (``testr run``
        creates its tables or directory)."""
        if backend == "file":
            path = os.path.join(wd, "backend-file")
            shutil.rmtree(path, ignore_errors=True)
            return path
        if backend == "sqlite":
            path = os.path.join(wd, "backend.db")
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.unlink(path + suffix)
            return "sqlite:///" + path
        out = subprocess.run([self.testrepo.python, "-c", RECREATE_DATABASE,
                              self.args.postgresql_url, "testrepo_bench"],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def report_backends(self, L):
        w = L.append
        commands = ["run 1", "run 2"] + list(READ_COMMANDS)
        w("### Repository backends: the trivial suite (%d tests) run twice, then the read "
          "commands; seconds, and the ratio of medians to the file backend" % self.args.trivial_n)
        w("")
        w("| backend | %s |" % " | ".join("`%s`" % c for c in commands))
        w("|---|%s" % ("---|" * len(commands)))
        for backend in BACKENDS:
            if not self.select(section="backends", backend=backend):
                continue
            cells = []
            for c in commands:
                s = self.wall_stats(section="backends", backend=backend, command=c)
                base = self.wall_stats(section="backends", backend="file", command=c)
                cell = fmt(s, 2)
                if s and base and backend != "file":
                    cell += " ×%.2f" % (s["median"] / base["median"])
                cells.append(cell)
            w("| %s | %s |" % (backend, " | ".join(cells)))
        w("")

    def report_followups(self, L):
        w = L.append
        cmds = [c for c in READ_COMMANDS if self.select(section="followup", command=c)]
        w("### History commands after trivial run 2 (repository of two %d-test runs), seconds"
          % self.args.trivial_n)
        w("")
        w("| tool | %s |" % " | ".join("`%s`" % c for c in cmds))
        w("|---|%s" % ("---|" * len(cmds)))
        for tool in ("testrepo", "stestr", "testrepository"):
            if not self.select(section="followup", tool=tool):
                continue
            cells = []
            for c in cmds:
                s = self.wall_stats(section="followup", tool=tool, command=c)
                n = len(self.select(section="followup", tool=tool, command=c))
                cells.append(fmt(s, 2) if s else ("BROKEN" if n else "—"))
            w("| %s | %s |" % (tool, " | ".join(cells)))
        w("")

    def report_repo(self, L):
        w = L.append
        info = self.repo_info
        R, T = info["runs"], info["tests"]
        fill = info["fill"]
        w("### Repository of %d runs x %d tests (%.0f MB on disk; filled through the library "
          "API in %s s by %s process(es), %s)" % (R, T, info["size_mb"], fill.get("fill_s", "?"),
                                                   fill.get("jobs", "?"), fill.get("date", "?")))
        w("")
        w("| command | 1 run | %d runs | %d runs / 1 run |" % (R, R))
        w("|---|---|---|---|")
        for c in REPO_COMMANDS:
            one = self.wall_stats(section="repo", command=c, runs=1)
            many = self.wall_stats(section="repo", command=c, runs=R)
            n_broken = len([r for r in self.select(section="repo", command=c) if not r["ok"]])
            w("| `testr %s` | %s | %s | %s |" % (
                c, fmt(one, 3), fmt(many, 3),
                "%.2f" % (many["median"] / one["median"]) if one and many else "—")
              + (" (%d broken)" % n_broken if n_broken else ""))
        for section, title in (("startup", "`testr run`, 10 tests (start-up)"),
                               ("load", "`testr load` of one %d-test run" % T)):
            e = self.wall_stats(section=section, repo="empty")
            f = self.wall_stats(section=section, repo="full")
            if e or f:
                w("| %s | empty repository: %s | %s | %s |" % (
                    title, fmt(e, 3), fmt(f, 3),
                    "%.2f (full / empty)" % (f["median"] / e["median"]) if e and f else "—"))
        w("")
        w("Read commands run in the repository's directory; `last` and `failing` exit 1 "
          "there (about 1 %% of each synthetic run fails), which counts as success. "
          "`testr --version` opens no repository: it is the CLI's start-up, the floor under "
          "every other row. The start-up and load rows use a hard-linked copy of the "
          "%d-run repository." % R)
        w("")

    def report_memory(self, L):
        w = L.append
        recs = self.select(section="memory")
        good = [r for r in recs if r["ok"]]
        w("### Memory: `testr run` on %s (%d/%d runs passed their checks)"
          % (self.memory_suite, len(good), len(recs)))
        w("")
        w("| wall s | parent peak RSS MB (VmHWM) | largest process MB (ru_maxrss) | CPU s |")
        w("|---|---|---|---|")
        w("| %s | %s | %s | %s |" % (
            fmt(stats([r["wall_s"] for r in good]), 2),
            fmt(stats([r["parent_hwm_kb"] / 1024.0 for r in good if r["parent_hwm_kb"]]), 0),
            fmt(stats([r["max_rss_kb"] / 1024.0 for r in good]), 0),
            fmt(stats([r["user_s"] + r["sys_s"] for r in good]), 1)))
        w("")
        w("VmHWM of the parent is read from /proc every 50 ms while it runs (the last "
          "reading before it exits); ru_maxrss is the largest single process of the tree "
          "(the parent or a worker): when it exceeds the parent's peak, a worker was larger.")
        w("")

    # ----------------------------------------------------------------------- main

    def main(self):
        load_start = "%.2f / %.2f / %.2f" % os.getloadavg()
        env = self.environment()
        say("testrepo %s from %s (git %s); results -> %s" % (
            env["testrepo_version"], env["testrepo_src"], env["testrepo_git"], self.results_path))
        t0 = time.perf_counter()
        if any(s in self.args.only for s in ("trivial", "skewed", "grouped")):
            self.run_suites()
        if "repo" in self.args.only:
            self.run_repo()
        if "memory" in self.args.only:
            self.run_memory()
        if "backends" in self.args.only:
            self.run_backends()
        load_end = "%.2f / %.2f / %.2f" % os.getloadavg()
        # Others may commit or edit while a long benchmark runs: say so.
        end_git = git_state(env["testrepo_src"])
        if end_git != env["testrepo_git"]:
            env["testrepo_git"] += " at the start; %s at the end" % end_git
        text = self.report(env, load_start, load_end)
        text += "\n_Benchmark took %.0f s; results in `%s`._\n" % (
            time.perf_counter() - t0, self.results_path)
        for name in ("report-%s.md" % self.stamp, "report-latest.md"):
            with open(os.path.join(self.out, name), "w") as f:
                f.write(text)
        print(text)
        return 0 if all(r["ok"] for r in self.records) else 1


# --------------------------------------------------------------------------- repositories

def dir_mb(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total / 1e6


def clone_repo(src, dst):
    """A copy of repository src at dst: stored run streams (never rewritten
    once stored) are hard-linked, everything else (the index) copied."""
    shutil.rmtree(os.path.dirname(dst), ignore_errors=True)
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        target = os.path.normpath(os.path.join(dst, rel))
        os.makedirs(target, exist_ok=True)
        for f in files:
            s, d = os.path.join(root, f), os.path.join(target, f)
            if rel.split(os.sep)[0] == "runs":
                os.link(s, d)
            else:
                shutil.copy2(s, d)


def latest_stream(repo):
    runs = os.path.join(repo, "runs")
    try:
        ids = [int(n) for n in os.listdir(runs) if n.isdigit()]
    except OSError:
        return None
    return os.path.join(runs, str(max(ids))) if ids else None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def mem_gb():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return "%.0f" % (int(line.split()[1]) / 1024.0 / 1024.0)
    except OSError:
        pass
    return "?"


def main(argv=None):
    args = parse_args(argv)
    return Bench(args).main()


if __name__ == "__main__":
    sys.exit(main())
