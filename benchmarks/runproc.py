"""Run one command and measure it (standard library only).

``measure()`` starts the command in its own session, waits for it with
``os.wait4`` in a helper thread (the end time is taken the moment the wait
returns), optionally polls ``VmHWM`` of the started process from ``/proc``,
kills the command's process group at a time cap and afterwards (leftover
workers), and returns wall time, exit code, rusage and the log text.

``parse_counts()`` reads the test counts from the summary each tool prints.
"""

import os
import re
import signal
import subprocess
import threading
import time


def loadavg():
    """The 1-minute load average, or None."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _vm_hwm_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def measure(argv, cwd, env, log_path, timeout=900.0, poll_hwm=False, poll_interval=0.05):
    """Run argv in cwd; stdout and stderr go to log_path.

    Returns a dict: wall_s, rc (negative: killed by that signal), timed_out,
    max_rss_kb (rusage of the waited tree: the largest single process),
    user_s/sys_s (CPU of the process and the children it waited for),
    parent_hwm_kb (last VmHWM read of the started process, if poll_hwm),
    load_before, log_path, text (the log).
    """
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    load_before = loadavg()
    done = threading.Event()
    result = {}
    with open(log_path, "wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)

        def wait():
            _, status, usage = os.wait4(proc.pid, 0)
            result["t1"] = time.perf_counter()
            result["status"] = status
            result["usage"] = usage
            done.set()

        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        hwm = None
        timed_out = False
        deadline = t0 + timeout if timeout else None
        while not done.is_set():
            if poll_hwm:
                value = _vm_hwm_kb(proc.pid)
                if value is not None and not done.is_set():
                    hwm = value
            if deadline and time.perf_counter() > deadline and not timed_out:
                timed_out = True
                _killpg(proc.pid, signal.SIGKILL)
            done.wait(poll_interval if poll_hwm else 0.5)
        waiter.join()
        proc.returncode = 0  # already reaped by wait4; keep Popen from waiting again
    _killpg(proc.pid, signal.SIGKILL)  # workers left behind by a dying parent
    usage = result["usage"]
    with open(log_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    return {
        "wall_s": round(result["t1"] - t0, 4),
        "rc": os.waitstatus_to_exitcode(result["status"]),
        "timed_out": timed_out,
        "max_rss_kb": usage.ru_maxrss,
        "user_s": round(usage.ru_utime, 3),
        "sys_s": round(usage.ru_stime, 3),
        "parent_hwm_kb": hwm,
        "load_before": load_before,
        "log_path": log_path,
        "text": text,
    }


def _killpg(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run_checked(argv, cwd, env, what):
    """Run an untimed set-up command; raise with its output if it fails."""
    r = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s\n%s" % (
            what, r.returncode, " ".join(argv), r.stdout.decode("utf-8", "replace")[-3000:]))
    return r.stdout.decode("utf-8", "replace")


# --------------------------------------------------------------------------- counts

def _num(pattern, text, flags=re.M):
    m = re.search(pattern, text, flags)
    return int(m.group(1)) if m else None


def _stestr_block(text):
    """stestr's (and testrepo's) Totals block: Ran: N tests ... - Passed: N ..."""
    at = text.rfind("Totals\n======")
    if at < 0:
        return None
    block = text[at:]
    ran = _num(r"^Ran: (\d+) tests?", block)
    passed = _num(r"^\s*- Passed: (\d+)", block)
    failed = _num(r"^\s*- Failed: (\d+)", block)
    skipped = _num(r"^\s*- Skipped: (\d+)", block) or 0
    if ran is None or passed is None:
        return None
    return {"ran": ran, "passed": passed, "failed": failed or 0, "skipped": skipped}


def parse_testrepo(text):
    # The last line of a run: "Totals: 2 passed, 0 failed, 1 skipped";
    # cross-checked against the Totals block's "Ran: N tests".
    m = None
    for m in re.finditer(r"^Totals: (\d+) passed, (\d+) failed, (\d+) skipped", text, re.M):
        pass
    block = _stestr_block(text)
    if m is None:
        return block
    counts = {"passed": int(m.group(1)), "failed": int(m.group(2)), "skipped": int(m.group(3))}
    counts["ran"] = block["ran"] if block else sum(counts.values())
    return counts


def parse_stestr(text):
    return _stestr_block(text)


def parse_testrepository(text):
    # "Ran 20000 tests in 9.6s" then "PASSED (id=0)" or "FAILED (id=0, failures=2, skips=1)"
    ran = None
    for ran in re.finditer(r"^Ran (\d+) tests? in", text, re.M):
        pass
    verdict = None
    for verdict in re.finditer(r"^(PASSED|FAILED) \((.*)\)\s*$", text, re.M):
        pass
    if ran is None or verdict is None:
        return None
    ran = int(ran.group(1))
    failed = _num(r"failures=(\d+)", verdict.group(2)) or 0
    skipped = _num(r"skips=(\d+)", verdict.group(2)) or 0
    return {"ran": ran, "passed": ran - failed - skipped, "failed": failed, "skipped": skipped}


def parse_unittest(text):
    # "Ran 20000 tests in 0.65s" then "OK", "OK (skipped=2)" or "FAILED (failures=1, errors=2)"
    ran = _num(r"^Ran (\d+) tests? in", text)
    m = re.search(r"^(OK|FAILED)\b(?: \((.*)\))?\s*$", text, re.M)
    if ran is None or m is None:
        return None
    detail = m.group(2) or ""
    failed = (_num(r"failures=(\d+)", detail) or 0) + (_num(r"errors=(\d+)", detail) or 0)
    skipped = _num(r"skipped=(\d+)", detail) or 0
    return {"ran": ran, "passed": ran - failed - skipped, "failed": failed, "skipped": skipped}


def parse_pytest(text):
    # "===== 20000 passed in 26.39s =====" (or "2 failed, 18 passed, 1 skipped in ...")
    lines = [l for l in text.splitlines() if re.search(r"\d+ (passed|failed|error)", l)
             and re.search(r" in [\d.]+s", l)]
    if not lines:
        return None
    line = lines[-1]
    get = lambda word: _num(r"(\d+) %s\b" % word, line, 0) or 0
    failed = get("failed") + get("errors") + get("error")
    counts = {"passed": get("passed"), "failed": failed, "skipped": get("skipped")}
    counts["ran"] = sum(counts.values())
    return counts


PARSERS = {
    "testrepo": parse_testrepo,
    "stestr": parse_stestr,
    "testrepository": parse_testrepository,
    "unittest": parse_unittest,
    "pytest": parse_pytest,
}
