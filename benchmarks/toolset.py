"""The tools the benchmarks run, one class each.

A tool knows its executable, how to stage a work directory for a suite
(config file; compiled bytecode), how to drop its history (untimed) and the
command line of one run.  Each tool gets a private copy of the suite: the
project's ``testr`` and testrepository's ``testr`` both read ``.testr.conf``
with different keys.

* ``testrepo``: the project's ``testr`` (built-in runner: ``.testr.conf``
  with ``test_path``/``top_dir``), ``testr run --concurrency N``.
* ``unittest``: ``python -m unittest discover`` with the project's Python,
  serial: the reference the issue names.
* ``stestr``: ``stestr run --concurrency N`` (anchors venv).
* ``testrepository``: testrepository's ``testr run --parallel --concurrency N``
  with a ``subunit.run`` test command (anchors venv).
* ``pytest``: ``pytest -n N`` (pytest-xdist, anchors venv).
"""

import json
import os
import shutil

import runproc

FOLLOWUPS = ("last", "failing", "slowest", "stats")


def python_of(script):
    """The interpreter a console script runs with (its shebang), else bin/python."""
    try:
        with open(script, "rb") as f:
            first = f.readline().decode("utf-8", "replace").strip()
        if first.startswith("#!"):
            exe = first[2:].strip().split()[0]
            if os.path.exists(exe) and "python" in os.path.basename(exe):
                return exe
    except OSError:
        pass
    bindir = os.path.dirname(script)
    for name in ("python", "python3"):
        if os.path.exists(os.path.join(bindir, name)):
            return os.path.join(bindir, name)
    raise SystemExit("cannot tell which Python runs %s" % script)


def base_env(bindir, private_dir):
    env = dict(os.environ)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = os.path.dirname(bindir)
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["LC_ALL"] = env.get("LC_ALL") or "C.UTF-8"
    env["NO_COLOR"] = "1"
    # No user config file (~/.config/testr.yaml) changes the project's defaults.
    env["XDG_CONFIG_HOME"] = os.path.join(private_dir, "xdg-config")
    return env


class Tool:
    name = None
    history = True      # has a history (run 2 makes sense)
    parser = None       # key of runproc.PARSERS
    followups = ()

    def __init__(self, exe, private_dir):
        self.exe = exe
        self.bindir = os.path.dirname(exe)
        self.python = python_of(exe)
        self.env = base_env(self.bindir, private_dir)
        os.makedirs(self.env["XDG_CONFIG_HOME"], exist_ok=True)

    # -- staging
    def stage(self, suite, wd):
        """A private copy of the suite in wd with this tool's config (untimed;
        skipped when wd already holds the same suite)."""
        stamp = os.path.join(wd, ".bench-stamp")
        key = json.dumps({"suite": suite.key, "tool": self.name, "exe": self.exe})
        if os.path.exists(stamp):
            with open(stamp) as f:
                if f.read() == key:
                    return
        if os.path.exists(wd):
            shutil.rmtree(wd)
        os.makedirs(wd)
        shutil.copytree(os.path.join(suite.root, suite.package), os.path.join(wd, suite.package))
        self.write_config(suite, wd)
        runproc.run_checked([self.python, "-m", "compileall", "-q", suite.package], wd, self.env,
                            "compileall")
        self.warm_up(suite, wd)
        with open(stamp, "w") as f:
            f.write(key)

    def write_config(self, suite, wd):
        pass

    def warm_up(self, suite, wd):
        pass

    def reset(self, wd):
        """Drop the history (untimed)."""

    def run_argv(self, suite, wd, concurrency):
        raise NotImplementedError

    def followup_argv(self, command):
        return [self.exe] + command.split()

    def parse(self, text):
        return runproc.PARSERS[self.parser](text)


def write_ini(wd, name, suite, keys):
    """A [DEFAULT] config file ``name`` in ``wd`` with ``keys`` (lines
    ``key=value``) and the suite's group_regex, if it has one."""
    lines = ["[DEFAULT]"] + keys
    if suite.group_regex:
        lines.append("group_regex=%s" % suite.group_regex)
    with open(os.path.join(wd, name), "w") as f:
        f.write("\n".join(lines) + "\n")


class Testrepo(Tool):
    name = "testrepo"
    parser = "testrepo"
    followups = FOLLOWUPS + ("history list",)
    repo_dirname = ".testrepository"

    def write_config(self, suite, wd):
        write_ini(wd, ".testr.conf", suite, ["test_path=./%s" % suite.package, "top_dir=./"])

    def reset(self, wd):
        # `testr run` creates the repository itself.
        shutil.rmtree(os.path.join(wd, self.repo_dirname), ignore_errors=True)

    def run_argv(self, suite, wd, concurrency):
        return [self.exe, "run", "--concurrency", str(concurrency)]


class Unittest(Tool):
    name = "unittest"
    parser = "unittest"
    history = False

    def run_argv(self, suite, wd, concurrency):
        return [self.python, "-m", "unittest", "discover", "-t", ".", "-s", "./" + suite.package]


class Stestr(Tool):
    name = "stestr"
    parser = "stestr"
    followups = ("last", "failing", "slowest")

    def write_config(self, suite, wd):
        write_ini(wd, ".stestr.conf", suite, ["test_path=./%s" % suite.package, "top_dir=./"])

    def reset(self, wd):
        shutil.rmtree(os.path.join(wd, ".stestr"), ignore_errors=True)
        runproc.run_checked([self.exe, "init"], wd, self.env, "stestr init")

    def run_argv(self, suite, wd, concurrency):
        return [self.exe, "run", "--concurrency", str(concurrency)]


class Testrepository(Tool):
    name = "testrepository"
    parser = "testrepository"
    followups = FOLLOWUPS

    def __init__(self, exe, private_dir):
        Tool.__init__(self, exe, private_dir)
        self.env["PYTHON"] = self.python   # ${PYTHON:-python} in test_command

    def write_config(self, suite, wd):
        write_ini(wd, ".testr.conf", suite, [
            "test_command=${PYTHON:-python} -m subunit.run discover -t ./ ./%s "
            "$LISTOPT $IDOPTION" % suite.package,
            "test_id_option=--load-list $IDFILE",
            "test_list_option=--list"])

    def reset(self, wd):
        shutil.rmtree(os.path.join(wd, ".testrepository"), ignore_errors=True)
        runproc.run_checked([self.exe, "init"], wd, self.env, "testrepository init")

    def run_argv(self, suite, wd, concurrency):
        return [self.exe, "run", "--parallel", "--concurrency", str(concurrency)]


class Pytest(Tool):
    name = "pytest"
    parser = "pytest"
    history = False

    def write_config(self, suite, wd):
        with open(os.path.join(wd, "pytest.ini"), "w") as f:
            f.write("[pytest]\npython_files = test_*.py\n")

    def _base(self, wd):
        return [self.exe, "-c", os.path.join(wd, "pytest.ini"), "--rootdir", wd,
                "-p", "no:cacheprovider"]

    def warm_up(self, suite, wd):
        # pytest rewrites test modules' asserts and caches the result: do that
        # once here, untimed, like compileall for the other tools.
        runproc.run_checked(self._base(wd) + ["--collect-only", "-q", "./" + suite.package],
                            wd, self.env, "pytest --collect-only")

    def run_argv(self, suite, wd, concurrency):
        return self._base(wd) + ["-n", str(concurrency), "./" + suite.package]


ANCHOR_TOOLS = (("stestr", Stestr, "stestr"),
                ("testrepository", Testrepository, "testr"),
                ("pytest", Pytest, "pytest"))


def find_testrepo():
    """The project's `testr`: next to the running Python, else on PATH."""
    import sys
    here = os.path.join(os.path.dirname(sys.executable), "testr")
    if os.path.exists(here):
        return here
    found = shutil.which("testr")
    if found:
        return found
    raise SystemExit("no `testr` found next to %s or on PATH: install the project first "
                     "(pip install -e . in a virtualenv, see README.rst), or pass --testr PATH"
                     % sys.executable)


def anchor_tools(anchors_dir, private_dir):
    """{name: Tool} of the comparison tools installed in anchors_dir, and the
    names of those missing."""
    tools, missing = {}, []
    for name, cls, exe in ANCHOR_TOOLS:
        path = os.path.join(anchors_dir, "bin", exe)
        if not os.path.exists(path):
            missing.append(name)
            continue
        tool = cls(path, private_dir)
        if name == "pytest" and distribution_version(tool.python, "pytest-xdist") is None:
            missing.append("pytest-xdist")   # pytest -n needs it
            continue
        tools[name] = tool
    return tools, missing


def distribution_version(python, dist):
    """The installed version of `dist` in `python`'s environment, or None."""
    import subprocess
    r = subprocess.run([python, "-c", "import importlib.metadata as m, sys\n"
                        "try: print(m.version(sys.argv[1]))\n"
                        "except m.PackageNotFoundError: pass", dist],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = r.stdout.decode().strip()
    return out or None
