#!/bin/sh
# Regenerate the legacy repositories that tests/test_migrate.py and
# tests/cli/test_import.py import, using the REAL testrepository and stestr.
#
# They are committed, so the tests need neither package. Install the tools in
# a side venv, never in the project's own environment (testrepository's
# `testr` console script would shadow ours):
#
#     python3 -m venv /tmp/anchors
#     /tmp/anchors/bin/pip install stestr testrepository
#     sh tests/data/legacy/make_fixtures.sh /tmp/anchors
#
# Output (replaced on every run):
#   testrepository/   a .testrepository/ (format 1) from `testr`
#   stestr/           a .stestr/ (format 1) from `stestr`, with meta.dbm
#   VERSIONS          the tool versions that wrote them
#
# What the runs contain is described in tests/data/legacy/README.rst.
set -eu

VENV=${1:?usage: make_fixtures.sh VENV_DIR (with stestr and testrepository installed)}
HERE=$(cd "$(dirname "$0")" && pwd)
PY="$VENV/bin/python"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

write_sample() {
    mkdir -p "$1/sample"
    : > "$1/sample/__init__.py"
    cat > "$1/sample/test_sample.py" <<'PYEOF'
import os
import time
import unittest


class TestAlpha(unittest.TestCase):

    def test_pass(self):
        pass

    def test_fail(self):
        if os.path.exists("fixed"):
            return
        self.fail("alpha is broken")

    def test_error(self):
        raise RuntimeError("boom")

    @unittest.skip("not today")
    def test_skip(self):
        pass

    @unittest.expectedFailure
    def test_xfail(self):
        self.fail("known bug")


class TestBeta(unittest.TestCase):

    def test_slow(self):
        time.sleep(0.05)

    def test_pass_one(self):
        print("hello from a test")
PYEOF
    # Only present for the first run: its timing survives in times.dbm
    # after the run itself is removed (stestr) or never re-run.
    cat > "$1/sample/test_gone.py" <<'PYEOF'
import time
import unittest


class TestGone(unittest.TestCase):

    def test_gone(self):
        time.sleep(0.02)
PYEOF
}

# --- testrepository (testr) -------------------------------------------------
T="$WORK/testr"
write_sample "$T"
cat > "$T/.testr.conf" <<'CONFEOF'
[DEFAULT]
test_command=${PYTHON:-python} -m subunit.run discover -t . sample $LISTOPT $IDOPTION
test_id_option=--load-list $IDFILE
test_list_option=--list
CONFEOF
(
    cd "$T"
    export PYTHON="$PY"
    "$VENV/bin/testr" init
    # run 0: everything, serial: test_fail and test_error fail.
    "$VENV/bin/testr" run > /dev/null || true
    rm sample/test_gone.py
    # run 1: parallel (worker-0/worker-1 tags).
    "$VENV/bin/testr" run --parallel --concurrency 2 > /dev/null || true
    touch fixed
    # run 2: --failing (partial): test_fail now passes, test_error still fails.
    "$VENV/bin/testr" run --failing > /dev/null || true
    # run 3: a partial run of one passing test; the failing set keeps
    # test_error although run 3 has no failure.
    "$VENV/bin/testr" run --partial TestAlpha.test_pass > /dev/null
)
rm -rf "$HERE/testrepository"
cp -r "$T/.testrepository" "$HERE/testrepository"

# --- stestr -----------------------------------------------------------------
S="$WORK/stestr"
write_sample "$S"
cat > "$S/.stestr.conf" <<'CONFEOF'
[DEFAULT]
test_path=./sample
top_dir=./
CONFEOF
(
    cd "$S"
    # run 0: serial, everything (including test_gone); removed below.
    "$VENV/bin/stestr" run --serial > /dev/null || true
    rm sample/test_gone.py
    # run 1: two workers.
    "$VENV/bin/stestr" run --concurrency 2 > /dev/null || true
    touch fixed
    # run 2: test_fail fixed; only test_error fails.
    "$VENV/bin/stestr" run --serial > /dev/null || true
    # run 3: run 2's stream loaded again with metadata, which only
    # stestr's Python API can set.
    "$PY" - <<'PYEOF'
import subunit
import testtools
from stestr.repository import util

repo = util.get_repo_open(repo_url=".")
stream = repo.get_test_run(repo.latest_id()).get_subunit_stream()
inserter = repo.get_inserter(metadata="job=nightly-42")
inserter.startTestRun()
subunit.ByteStreamToStreamResult(stream).run(inserter)
inserter.stopTestRun()
PYEOF
    "$VENV/bin/stestr" history remove 0
)
rm -rf "$HERE/stestr"
cp -r "$S/.stestr" "$HERE/stestr"

{
    echo "written by: $(uname -s) $("$PY" --version 2>&1)"
    "$VENV/bin/pip" list 2>/dev/null | grep -i -E '^(stestr|testrepository|python-subunit|testtools) '
} > "$HERE/VERSIONS"
echo "wrote $HERE/testrepository $HERE/stestr $HERE/VERSIONS"
