#!/usr/bin/env python3
"""Real-suite corpus: run published test suites under stestr and testr.

Outside CI. Creates a side virtualenv with pinned releases of open-source
projects whose sdists ship a unittest/testtools/stestr-runnable suite, their
test requirements, a pinned stestr and this checkout of testrepo (editable),
then runs every suite in a fresh working copy (the unpacked sdist) with
``stestr run --concurrency 2`` and ``testr run --concurrency 2`` (the
built-in runner, reading the same ``.stestr.conf``), each first with an empty
repository and then again with its history. It compares the ids and the
outcomes the two tools stored, reruns every id whose outcome differs on its
own to see which outcome is the test's own, and reports wall-time ratios,
summed test time, peak RSS, hangs (runs killed at --timeout) and orphans
(processes of a run still alive after it).

Stdlib only; the subunit streams are parsed by the side venv's Python
(python-subunit is a dependency of stestr). Everything is written under
--workdir. See benchmarks/README.rst.
"""

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TMP = os.environ.get("TMPDIR") or "/tmp"

STESTR_PIN = "stestr==4.2.1"

# Each suite: the pinned release, the test requirements installed with it
# (from its test-requirements.txt / [test] extra, less linters, coverage,
# docs and functional-test-only tools), and how its suite is run from the
# unpacked sdist.  ``conf`` is written as .stestr.conf where the sdist has
# none (or one neither tool can use); ``None`` keeps the sdist's own, except
# that a ``top_path`` key (a typo several oslo libraries ship; stestr
# ignores it, testr rejects the file with exit 3) is renamed ``top_dir``
# and the result says so.  ``env`` and ``wrap`` (a command prefix) are what
# the project's tox.ini sets around ``stestr run``.
SUITES = [
    {
        "name": "oslo.config", "pin": "oslo.config==10.7.0",
        "deps": ["fixtures", "testscenarios", "testtools", "oslotest",
                 "oslo.log", "requests-mock"],
        "env": {"OS_STDOUT_CAPTURE": "1", "OS_STDERR_CAPTURE": "1",
                "OS_TEST_TIMEOUT": "60"},
        "conf": None,  # test_path=. (discovers from the top), testscenarios
    },
    {
        "name": "oslo.utils", "pin": "oslo.utils==10.2.0",
        "deps": ["eventlet", "fixtures", "testscenarios", "testtools",
                 "oslotest", "ddt", "oslo.config", "tzdata",
                 "cryptography"],  # tox: extras = image-inspection
        "conf": None,  # testscenarios, ddt, eventlet
    },
    {
        "name": "oslo.serialization", "pin": "oslo.serialization==5.11.0",
        "deps": ["netaddr", "oslotest", "oslo.i18n", "tzdata"],
        "conf": None,
    },
    {
        "name": "oslo.i18n", "pin": "oslo.i18n==6.9.0",
        "deps": ["oslotest", "testscenarios", "oslo.config"],
        "conf": None,
    },
    {
        "name": "oslo.concurrency", "pin": "oslo.concurrency==7.6.1",
        "deps": ["oslotest", "fixtures", "eventlet"],
        # As its tox.ini runs it (first of its two runs): without the
        # wrapper, which sets OSLO_LOCK_PATH, lockutils tests fail and
        # stestr hangs too.
        "env": {"TEST_EVENTLET": "0"},
        "wrap": ["lockutils-wrapper"],
        "conf": None,  # processutils, lockutils with fork/multiprocessing
    },
    {
        "name": "stevedore", "pin": "stevedore==5.10.0",
        "deps": ["sphinx"],  # test_sphinxext
        "conf": None,  # entry points of the installed distribution
    },
    {
        "name": "cliff", "pin": "cliff==4.17.0",
        "deps": ["testscenarios", "testtools", "fixtures", "sphinx"],
        "env": {"OS_STDOUT_CAPTURE": "1", "OS_STDERR_CAPTURE": "1",
                "OS_TEST_TIMEOUT": "60"},
        "conf": None,  # test_path=./cliff, testscenarios
    },
    {
        "name": "futurist", "pin": "futurist==3.5.0",
        "deps": ["eventlet", "oslotest", "testscenarios", "testtools",
                 "prettytable"],
        "conf": None,  # ProcessPoolExecutor (fork), testscenarios
    },
    {
        "name": "debtcollector", "pin": "debtcollector==3.1.0",
        "deps": ["testtools", "fixtures"],
        "conf": None,
    },
    {
        "name": "keystoneauth1", "pin": "keystoneauth1==5.18.1",
        "deps": ["fixtures", "oslo.config", "oslo.utils", "oslotest",
                 "betamax", "requests-mock", "testresources", "testtools",
                 "PyYAML", "lxml", "oauthlib"],
        # requests-kerberos left out: gssapi builds only with krb5-config
        # (libkrb5-dev); its tests skip without it.
        "conf": None,  # ~2,000 tests, testscenarios/testresources
    },
    {
        "name": "python-novaclient", "pin": "python-novaclient==18.13.1",
        # tempest and openstacksdk serve only its functional tests
        "deps": ["fixtures", "requests-mock", "osprofiler",
                 "testscenarios", "testtools"],
        "conf": None,  # ~4,000 tests; test_path=${OS_TEST_PATH:-...}
    },
    {
        "name": "testtools", "pin": "testtools==2.9.1",
        # tox: extras test + twisted (tests/twistedsupport needs Twisted)
        "deps": ["testscenarios", "testresources", "fixtures", "twisted"],
        # The sdist has a .testr.conf (command mode); its tests live in the
        # top-level tests/ package.
        "conf": "[DEFAULT]\ntest_path=./tests\ntop_dir=./\n",
    },
    {
        "name": "fixtures", "pin": "fixtures==4.3.2",
        "deps": ["testtools"],
        "conf": "[DEFAULT]\ntest_path=./tests\ntop_dir=./\n",
    },
    {
        "name": "python-subunit", "pin": "python-subunit==1.4.6",
        "deps": ["fixtures", "hypothesis", "testscenarios"],
        "conf": "[DEFAULT]\ntest_path=./python/tests\ntop_dir=./python\n",
    },
    {
        "name": "automaton", "pin": "automaton==3.5.0",
        "deps": ["oslotest", "testtools"],
        "env": {"OS_STDOUT_CAPTURE": "1", "OS_STDERR_CAPTURE": "1",
                "OS_TEST_TIMEOUT": "60"},
        "conf": None,
    },
    # Order-dependent suites (see the order findings in README.rst): each
    # passes in listing order, serially and under stestr, but has tests
    # that fail after tests listed later in the suite.
    {
        "name": "python-heatclient", "pin": "python-heatclient==5.3.0",
        # tempest serves only its functional tests; heatclient.osc.v1
        # imports openstackclient (a test requirement, not a dependency)
        "deps": ["fixtures", "requests-mock", "python-openstackclient",
                 "testscenarios", "testtools"],
        "conf": None,  # ~900 tests; test_shell breaks after later modules
    },
    {
        "name": "python-glanceclient", "pin": "python-glanceclient==4.13.0",
        # openstacksdk and tempest serve only its functional tests
        "deps": ["testtools", "testscenarios", "ddt", "fixtures",
                 "requests-mock"],
        "env": {"OS_STDOUT_NOCAPTURE": "False",
                "OS_STDERR_NOCAPTURE": "False"},
        "conf": None,  # top_path typo; ~750 tests
    },
    {
        "name": "python-cinderclient", "pin": "python-cinderclient==9.10.0",
        "deps": ["ddt", "fixtures", "requests-mock", "testtools",
                 "oslo.serialization"],
        "env": {"OS_STDOUT_CAPTURE": "1", "OS_STDERR_CAPTURE": "1",
                "OS_TEST_TIMEOUT": "60"},
        "conf": None,  # ~740 tests, ddt
    },
    # Left out:
    # - taskflow: its unit tests need running services (zookeeper, redis,
    #   etcd, a database via pifpaf) or skip most of the suite; too heavy.
    # - os-brick: needs root-level system tools mocked per platform; its
    #   sdist pulls a long dependency chain (oslo.privsep, ...).
]

# What each subunit status counts as.
STATUS_MAP = {
    "success": "success", "fail": "fail", "skip": "skip",
    "xfail": "xfail", "uxsuccess": "uxsuccess",
    "inprogress": "incomplete", None: "incomplete",
}
# When one run reports an id more than once, the worst outcome wins.
SEVERITY = ["fail", "uxsuccess", "incomplete", "success", "xfail", "skip"]

# Parses a subunit v2 stream on stdin into a JSON list; run by the side venv.
PARSER = r"""
import json, sys
import subunit, testtools
out = []
def on_test(t):
    msg = ""
    det = t.get("details") or {}
    for key in ("traceback", "reason") + tuple(det):
        if key in det:
            try:
                txt = det[key].as_text()
            except Exception:
                continue
            lines = [l for l in txt.strip().splitlines() if l.strip()]
            if lines:
                msg = lines[-1].strip()[:300]
                break
    ts = t.get("timestamps") or (None, None)
    dur = None
    if ts[0] is not None and ts[1] is not None:
        dur = (ts[1] - ts[0]).total_seconds()
    out.append({"id": t["id"], "status": t["status"], "dur": dur, "msg": msg})
res = testtools.StreamToDict(on_test)
res.startTestRun()
subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name="stdout").run(res)
res.stopTestRun()
json.dump(out, sys.stdout)
"""

# Runs one command in its own session under a wall-time limit and prints
# JSON: exit code, wall time, the largest RSS of its process tree
# (RUSAGE_CHILDREN of this wrapper, whose only child is the tool), and, on a
# timeout, the processes of the run as they were when it was killed.
WRAPPER = r"""
import json, os, resource, signal, subprocess, sys, time
timeout = float(sys.argv[1]); out = sys.argv[2]; log = sys.argv[3]
marker = os.environ["CORPUS_RUN_MARKER"]
def members(sid):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read()
            fields = st[st.rindex(")") + 2:].split()
            mine = int(fields[3]) == sid
            if not mine:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    mine = marker.encode() in f.read()
            if mine:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
                try:
                    with open(f"/proc/{pid}/wchan") as f:
                        wchan = f.read()
                except OSError:
                    wchan = ""
                found.append({"pid": int(pid), "ppid": int(fields[1]),
                              "state": fields[0], "wchan": wchan,
                              "cmd": cmd[:300]})
        except (OSError, ValueError):
            pass
    return found
with open(log, "wb") as logf:
    t0 = time.perf_counter()
    p = subprocess.Popen(sys.argv[4:], stdout=logf, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    timed_out = False
    tree = []
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        tree = [m for m in members(p.pid) if m["pid"] != os.getpid()]
        try:
            os.kill(p.pid, signal.SIGTERM)
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            rc = p.wait()
        # A hung run's workers are not orphans of a normal exit: kill them
        # here, so that only runs that ended by themselves report orphans.
        for m in members(p.pid):
            if m["pid"] != os.getpid():
                try:
                    os.kill(m["pid"], signal.SIGKILL)
                except OSError:
                    pass
    wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w") as f:
    json.dump({"rc": rc, "wall": wall, "maxrss_kb": ru.ru_maxrss,
               "timed_out": timed_out, "tree_at_timeout": tree,
               "sid": p.pid}, f)
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    log("+ " + " ".join(cmd))
    return subprocess.run(cmd, check=True, **kw)


# ---------------------------------------------------------------- install

def pins_digest(suites, testrepo, tools):
    text = "\n".join(list(tools) + [testrepo] + [
        s["pin"] + ":" + ",".join(s["deps"]) for s in suites])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def install(args, suites, tools=(STESTR_PIN,)):
    """The side venv with ``tools`` (pinned requirements) and every suite's
    pin and deps; each pinned sdist unpacked under WORKDIR/src."""
    venv = args.venv
    py = os.path.join(venv, "bin", "python")
    marker = os.path.join(venv, ".corpus-pins")
    digest = pins_digest(suites, args.testrepo, tools)
    if args.skip_install:
        if not os.path.exists(py):
            sys.exit(f"--skip-install: no venv at {venv}")
    elif os.path.exists(marker) and open(marker).read() == digest:
        log(f"venv {venv} already holds these pins; reusing it")
    else:
        if not os.path.exists(py):
            sh([sys.executable, "-m", "venv", venv])
        reqs = list(tools)
        for s in suites:
            reqs.append(s["pin"])
            reqs.extend(s["deps"])
        # One resolver call, so that a conflict between two suites' pins
        # shows up instead of the last install silently winning.
        sh([py, "-m", "pip", "install", "-q", *reqs, "-e", args.testrepo])
        with open(marker, "w") as f:
            f.write(digest)
    # stestr comes compiled from its wheel; testrepo is installed editable,
    # and with PYTHONDONTWRITEBYTECODE set every testr process would compile
    # it again.  Compiled, both tools start as a pip-installed tool does.
    subprocess.run([py, "-m", "compileall", "-q", os.path.join(args.testrepo, "testrepo")],
                   stdout=subprocess.DEVNULL, check=True)
    os.makedirs(args.workdir, exist_ok=True)
    freeze = subprocess.run([py, "-m", "pip", "freeze"], capture_output=True,
                            text=True).stdout
    with open(os.path.join(args.workdir, "freeze.txt"), "w") as f:
        f.write(freeze)
    # The sources: each pinned sdist, unpacked once.
    sdists = os.path.join(args.workdir, "sdists")
    srcroot = os.path.join(args.workdir, "src")
    os.makedirs(sdists, exist_ok=True)
    os.makedirs(srcroot, exist_ok=True)
    for s in suites:
        dest = os.path.join(srcroot, s["name"])
        if os.path.isdir(dest):
            continue
        name, version = s["pin"].split("==")
        norm = re.sub(r"[-_.]+", "_", name).lower()
        have = [f for f in os.listdir(sdists)
                if f.lower().startswith(f"{norm}-{version}.")
                or f.lower().startswith(f"{name.lower()}-{version}.")]
        if not have:
            sh([py, "-m", "pip", "download", "-q", "--no-deps",
                "--no-binary", ":all:", "-d", sdists, s["pin"]])
            have = [f for f in os.listdir(sdists)
                    if f.lower().startswith(f"{norm}-{version}.")
                    or f.lower().startswith(f"{name.lower()}-{version}.")]
        archive = os.path.join(sdists, have[0])
        tmp = dest + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        with tarfile.open(archive) as tf:
            tf.extractall(tmp, filter="data")
        (top,) = os.listdir(tmp)
        os.rename(os.path.join(tmp, top), dest)
        os.rmdir(tmp)
    return py, freeze


# ------------------------------------------------------------------- runs

def run_env(venv, marker, extra=None):
    env = dict(os.environ)
    for var in ("PYTHONPATH", "OS_TEST_PATH", "PYTHONHOME", "TESTR_CONFIG"):
        env.pop(var, None)
    env["VIRTUAL_ENV"] = venv
    env["PATH"] = os.path.join(venv, "bin") + os.pathsep + env.get("PATH", "")
    env["CORPUS_RUN_MARKER"] = marker
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def proc_members(sid, marker):
    """Processes in session ``sid`` or carrying ``marker`` in their env."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read()
            fields = st[st.rindex(")") + 2:].split()
            mine = int(fields[3]) == sid
            if not mine:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    mine = marker.encode() in f.read()
            if mine and fields[0] != "Z":  # a zombie is gone already
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(
                        errors="replace")
                found.append({"pid": int(pid), "ppid": int(fields[1]),
                              "state": fields[0], "cmd": cmd[:300]})
        except (OSError, ValueError):
            pass
    return found


def timed_run(cmd, cwd, venv, timeout, logpath, extra_env=None):
    marker = "corpus-" + uuid.uuid4().hex
    env = run_env(venv, marker, extra_env)
    res_path = logpath + ".json"
    subprocess.run([sys.executable, "-c", WRAPPER, str(timeout), res_path,
                    logpath, *cmd], cwd=cwd, env=env, check=True)
    with open(res_path) as f:
        res = json.load(f)
    time.sleep(0.3)  # let exiting processes go
    orphans = proc_members(res["sid"], marker)
    for o in orphans:
        try:
            os.kill(o["pid"], signal.SIGKILL)
        except OSError:
            pass
    res["orphans"] = [] if res["timed_out"] else orphans
    res["cmd"] = cmd
    return res


def parse_subunit(py, data):
    if not data:
        return []
    out = subprocess.run([py, "-c", PARSER], input=data, capture_output=True)
    if out.returncode:
        log("subunit parse failed: " + out.stderr.decode()[-500:])
        return []
    return json.loads(out.stdout)


def outcomes_of(records):
    """{id: (outcome, duration, message)}; the worst outcome of an id wins."""
    res = {}
    for r in records:
        if r["status"] == "exists":
            continue
        st = STATUS_MAP.get(r["status"], r["status"])
        old = res.get(r["id"])
        if old is None or SEVERITY.index(st) < SEVERITY.index(old[0]):
            res[r["id"]] = (st, r["dur"], r["msg"])
    return res


TOOLS = {
    "stestr": {
        "run": lambda venv: [os.path.join(venv, "bin", "stestr"),
                             "--config", ".stestr.conf", "run",
                             "--concurrency", "2"],
        "last": lambda venv: [os.path.join(venv, "bin", "stestr"),
                              "--config", ".stestr.conf", "last",
                              "--subunit"],
        "repo": ".stestr",
    },
    "testr": {
        "run": lambda venv: [os.path.join(venv, "bin", "testr"),
                             "-c", ".stestr.conf", "run",
                             "--concurrency", "2"],
        "last": lambda venv: [os.path.join(venv, "bin", "testr"),
                              "-c", ".stestr.conf", "last", "--subunit"],
        "repo": ".testrepository",
    },
}

TRACE_LINE = re.compile(r"^\{\d+\} (\S+) \[")


def fresh_copy(src, dest, conf):
    """Copy the sources; return a note if .stestr.conf had to be fixed."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, symlinks=True)
    path = os.path.join(dest, ".stestr.conf")
    if conf is not None:
        with open(path, "w") as f:
            f.write(conf)
        return "corpus writes .stestr.conf: " + conf.replace("\n", "; ")
    with open(path) as f:
        text = f.read()
    if re.search(r"^top_path\s*=", text, re.M):
        with open(path, "w") as f:
            f.write(re.sub(r"^top_path(\s*=)", r"top_dir\1", text,
                           flags=re.M))
        return ("sdist's .stestr.conf has top_path (stestr ignores it; testr "
                "before 4bad3ff exited 3: unknown option); renamed top_dir")
    return None


def run_suite(args, py, suite):
    name = suite["name"]
    src = os.path.join(args.workdir, "src", name)
    base = os.path.join(args.workdir, "run", name)
    logs = os.path.join(args.workdir, "logs", name)
    os.makedirs(logs, exist_ok=True)
    runs = []
    tools = list(TOOLS)
    for tool in tools:
        note = fresh_copy(src, os.path.join(base, tool), suite["conf"])
    for rep in range(args.reps):
        order = tools[rep % 2:] + tools[:rep % 2]
        for tool in order:
            cwd = os.path.join(base, tool)
            shutil.rmtree(os.path.join(cwd, TOOLS[tool]["repo"]),
                          ignore_errors=True)
            for kind in ("first", "history"):
                logpath = os.path.join(logs, f"{tool}-{kind}-{rep}.log")
                log(f"[{name}] rep {rep} {tool} {kind}")
                res = timed_run(
                    suite.get("wrap", []) + TOOLS[tool]["run"](args.venv),
                    cwd, args.venv, args.timeout, logpath, suite.get("env"))
                res.update(tool=tool, kind=kind, rep=rep, log=logpath)
                if res["timed_out"]:
                    # What finished, from the trace output: the hung test
                    # is among the ids never reported.
                    with open(logpath, errors="replace") as f:
                        res["trace_done"] = [
                            m.group(1) for m in map(TRACE_LINE.match, f)
                            if m]
                    res["records"] = []
                else:
                    last = subprocess.run(
                        TOOLS[tool]["last"](args.venv), cwd=cwd,
                        capture_output=True,
                        env=run_env(args.venv, "corpus-last",
                                    suite.get("env")))
                    res["records"] = parse_subunit(py, last.stdout)
                log(f"[{name}]   rc={res['rc']} wall={res['wall']:.1f}s "
                    f"maxrss={res['maxrss_kb'] // 1024}MB "
                    f"results={len(res['records'])} "
                    f"timeout={res['timed_out']} "
                    f"orphans={len(res['orphans'])}")
                runs.append(res)
                if res["timed_out"] and kind == "first":
                    # A history run after a hang starts from whatever the
                    # tool stored; still run it, the hang may be the
                    # subject of the comparison.
                    pass
    result = analyse(args, py, suite, runs)
    result["conf_note"] = note
    result["env"] = suite.get("env", {})
    result["wrap"] = suite.get("wrap", [])
    return result


# How often a differing id is rerun alone (in a fresh process, nothing else
# in it), stopping as soon as two outcomes have been seen.
ALONE_REPS = 20


def isolated_outcome(args, py, suite, test_id):
    """Run one id alone with subunit.run (load-list) in its own copy, up to
    ALONE_REPS times; its outcome, or e.g. "fail 1/3, success 2/3" when it
    changes with nothing else in the process (flaky in itself)."""
    cwd = os.path.join(args.workdir, "run", suite["name"], "isolated")
    if not os.path.isdir(cwd):
        fresh_copy(os.path.join(args.workdir, "src", suite["name"]), cwd,
                   suite["conf"])
    conf = {}
    with open(os.path.join(cwd, ".stestr.conf")) as f:
        for line in f:
            if "=" in line:
                k, v = line.split("=", 1)
                conf[k.strip()] = v.strip()
    test_path = re.sub(r"\$\{[A-Z_]+:-(.*)\}", r"\1",
                       conf.get("test_path", "."))
    top = conf.get("top_dir", "./")
    idfile = os.path.join(cwd, "corpus-ids.txt")
    with open(idfile, "w") as f:
        # A testscenarios id ("X.test_a(thread)") is listed as X.test_a and
        # gets its suffix at run time: the load list names the listed id.
        f.write(test_id + "\n" + re.sub(r"\([^()]*\)$", "", test_id) + "\n")
    outcomes, msg = [], ""
    for _ in range(ALONE_REPS):
        try:
            out = subprocess.run(
                suite.get("wrap", []) + [
                    py, "-m", "subunit.run", "discover", "-t", top, test_path,
                    "--load-list", idfile], cwd=cwd, capture_output=True,
                timeout=min(args.timeout, 300),
                env=run_env(args.venv, "corpus-isolated", suite.get("env")),
                start_new_session=True)
        except subprocess.TimeoutExpired:
            outcomes.append("hang")
            break
        got = outcomes_of(parse_subunit(py, out.stdout)).get(test_id)
        if got is None:
            return ("not-run", out.stderr.decode(errors="replace")[-200:])
        outcomes.append(got[0])
        if got[0] != "success":
            msg = msg or got[2]
        if len(set(outcomes)) > 1:
            break
    uniq = sorted(set(outcomes))
    if len(uniq) == 1:
        return (uniq[0], msg)
    return (", ".join(f"{u} {outcomes.count(u)}/{len(outcomes)}" for u in uniq), msg)


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def analyse(args, py, suite, runs):
    per_tool = {}
    for tool in TOOLS:
        mine = [r for r in runs if r["tool"] == tool]
        done = [r for r in mine if not r["timed_out"]]
        seen = {}  # id -> list of outcomes over runs
        durs = []
        msgs = {}
        for r in done:
            oc = outcomes_of(r["records"])
            durs.append(sum(v[1] or 0.0 for v in oc.values()))
            for tid, (st, _, msg) in oc.items():
                seen.setdefault(tid, []).append(st)
                if st in ("fail", "uxsuccess", "incomplete") and msg:
                    msgs.setdefault(tid, msg)
        counts = {}
        for r in done:
            for st, _, _ in outcomes_of(r["records"]).values():
                counts[st] = counts.get(st, 0) + 1
        per_tool[tool] = {
            "ids": seen, "msgs": msgs,
            "n_ids": len(seen),
            "counts_per_run": {k: v / max(len(done), 1)
                               for k, v in counts.items()},
            "wall_first": med([r["wall"] for r in mine
                               if r["kind"] == "first"]),
            "wall_history": med([r["wall"] for r in mine
                                 if r["kind"] == "history"]),
            "test_time": med(durs),
            "maxrss_mb": max(r["maxrss_kb"] for r in mine) / 1024,
            "hangs": sum(r["timed_out"] for r in mine),
            "runs": len(mine),
            "rcs": [r["rc"] for r in mine],
            "orphans": [o for r in mine for o in r["orphans"]],
            "hang_detail": [
                {"kind": r["kind"], "rep": r["rep"],
                 "tree": r["tree_at_timeout"],
                 "finished": len(r.get("trace_done", [])),
                 "trace_done": r.get("trace_done", [])}
                for r in mine if r["timed_out"]],
        }
    s, t = per_tool["stestr"], per_tool["testr"]
    ids_s, ids_t = set(s["ids"]), set(t["ids"])
    common = ids_s & ids_t

    def summary(outs):
        # One outcome if every run agreed, else e.g. "fail 1/2, success 1/2"
        uniq = sorted(set(outs))
        if len(uniq) == 1:
            return uniq[0]
        return ", ".join(f"{u} {outs.count(u)}/{len(outs)}" for u in uniq)

    # An id whose outcome changes between runs under each tool is flaky in
    # itself: both tools agree that it is, and how often each drew the
    # failure in a few runs says nothing about the tool.  It counts as
    # agreeing, and is listed (with its counts) as flaky under both.
    flaky_both = sorted(i for i in common
                        if len(set(s["ids"][i])) > 1 and len(set(t["ids"][i])) > 1)
    same = [i for i in common
            if summary(s["ids"][i]) == summary(t["ids"][i]) or i in flaky_both]
    diffs = sorted(i for i in common if i not in same)
    only_s = sorted(ids_s - ids_t)
    only_t = sorted(ids_t - ids_s)
    details = []
    for tid in (diffs + only_s + only_t)[:args.max_diffs]:
        d = {"id": tid,
             "stestr": summary(s["ids"][tid]) if tid in s["ids"] else "absent",
             "testr": summary(t["ids"][tid]) if tid in t["ids"] else "absent",
             "stestr_msg": s["msgs"].get(tid, ""),
             "testr_msg": t["msgs"].get(tid, "")}
        iso, iso_msg = isolated_outcome(args, py, suite, tid)
        d["isolated"] = iso
        d["isolated_msg"] = iso_msg
        d["reason"] = guess_reason(d)
        details.append(d)
    # An id whose outcome changes when it runs alone is flaky in itself
    # (futurist's test_shutdown_cancel_futures_cancels_pending_tasks races
    # its scheduler thread): like one flaky under both tools, it counts as
    # agreeing and is listed with its counts.
    flaky_alone = [d for d in details if "," in d["isolated"] and d["id"] in common]
    same += [d["id"] for d in flaky_alone]
    diffs = [i for i in diffs if i not in same]
    details = [d for d in details if d not in flaky_alone]
    # Hang: ids the other tool reported that the hung run never finished.
    hangs = t["hang_detail"] + s["hang_detail"]
    listed = set()
    if hangs and not (ids_s or ids_t):
        cwd = os.path.join(args.workdir, "run", suite["name"], "stestr")
        out = subprocess.run(
            [os.path.join(args.venv, "bin", "stestr"), "--config",
             ".stestr.conf", "list"], cwd=cwd, capture_output=True,
            text=True, env=run_env(args.venv, "corpus-list",
                                   suite.get("env")))
        listed = {l.strip() for l in out.stdout.splitlines() if l.strip()}
    for h in hangs:
        done = set(h.pop("trace_done"))
        other = ids_s | ids_t | listed
        h["unfinished_sample"] = sorted(other - done)[:10]
        h["unfinished"] = len(other - done)
    result = {
        "suite": suite["name"], "pin": suite["pin"],
        "ids": {"stestr": len(ids_s), "testr": len(ids_t),
                "identical": ids_s == ids_t, "only_stestr": len(only_s),
                "only_testr": len(only_t)},
        "agreement_pct": (100.0 * len(same) / len(common)) if common else None,
        "n_diffs": len(diffs),
        "flaky_both": [{"id": i, "stestr": summary(s["ids"][i]),
                        "testr": summary(t["ids"][i])} for i in flaky_both],
        "flaky_alone": flaky_alone,
        "diffs": details,
        "tools": {k: {kk: vv for kk, vv in v.items()
                      if kk not in ("ids", "msgs")}
                  for k, v in per_tool.items()},
    }
    for kind in ("first", "history"):
        a, b = t[f"wall_{kind}"], s[f"wall_{kind}"]
        result[f"ratio_{kind}"] = (a / b) if a and b else None
    return result


def guess_reason(d):
    msgs = d["testr_msg"] + " " + d["stestr_msg"]
    if "reported no result" in msgs:
        return "testr runner: id handed to a worker that reported no result"
    if "," in d["isolated"]:
        return "flaky alone: its outcome changes with nothing else in the process"
    if d["stestr"] == "absent" or d["testr"] == "absent":
        return "id reported by one tool only"
    if "," in d["stestr"] or "," in d["testr"]:
        if d["isolated"] == "success":
            # As python-heatclient's test_shell under testr with history:
            # the runs that failed had a polluter before it on its worker.
            return ("fails in some runs of one tool, passes alone: order-"
                    "dependent (run `testr run --analyze-isolation` in the "
                    "tool's copy after a failing run) or flaky")
        return "flaky: outcome changes between runs of the same tool"
    if d["isolated"] == d["stestr"]:
        return ("isolated run agrees with stestr: testr's outcome comes from "
                "its process/order/runner")
    if d["isolated"] == d["testr"]:
        return ("isolated run agrees with testr: stestr's outcome comes from "
                "its process/order")
    return "undetermined"


# ----------------------------------------------------------------- report

def fmt(v, spec="{:.2f}", none="-"):
    return none if v is None else spec.format(v)


def print_report(results, out=sys.stdout):
    for r in results:
        s, t = r["tools"]["stestr"], r["tools"]["testr"]
        print(f"\n== {r['suite']} ({r['pin']})", file=out)
        if r.get("conf_note"):
            print(f"  note: {r['conf_note']}", file=out)
        if r.get("env") or r.get("wrap"):
            print(f"  env {r.get('env')} wrap {r.get('wrap')}", file=out)
        rows = [
            ("ids reported", s["n_ids"], t["n_ids"]),
            ("outcomes per run", _counts(s), _counts(t)),
            ("wall first run, median s", fmt(s["wall_first"]),
             fmt(t["wall_first"])),
            ("wall with history, median s", fmt(s["wall_history"]),
             fmt(t["wall_history"])),
            ("summed test time, median s", fmt(s["test_time"], "{:.3f}"),
             fmt(t["test_time"], "{:.3f}")),
            ("peak RSS of one process, MB", fmt(s["maxrss_mb"], "{:.0f}"),
             fmt(t["maxrss_mb"], "{:.0f}")),
            ("hangs (runs killed)", f"{s['hangs']}/{s['runs']}",
             f"{t['hangs']}/{t['runs']}"),
            ("orphan processes", len(s["orphans"]), len(t["orphans"])),
            ("exit codes", s["rcs"], t["rcs"]),
        ]
        print(f"  {'':32} {'stestr':>24} {'testr':>24}", file=out)
        for label, a, b in rows:
            print(f"  {label:32} {str(a):>24} {str(b):>24}", file=out)
        print(f"  id sets identical: {r['ids']['identical']} "
              f"(only stestr {r['ids']['only_stestr']}, only testr "
              f"{r['ids']['only_testr']}); outcome agreement "
              f"{fmt(r['agreement_pct'], '{:.2f}%')} ({r['n_diffs']} differ); "
              f"wall testr/stestr first {fmt(r['ratio_first'])}, "
              f"history {fmt(r['ratio_history'])}", file=out)
        for f in r.get("flaky_both", ()):
            print(f"  ~ flaky under both tools (counted as agreeing): {f['id']}\n"
                  f"      stestr: {f['stestr']}\n      testr:  {f['testr']}", file=out)
        for d in r.get("flaky_alone", ()):
            print(f"  ~ flaky alone (counted as agreeing): {d['id']}\n"
                  f"      stestr: {d['stestr']}\n      testr:  {d['testr']}\n"
                  f"      alone:  {d['isolated']} {d['isolated_msg'][:120]}", file=out)
        for d in r["diffs"]:
            print(f"  - {d['id']}\n      stestr: {d['stestr']} "
                  f"{d['stestr_msg'][:120]}\n      testr:  {d['testr']} "
                  f"{d['testr_msg'][:120]}\n      alone:  {d['isolated']} "
                  f"{d['isolated_msg'][:120]}\n      -> {d['reason']}",
                  file=out)
        for tool in ("stestr", "testr"):
            for h in r["tools"][tool]["hang_detail"]:
                print(f"  HANG {tool} {h['kind']} rep {h['rep']}: "
                      f"{h['finished']} finished, {h['unfinished']} not; "
                      f"e.g. {h['unfinished_sample'][:3]}", file=out)
                for p in h["tree"]:
                    print(f"      pid {p['pid']} ppid {p['ppid']} "
                          f"{p['state']} {p['wchan']}: {p['cmd'][:150]}",
                          file=out)
            for o in r["tools"][tool]["orphans"]:
                print(f"  ORPHAN {tool}: pid {o['pid']} {o['cmd'][:150]}",
                      file=out)


def _counts(t):
    c = t["counts_per_run"]
    return " ".join(f"{k[:4]}={v:g}" for k, v in sorted(c.items()))


def _flaky_note(r):
    notes = []
    n = len(r.get("flaky_both", ()))
    if n:
        notes.append(f"{n} flaky under both")
    n = len(r.get("flaky_alone", ()))
    if n:
        notes.append(f"{n} flaky alone")
    return "".join(f", {note}" for note in notes)


def markdown(results):
    lines = [
        "| suite | ids stestr / testr | same ids | same outcome | "
        "wall testr/stestr first | with history | test time s stestr / "
        "testr | peak RSS MB stestr / testr | hangs stestr / testr | "
        "orphans stestr / testr |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s, t = r["tools"]["stestr"], r["tools"]["testr"]
        lines.append(
            f"| {r['pin']} | {s['n_ids']} / {t['n_ids']} | "
            f"{'yes' if r['ids']['identical'] else 'no'} | "
            f"{fmt(r['agreement_pct'], '{:.1f}%')} ({r['n_diffs']} differ"
            f"{_flaky_note(r)}) | "
            f"{fmt(r['ratio_first'])} | {fmt(r['ratio_history'])} | "
            f"{fmt(s['test_time'], '{:.2f}')} / "
            f"{fmt(t['test_time'], '{:.2f}')} | "
            f"{fmt(s['maxrss_mb'], '{:.0f}')} / "
            f"{fmt(t['maxrss_mb'], '{:.0f}')} | "
            f"{s['hangs']}/{s['runs']} / {t['hangs']}/{t['runs']} | "
            f"{len(s['orphans'])} / {len(t['orphans'])} |")
    return "\n".join(lines)


def add_corpus_arguments(ap, name):
    """The options both corpora take; ``name`` names the default
    workdir and venv under $TMPDIR (``NAME-work``, ``NAME-venv``)."""
    ap.add_argument("--only", help="comma-separated suite names")
    ap.add_argument("--reps", type=int, default=2,
                    help="repetitions of (first run, run with history) per "
                         "tool (default 2)")
    ap.add_argument("--timeout", type=float, default=300,
                    help="wall-time limit of one run, seconds; a run killed "
                         "at it counts as a hang (default 300)")
    ap.add_argument("--workdir", default=os.path.join(TMP, f"{name}-work"))
    ap.add_argument("--venv", default=os.path.join(TMP, f"{name}-venv"))
    ap.add_argument("--skip-install", action="store_true",
                    help="use --venv as it is (no pip install)")
    ap.add_argument("--testrepo", default=os.path.dirname(HERE),
                    help="testrepo checkout to install editable "
                         "(default: the one holding this script)")
    ap.add_argument("--json", metavar="FILE", help="write the results here")
    ap.add_argument("--max-diffs", type=int, default=8,
                    help="differing ids per suite to rerun alone (default 8)")
    ap.add_argument("--list", action="store_true",
                    help="list the suites and exit")


def selected_suites(args, suites):
    """The suites ``--only`` names (all without it); exits on an unknown
    name.  Makes --workdir and --venv absolute."""
    args.workdir = os.path.abspath(args.workdir)
    args.venv = os.path.abspath(args.venv)
    if not args.only:
        return suites
    want = args.only.split(",")
    unknown = set(want) - {s["name"] for s in suites}
    if unknown:
        sys.exit(f"unknown suite(s): {', '.join(sorted(unknown))}")
    return [s for s in suites if s["name"] in want]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_corpus_arguments(ap, "corpus")
    ap.add_argument("--markdown", action="store_true",
                    help="also print a markdown table for doc/performance.rst")
    args = ap.parse_args(argv)
    if args.list:
        for s in SUITES:
            print(s["pin"])
        return 0
    suites = selected_suites(args, SUITES)
    py, freeze = install(args, suites if args.skip_install else SUITES)
    results = run_corpus(args, py, freeze, suites, run_suite, print_report,
                         {"stestr": STESTR_PIN})
    if args.markdown:
        print()
        print(markdown(results))
    return 0


def run_corpus(args, py, freeze, suites, run_one, report, facts):
    """Run each suite with ``run_one(args, py, suite)``, ``report`` each
    result as it comes (stderr) and all at the end (stdout), write
    ``--json`` with ``facts`` (the tools' pins) added; the results."""
    results = []
    started = time.time()
    for suite in suites:
        results.append(run_one(args, py, suite))
        report(results[-1:], out=sys.stderr)
    report(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"started": started, "host": platform.node(),
                       "cpus": os.cpu_count(), "reps": args.reps,
                       "timeout": args.timeout, **facts,
                       "python": subprocess.run(
                           [py, "--version"], capture_output=True,
                           text=True).stdout.strip(),
                       "testrepo_commit": subprocess.run(
                           ["git", "-C", args.testrepo, "describe",
                            "--always", "--dirty"], capture_output=True,
                           text=True).stdout.strip(),
                       "freeze": freeze.splitlines(),
                       "results": results}, f, indent=1)
    return results

if __name__ == "__main__":
    sys.exit(main())
