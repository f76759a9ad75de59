"""pytest suites: ``testr run`` (runner = pytest) side by side with
pytest-xdist (``-n 2``, ``--dist load`` and ``--dist worksteal``) and serial
pytest.  Standard library only; run it with the Python of a virtualenv that
has testrepo, pytest and pytest-xdist installed::

    python benchmarks/pytest_bench.py [--reps 3] [--trivial-n 10000] \\
        [--skewed-sum 20] [--out DIR]

Suites (generated under ``--out``, plain pytest functions, ``pytest.ini``):

* ``trivial``: N tests whose body is ``pass``, 100 per module;
* ``skewed``: 400 tests sleeping heavy-tailed durations (the ``skewed``
  durations of ``gen_suites.py``: three planted long tests, 12/8/5 % of the
  sum); the lower bound of the makespan is ``max(sum / 2, longest)``;
* ``output``: 200 tests that each print 200,000 bytes (pytest captures
  them; testr stores them as attachments).

Per repetition, the tools run interleaved, order rotating.  testr runs
twice per repetition on the skewed suite: with an empty repository (first
run) and again with that history.  Collection CPU is measured the same way
for every tool by the plugin ``bench_collect_cpu`` (``-p``, found on
``PYTHONPATH``): the CPU time spent inside collection hooks, summed over
every process that collects.  Prints a markdown report of medians.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gen_suites  # noqa: E402
import runproc  # noqa: E402

WORKERS = 2
PYTEST_INI = "[pytest]\n"


def write_modules(root: str, sources) -> None:
    """``tests/test_m000.py``, ``test_m001.py`` ... holding ``sources``."""
    tests = os.path.join(root, "tests")
    os.makedirs(tests)
    for index, source in enumerate(sources):
        with open(os.path.join(tests, f"test_m{index:03d}.py"), "w") as out:
            out.write(source)


def write_trivial(root: str, n: int) -> dict:
    write_modules(root, ("".join(f"def test_{i:03d}():\n    pass\n\n\n"
                                 for i in range(min(100, n - module * 100)))
                         for module in range((n + 99) // 100)))
    return {"n_tests": n}


def write_skewed(root: str, total: float, n: int = 400) -> dict:
    durations = gen_suites._heavy_tailed(random.Random(20240601), n, total)
    write_modules(root, ("import time\n\n\n" + "".join(
        f"def test_{i:03d}():\n    time.sleep({durations[module * 20 + i]!r})\n\n\n"
        for i in range(20)) for module in range(n // 20)))
    return {"n_tests": n, "sum_s": sum(durations),
            "lower_bound_s": gen_suites.lower_bound(durations, WORKERS)}


def write_output(root: str, n: int = 200, size: int = 200_000) -> dict:
    """Tests that each print ``size`` bytes: the parent must read their
    frames as fast as they come (pool.COALESCE_SECONDS must not wait)."""
    write_modules(root, ("import sys\n\n\n" + "".join(
        f"def test_{i:03d}():\n    sys.stdout.write('x' * {size})\n\n\n"
        for i in range(50)) for _ in range(n // 50)))
    return {"n_tests": n, "bytes_per_test": size}


def make_suite(out: str, name: str, write, *args) -> tuple:
    root = os.path.join(out, "suites", name)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    with open(os.path.join(root, "pytest.ini"), "w") as ini:
        ini.write(PYTEST_INI)
    return root, write(root, *args)


def commands(python: str, collect_log: str) -> dict:
    """name -> argv; every tool loads the collection-CPU plugin."""
    plugin = ["-p", "bench_collect_cpu"]
    pytest = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    return {
        "testr": [python, "-m", "testrepo", "run", "--concurrency", str(WORKERS), "--",
                  *plugin],
        "xdist-load": pytest + ["-n", str(WORKERS), "--dist", "load", *plugin],
        "xdist-worksteal": pytest + ["-n", str(WORKERS), "--dist", "worksteal", *plugin],
        "pytest-serial": pytest + plugin,
        "collect-only": pytest + ["--collect-only", *plugin],
    }


def collect_cpu(path: str) -> float:
    if not os.path.exists(path):
        return float("nan")
    with open(path) as log:
        total = sum(float(line) for line in log if line.strip())
    os.unlink(path)
    return total


def run_one(name, argv, suite_dir, env, logs, rep, collect_log, fresh_repo=False):
    if fresh_repo:
        shutil.rmtree(os.path.join(suite_dir, ".testrepository"), ignore_errors=True)
    log_path = os.path.join(logs, f"{os.path.basename(suite_dir)}-{name}-{rep}.log")
    result = runproc.measure(argv, suite_dir, env, log_path, timeout=900)
    result["collect_cpu_s"] = collect_cpu(collect_log)
    result.pop("text")
    return result


def makespan(python: str, suite_dir: str) -> float:
    """First test start to last test stop of the latest stored run."""
    code = (
        "import sys\n"
        "from testrepo import api\n"
        "from testrepo.options import Project\n"
        "repo = api.open_repository(Project(directory=sys.argv[1]))\n"
        "run = repo.get_run(repo.latest_id())\n"
        "stamps = []\n"
        "class R:\n"
        "    def startTestRun(self): pass\n"
        "    def stopTestRun(self): pass\n"
        "    def status(self, test_id=None, test_status=None, timestamp=None, **kw):\n"
        "        if timestamp is not None and test_id: stamps.append(timestamp.timestamp())\n"
        "run.replay(R())\n"
        "print(max(stamps) - min(stamps))\n")
    result = runproc.run_checked([python, "-c", code, suite_dir], suite_dir, None, "makespan")
    return float(result.strip())


def measure_suite(args, python, env, name, suite_dir, tools, logs, collect_log):
    rows = {}
    for rep in range(args.reps):
        order = tools[rep % len(tools):] + tools[:rep % len(tools)]
        for tool in order:
            argv = commands(python, collect_log)[tool]
            if tool == "testr":
                first = run_one(tool, argv, suite_dir, env, logs, rep, collect_log, True)
                rows.setdefault("testr (first run)", []).append(first)
                again = run_one(tool, argv, suite_dir, env, logs, f"{rep}h", collect_log)
                again["makespan_s"] = makespan(python, suite_dir)
                rows.setdefault("testr (history)", []).append(again)
            else:
                rows.setdefault(tool, []).append(
                    run_one(tool, argv, suite_dir, env, logs, rep, collect_log))
    return rows


def median(rows, key):
    values = [row[key] for row in rows if row.get(key) is not None]
    return statistics.median(values) if values else float("nan")


def report(name, info, rows, out):
    out.write(f"\n### {name}: {json.dumps(info)}\n\n")
    out.write("| tool | wall s (median) | exit codes | collection CPU s | load before |\n")
    out.write("|---|---|---|---|---|\n")
    for tool, results in rows.items():
        out.write(f"| {tool} | {median(results, 'wall_s'):.2f} | "
                  f"{sorted({r['rc'] for r in results})} | "
                  f"{median(results, 'collect_cpu_s'):.3f} | "
                  f"{median(results, 'load_before'):.2f} |\n")
    walls = {tool: median(results, "wall_s") for tool, results in rows.items()}
    for tool in ("testr (first run)", "testr (history)"):
        for other in ("xdist-load", "xdist-worksteal", "pytest-serial"):
            if tool in walls and other in walls:
                out.write(f"\n- {tool} / {other}: {walls[tool] / walls[other]:.2f}")
    if "lower_bound_s" in info and "testr (history)" in rows:
        span = median(rows["testr (history)"], "makespan_s")
        out.write(f"\n- testr (history) makespan {span:.2f} s / lower bound "
                  f"{info['lower_bound_s']:.2f} s = {span / info['lower_bound_s']:.3f} "
                  f"(wall / lower bound {walls['testr (history)'] / info['lower_bound_s']:.3f})")
    if "collect-only" in rows and "testr (first run)" in rows:
        one = median(rows["collect-only"], "collect_cpu_s")
        for tool in ("testr (first run)", "xdist-load"):
            if tool in rows:
                out.write(f"\n- collection CPU {tool} / one --collect-only: "
                          f"{median(rows[tool], 'collect_cpu_s') / one:.2f}")
    out.write("\n")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--trivial-n", type=int, default=10000)
    parser.add_argument("--skewed-sum", type=float, default=20.0)
    parser.add_argument("--only", default="trivial,skewed,output")
    parser.add_argument("--out", default=os.path.join(tempfile.gettempdir(),
                                                      "testrepo-pytest-bench"))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    python = sys.executable
    os.makedirs(args.out, exist_ok=True)
    logs = os.path.join(args.out, "logs")
    collect_log = os.path.join(args.out, "collect-cpu.log")
    env = dict(os.environ, PYTHONPATH=HERE, BENCH_COLLECT_LOG=collect_log, NO_COLOR="1")
    env.pop("PYTHON", None)
    out = sys.stdout
    out.write(f"## pytest suites, {WORKERS} workers, {args.reps} repetitions, medians\n")
    only = args.only.split(",")
    if "trivial" in only:
        suite_dir, info = make_suite(args.out, "trivial", write_trivial, args.trivial_n)
        tools = ["testr", "xdist-load", "xdist-worksteal", "pytest-serial", "collect-only"]
        report("trivial", info, measure_suite(args, python, env, "trivial", suite_dir, tools,
                                              logs, collect_log), out)
    if "skewed" in only:
        suite_dir, info = make_suite(args.out, "skewed", write_skewed, args.skewed_sum)
        tools = ["testr", "xdist-load", "xdist-worksteal"]
        report("skewed", info, measure_suite(args, python, env, "skewed", suite_dir, tools,
                                             logs, collect_log), out)
    if "output" in only:
        suite_dir, info = make_suite(args.out, "output", write_output)
        tools = ["testr", "xdist-load", "pytest-serial"]
        report("output", info, measure_suite(args, python, env, "output", suite_dir, tools,
                                             logs, collect_log), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
