#!/usr/bin/env python3
"""Real pytest suites: published pytest test suites under testr, serial
pytest and pytest-xdist.

The pytest half of the real-suite corpus (``real_suites.py``, whose venv,
sdist, timing and subunit code this script uses).  Creates a side
virtualenv with pinned releases of pytest-based projects whose sdists ship
their tests, their test requirements, pinned pytest and pytest-xdist and
this checkout of testrepo (editable), then runs every suite in a fresh
working copy (the unpacked sdist) three ways: ``testr run --concurrency 2``
with ``runner = pytest``, ``pytest -n 2 --dist load`` and serial ``pytest``,
each twice per repetition (for testr: an empty repository, then with its
history).  Serial pytest is the reference: the outcome of every node id
under testr and under xdist is compared with it, and each id whose outcome
differs is rerun alone (``pytest NODEID``) to see which outcome is the
test's own.  Reports wall times, peak RSS, hangs and orphans.

Stdlib only.  Everything is written under --workdir.  See
benchmarks/README.rst.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

import real_suites as corpus

HERE = os.path.dirname(os.path.abspath(__file__))

TOOL_PINS = ("pytest==9.2.0", "pytest-xdist==3.8.0")

# Each suite: the pinned release, the test requirements installed with it
# (its test dependency group or tox deps, less coverage, linters and
# type checkers) and ``args``, the pytest arguments its own CI passes (none:
# the project's testpaths and addopts decide, as ``pytest`` alone would).
SUITES = [
    {"name": "attrs", "pin": "attrs==26.1.0",
     "deps": ["cloudpickle", "hypothesis", "pympler"]},
    {"name": "packaging", "pin": "packaging==26.4",
     "deps": ["hypothesis", "pretend", "tomli_w", "pip"]},
    {"name": "click", "pin": "click==8.5.1", "deps": []},
    {"name": "jinja2", "pin": "jinja2==3.1.6", "deps": ["trio"]},
    {"name": "markupsafe", "pin": "markupsafe==3.0.4", "deps": []},
    {"name": "itsdangerous", "pin": "itsdangerous==2.2.0",
     "deps": ["freezegun"]},
    {"name": "more-itertools", "pin": "more-itertools==11.2.1", "deps": []},
    {"name": "pluggy", "pin": "pluggy==1.7.0", "deps": ["pytest-benchmark"]},
    {"name": "tomlkit", "pin": "tomlkit==0.15.3", "deps": ["PyYAML"]},
    {"name": "iniconfig", "pin": "iniconfig==2.3.1", "deps": []},
]

TESTR_CONF = "[DEFAULT]\nrunner = pytest\n"


def tool_commands(venv, outcomes):
    """Each tool's command line; ``outcomes`` is the file the plugin
    writes for the two pytest tools."""
    py = os.path.join(venv, "bin", "python")
    pytest = [py, "-m", "pytest", "-q", "-p", "corpus_outcomes"]
    return {
        "testr": ([os.path.join(venv, "bin", "testr"), "run",
                   "--concurrency", "2"], {}),
        "xdist": (pytest + ["-n", "2", "--dist", "load"],
                  {"PYTHONPATH": HERE, "CORPUS_OUTCOMES": outcomes}),
        "serial": (pytest + ["-p", "no:xdist"],
                   {"PYTHONPATH": HERE, "CORPUS_OUTCOMES": outcomes}),
    }


TOOLS = ("testr", "xdist", "serial")


def fresh_copy(src, dest):
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, symlinks=True)
    with open(os.path.join(dest, ".testr.conf"), "w") as f:
        f.write(TESTR_CONF)


def read_outcomes(args, py, tool, cwd, outcomes, env):
    """The run's records: testr's from its repository, the others' from
    the plugin's file."""
    if tool == "testr":
        last = subprocess.run(
            [os.path.join(args.venv, "bin", "testr"), "last", "--subunit"],
            cwd=cwd, capture_output=True,
            env=corpus.run_env(args.venv, "corpus-last", env))
        return corpus.parse_subunit(py, last.stdout)
    if not os.path.exists(outcomes):
        return []
    with open(outcomes) as f:
        return json.load(f)


def one_run(args, py, suite, tool, kind, rep):
    name = suite["name"]
    cwd = os.path.join(args.workdir, "run", name, tool)
    logpath = os.path.join(args.workdir, "logs", name,
                           f"{tool}-{kind}-{rep}.log")
    outcomes = logpath + ".outcomes.json"
    if os.path.exists(outcomes):
        os.remove(outcomes)
    cmd, env = tool_commands(args.venv, outcomes)[tool]
    cmd = cmd + (["--"] if tool == "testr" and suite.get("args") else []) \
        + suite.get("args", [])
    env = dict(env, **suite.get("env", {}))
    corpus.log(f"[{name}] rep {rep} {tool} {kind}")
    res = corpus.timed_run(cmd, cwd, args.venv, args.timeout, logpath, env)
    res.update(tool=tool, kind=kind, rep=rep, log=logpath)
    res["records"] = [] if res["timed_out"] else read_outcomes(
        args, py, tool, cwd, outcomes, env)
    corpus.log(f"[{name}]   rc={res['rc']} wall={res['wall']:.1f}s "
               f"maxrss={res['maxrss_kb'] // 1024}MB "
               f"results={len(res['records'])} timeout={res['timed_out']} "
               f"orphans={len(res['orphans'])}")
    return res


def run_suite(args, py, suite):
    name = suite["name"]
    src = os.path.join(args.workdir, "src", name)
    os.makedirs(os.path.join(args.workdir, "logs", name), exist_ok=True)
    for tool in TOOLS:
        fresh_copy(src, os.path.join(args.workdir, "run", name, tool))
    runs = []
    for rep in range(args.reps):
        # Rotate the order, so that a burst of load hits every tool.
        order = TOOLS[rep % 3:] + TOOLS[:rep % 3]
        shutil.rmtree(os.path.join(args.workdir, "run", name, "testr",
                                   ".testrepository"), ignore_errors=True)
        for kind in ("first", "history"):
            for tool in order:
                runs.append(one_run(args, py, suite, tool, kind, rep))
    return analyse(args, py, suite, runs)


def isolated_outcome(args, py, suite, test_id):
    """Run one node id alone under serial pytest in its own copy."""
    cwd = os.path.join(args.workdir, "run", suite["name"], "isolated")
    if not os.path.isdir(cwd):
        fresh_copy(os.path.join(args.workdir, "src", suite["name"]), cwd)
    outcomes = os.path.join(cwd, "corpus-outcomes.json")
    cmd, env = tool_commands(args.venv, outcomes)["serial"]
    try:
        out = subprocess.run(
            cmd + suite.get("args", []) + [test_id], cwd=cwd,
            capture_output=True, timeout=min(args.timeout, 300),
            env=corpus.run_env(args.venv, "corpus-isolated",
                               dict(env, **suite.get("env", {}))),
            start_new_session=True)
    except subprocess.TimeoutExpired:
        return ("hang", "")
    records = read_outcomes(args, py, "serial", cwd, outcomes, env)
    got = corpus.outcomes_of(records).get(test_id)
    if got is None:
        return ("not-run", out.stdout.decode(errors="replace")[-200:])
    return (got[0], "" if got[0] == "success" else got[2])


def tool_summary(runs):
    done = [r for r in runs if not r["timed_out"]]
    seen, msgs = {}, {}
    for r in done:
        for test_id, (status, _, msg) in corpus.outcomes_of(
                r["records"]).items():
            seen.setdefault(test_id, []).append(status)
            if status in ("fail", "uxsuccess", "incomplete") and msg:
                msgs.setdefault(test_id, msg)
    return {
        "ids": seen, "msgs": msgs, "n_ids": len(seen),
        "wall_first": corpus.med([r["wall"] for r in runs
                                  if r["kind"] == "first"]),
        "wall_history": corpus.med([r["wall"] for r in runs
                                    if r["kind"] == "history"]),
        "walls": [round(r["wall"], 2) for r in runs],
        "maxrss_mb": max(r["maxrss_kb"] for r in runs) / 1024,
        "hangs": sum(r["timed_out"] for r in runs), "runs": len(runs),
        "rcs": [r["rc"] for r in runs],
        "orphans": [o for r in runs for o in r["orphans"]],
    }


def summarise(outcomes):
    """One outcome if every run agreed, else e.g. "fail 1/2, success 1/2"."""
    uniq = sorted(set(outcomes))
    if len(uniq) == 1:
        return uniq[0]
    return ", ".join(f"{u} {outcomes.count(u)}/{len(outcomes)}" for u in uniq)


def agreement(args, py, suite, reference, other, name):
    """How many of ``reference``'s ids ``other`` gave the same outcome
    (every run's outcome the same), and the differing ids, rerun alone."""
    ref_ids, ids = reference["ids"], other["ids"]
    differ = sorted(i for i in set(ref_ids) | set(ids)
                    if summarise(ref_ids.get(i, ["absent"]))
                    != summarise(ids.get(i, ["absent"])))
    details = []
    for test_id in differ[:args.max_diffs]:
        alone, alone_msg = isolated_outcome(args, py, suite, test_id)
        details.append({
            "id": test_id, "tool": name,
            "serial": summarise(ref_ids.get(test_id, ["absent"])),
            "other": summarise(ids.get(test_id, ["absent"])),
            "serial_msg": reference["msgs"].get(test_id, ""),
            "other_msg": other["msgs"].get(test_id, ""),
            "alone": alone, "alone_msg": alone_msg})
    union = len(set(ref_ids) | set(ids))
    return {"pct": 100.0 * (union - len(differ)) / union if union else None,
            "n_diffs": len(differ), "diffs": details}


def analyse(args, py, suite, runs):
    tools = {tool: tool_summary([r for r in runs if r["tool"] == tool])
             for tool in TOOLS}
    serial = tools["serial"]
    result = {"suite": suite["name"], "pin": suite["pin"],
              "args": suite.get("args", []),
              "testr": agreement(args, py, suite, serial, tools["testr"],
                                 "testr"),
              "xdist": agreement(args, py, suite, serial, tools["xdist"],
                                 "xdist"),
              "tools": {tool: {k: v for k, v in summary.items()
                               if k not in ("ids", "msgs")}
                        for tool, summary in tools.items()}}
    return result


def _wall(t):
    """One pytest tool's wall time: its median over all its runs (its
    second run has no history to use)."""
    return corpus.med([t["wall_first"], t["wall_history"]])


def print_report(results, out=sys.stdout):
    for r in results:
        t, x, s = (r["tools"][k] for k in TOOLS)
        print(f"\n== {r['suite']} ({r['pin']}) args {r['args']}", file=out)
        rows = [
            ("ids reported", t["n_ids"], x["n_ids"], s["n_ids"]),
            ("wall first run, median s", corpus.fmt(t["wall_first"]),
             corpus.fmt(x["wall_first"]), corpus.fmt(s["wall_first"])),
            ("wall second run, median s", corpus.fmt(t["wall_history"]),
             corpus.fmt(x["wall_history"]), corpus.fmt(s["wall_history"])),
            ("all walls, s", t["walls"], x["walls"], s["walls"]),
            ("peak RSS of one process, MB", corpus.fmt(t["maxrss_mb"], "{:.0f}"),
             corpus.fmt(x["maxrss_mb"], "{:.0f}"),
             corpus.fmt(s["maxrss_mb"], "{:.0f}")),
            ("hangs (runs killed)", f"{t['hangs']}/{t['runs']}",
             f"{x['hangs']}/{x['runs']}", f"{s['hangs']}/{s['runs']}"),
            ("orphan processes", len(t["orphans"]), len(x["orphans"]),
             len(s["orphans"])),
            ("exit codes", t["rcs"], x["rcs"], s["rcs"]),
        ]
        print(f"  {'':30} {'testr':>22} {'xdist -n 2':>22} {'serial':>22}",
              file=out)
        for label, *cells in rows:
            print(f"  {label:30} " + " ".join(f"{str(c):>22}" for c in cells),
                  file=out)
        for tool in ("testr", "xdist"):
            a = r[tool]
            print(f"  {tool} vs serial: agreement "
                  f"{corpus.fmt(a['pct'], '{:.2f}%')} ({a['n_diffs']} differ)",
                  file=out)
            for d in a["diffs"]:
                print(f"  - {d['id']}\n      serial: {d['serial']} "
                      f"{d['serial_msg'][:120]}\n      {tool}: {d['other']} "
                      f"{d['other_msg'][:120]}\n      alone: {d['alone']} "
                      f"{d['alone_msg'][:120]}", file=out)
        for tool in TOOLS:
            for o in r["tools"][tool]["orphans"]:
                print(f"  ORPHAN {tool}: pid {o['pid']} {o['cmd'][:150]}",
                      file=out)


def _ratios(t, other):
    """testr's first and history wall over ``other``'s, "0.91 / 0.80"."""
    base = _wall(other)
    return " / ".join(corpus.fmt(t[k] / base if t[k] and base else None)
                      for k in ("wall_first", "wall_history"))


def markdown(results):
    """An RST table for doc/pytest.rst."""
    header = ("suite", "ids", "testr = serial", "xdist = serial",
              "testr s first / history", "xdist s", "serial s",
              "testr / xdist", "testr / serial", "RSS MB testr / xdist / serial")
    rows = []
    for r in results:
        t, x, s = (r["tools"][k] for k in TOOLS)
        rows.append((
            r["pin"], str(s["n_ids"]),
            f"{corpus.fmt(r['testr']['pct'], '{:.2f}%')}",
            f"{corpus.fmt(r['xdist']['pct'], '{:.2f}%')}",
            f"{corpus.fmt(t['wall_first'])} / {corpus.fmt(t['wall_history'])}",
            corpus.fmt(_wall(x)), corpus.fmt(_wall(s)),
            _ratios(t, x), _ratios(t, s),
            f"{t['maxrss_mb']:.0f} / {x['maxrss_mb']:.0f} / "
            f"{s['maxrss_mb']:.0f}"))
    widths = [max(len(h), *(len(row[i]) for row in rows))
              for i, h in enumerate(header)]

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    rule = line(["=" * w for w in widths])
    return "\n".join([rule, line(header), rule, *map(line, rows), rule])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    corpus.add_corpus_arguments(ap, "corpus-pytest")
    ap.add_argument("--table", action="store_true",
                    help="also print an RST table for doc/pytest.rst")
    args = ap.parse_args(argv)
    if args.list:
        for s in SUITES:
            print(s["pin"])
        return 0
    suites = corpus.selected_suites(args, SUITES)
    py, freeze = corpus.install(
        args, suites if args.skip_install else SUITES, TOOL_PINS)
    results = corpus.run_corpus(args, py, freeze, suites, run_suite,
                                print_report, {"tools": list(TOOL_PINS)})
    if args.table:
        print()
        print(markdown(results))
    return 0

if __name__ == "__main__":
    sys.exit(main())
