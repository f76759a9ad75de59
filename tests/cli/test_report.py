"""Reports written after a run is stored: `--junit-xml` on run/last/load,
and `testr report --html`, rendered in headless Chromium."""

import datetime
import html
import json
import os
import re
import shutil
import socket
import subprocess

import fixtures
import junitparser
import testtools

from testrepo import api
from testrepo.options import Project
from tests.cli.test_run import run_once
from tests.fixtures import ProjectCopy, SampleProject
from tests.harness import testr
from tests.png import colour_counts, read_png
from tests.streams import EPOCH, Result, error, failure, load_run

FAILED_RED = (0xb7, 0x1c, 0x1c)
PASSED_GREEN = (0x1b, 0x5e, 0x20)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def junit_cases(path):
    (suite,) = list(junitparser.JUnitXml.fromfile(path))
    return suite, {f"{case.classname}.{case.name}": case for case in suite}


def properties(suite):
    return {prop.name: prop.value for prop in suite.properties()}


class TestJunitXml(testtools.TestCase):
    """The built-in runner's runs: the document does not depend on the mode."""

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config="stestr"))

    def cli(self, *args, **kwargs):
        return testr(self.project.path, *args, **kwargs)

    def test_run_writes_the_stored_run(self):
        code, out, err = self.cli("run", "--concurrency", "2", "--junit-xml", "junit.xml")
        self.assertEqual(1, code, out + err)
        suite, cases = junit_cases(os.path.join(self.project.path, "junit.xml"))
        self.assertEqual((7, 1, 1, 1), (suite.tests, suite.failures, suite.errors, suite.skipped))
        self.assertEqual({"run_id": "0", "partial": "false", "interrupted": "false",
                          "concurrency": "2", "host": socket.gethostname()}, properties(suite))
        (fail,) = cases["sample.test_sample.TestAlpha.test_fail"].result
        self.assertIsInstance(fail, junitparser.Failure)
        self.assertEqual("alpha is broken", fail.message)
        (err,) = cases["sample.test_sample.TestAlpha.test_error"].result
        self.assertIsInstance(err, junitparser.Error)
        self.assertIn('raise RuntimeError("boom")', err.text)
        (skipped,) = cases["sample.test_sample.TestAlpha.test_skip"].result
        self.assertEqual("not today", skipped.message)
        self.assertGreaterEqual(cases["sample.test_sample.TestBeta.test_slow"].time, 0.04)

    def test_last_and_load_write_the_same_kind_of_document(self):
        self.project = self.useFixture(ProjectCopy(run_once("stestr", "sample").path))
        code, _, err = self.cli("last", "--junit-xml", "last.xml")
        self.assertEqual(1, code, err)
        suite, _ = junit_cases(os.path.join(self.project.path, "last.xml"))
        self.assertEqual(("0", 7), (properties(suite)["run_id"], suite.tests))
        code, _, err = load_run(self.project, [Result("p.T.test_a", stdout="hi\n"),
                                               error("p.T.test_b")],
                                extra_args=("--junit-xml", "load.xml"))
        self.assertEqual(1, code, err)
        suite, cases = junit_cases(os.path.join(self.project.path, "load.xml"))
        self.assertEqual(("1", 2, 1), (properties(suite)["run_id"], suite.tests, suite.errors))
        self.assertEqual("hi\n", cases["p.T.test_a"].system_out)

    def test_history_show_writes_the_run_it_shows(self):
        self.project = self.useFixture(ProjectCopy(run_once("stestr", "sample").path))
        self.project.write("fixed", "")
        self.cli("run")
        code, _, err = self.cli("history", "show", "0", "--junit-xml", "old.xml")
        self.assertEqual(1, code, err)
        suite, cases = junit_cases(os.path.join(self.project.path, "old.xml"))
        self.assertEqual(("0", 1), (properties(suite)["run_id"], suite.failures))
        self.assertFalse(cases["sample.test_sample.TestAlpha.test_fail"].is_passed)

    def test_nothing_to_rerun_writes_an_empty_document(self):
        self.project.write("fixed", "")
        self.cli("run", "TestBeta")
        code, out, _ = self.cli("run", "--failing", "--junit-xml", "junit.xml")
        self.assertEqual(0, code, out)
        xml = junitparser.JUnitXml.fromfile(os.path.join(self.project.path, "junit.xml"))
        self.assertEqual(0, xml.tests)

    def test_unwritable_file_is_usage_error_and_the_run_is_kept(self):
        code, _, err = self.cli("run", "--junit-xml", "missing/dir/junit.xml")
        self.assertEqual(2, code)
        self.assertIn("cannot write the JUnit XML to 'missing/dir/junit.xml'", err)
        repo = api.open_repository(Project(directory=self.project.path))
        self.assertEqual(0, repo.latest_id())


def worker_streams(run_index, slow_factor=1.0):
    """Three workers' results for one run; run 1 fails a test, run 2 is slower."""
    worker0 = [Result("app.tests.test_api.TestApi.test_get", duration=0.4),
               Result("app.tests.test_api.TestApi.test_post", duration=0.6 * slow_factor),
               Result("app.tests.test_api.TestApi.test_delete", duration=0.3)]
    worker1 = [Result("app.tests.test_db.TestDb.test_migrate", duration=1.2),
               Result("app.tests.test_db.TestDb.test_rollback", "skip", duration=0.01,
                      reason="needs postgres")]
    worker2 = [Result("app.tests.test_ui.TestUi.test_render", duration=0.5)]
    if run_index >= 1:
        worker2.append(failure("app.tests.test_ui.TestUi.test_layout", "expected 3 columns, got 2",
                               duration=0.8, stdout="rendering layout\n"))
    else:
        worker2.append(Result("app.tests.test_ui.TestUi.test_layout", duration=0.7))
    return worker0, worker1, worker2


class TestHtmlReport(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject())
        for index, factor in enumerate((1.0, 1.0, 5.0)):
            base = EPOCH + datetime.timedelta(hours=index)
            load_run(self.project, *worker_streams(index, factor), base=base)
        self.report = os.path.join(self.project.path, "report.html")

    def test_report_of_the_latest_run(self):
        code, out, err = testr(self.project.path, "report", "--html", "report.html")
        self.assertEqual(0, code, err)
        self.assertEqual("Wrote the HTML report of run 2 to report.html\n", out)
        with open(self.report, encoding="utf-8") as handle:
            document = handle.read()
        self.assertIn("<title>Test report: run 2</title>", document)
        self.assertIn("AssertionError: expected 3 columns, got 2", document)
        self.assertIn("rendering layout", document)
        for worker in ("worker 0", "worker 1", "worker 2"):
            self.assertIn(f">{worker}</text>", document)
        for run_id in (0, 1, 2):
            self.assertIn(f"<title>run {run_id}: ", document)

    def test_report_of_an_older_run_charts_history_up_to_it(self):
        code, _, err = testr(self.project.path, "report", "--html", "report.html", "0")
        self.assertEqual(0, code, err)
        with open(self.report, encoding="utf-8") as handle:
            document = handle.read()
        self.assertIn("Failures (0)", document)
        self.assertNotIn("<title>run 1: ", document)

    def test_unknown_run_is_repository_error(self):
        code, _, err = testr(self.project.path, "report", "--html", "report.html", "9")
        self.assertEqual(4, code)
        self.assertIn("No run 9", err)
        self.assertFalse(os.path.exists(self.report))

    def test_renders_in_headless_chromium(self):
        chromium = find_chromium(self)
        testr(self.project.path, "report", "--html", "report.html")
        probe = measure_in_browser(self, chromium, self.report)
        self.assertEqual("Test report: run 2", probe["h1"])
        self.assertEqual(0, probe["resources"], "the report fetched something")
        self.assertFalse(probe["overflows"], "the page is wider than the window")
        self.assertEqual(2, len(probe["svgs"]))
        for width, height in probe["svgs"]:
            self.assertGreater(width, 600)
            self.assertGreater(height, 100)
        self.assertEqual(7, len(probe["bars"]))  # one per test execution
        bars = dict(probe["bars"])
        # test_post took 3.0 s and test_get 0.4 s in run 2: bar widths follow.
        api_bar = "app.tests.test_api.TestApi.test_"
        ratio = bars[api_bar + "post"] / bars[api_bar + "get"]
        self.assertAlmostEqual(7.5, ratio, delta=0.5)
        self.assertEqual("rgb(183, 28, 28)", probe["verdict_colour"])
        counts = screenshot_colours(self, chromium, self.report)
        self.assertGreater(counts[FAILED_RED], 500)  # failed bars drawn in red
        self.assertGreater(counts[PASSED_GREEN], 5000)


def find_chromium(test):
    """Chromium's path; skips the test where it is missing, except in CI
    (env CI set), where the browser test must run."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None and os.path.exists("/usr/bin/chromium"):
        path = "/usr/bin/chromium"
    if path is None:
        if os.environ.get("CI"):
            test.fail("chromium is not installed but CI is set: .ci/run installs "
                      "Debian's chromium package")
        test.skipTest("chromium is not installed (apt-get install chromium)")
    return path


def run_chromium(test, chromium, *args):
    profile = test.useFixture(fixtures.TempDir()).path
    proc = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
    test.assertEqual(0, proc.returncode, proc.stderr.decode("utf-8", "replace")[-2000:])
    return proc.stdout.decode("utf-8", "replace")


PROBE = """<script>
(function () {
  function all(selector) { return Array.prototype.slice.call(document.querySelectorAll(selector)); }
  function width(el) { return el.getBoundingClientRect().width; }
  var probe = {
    h1: document.querySelector("h1").textContent,
    resources: performance.getEntriesByType("resource").length,
    overflows: document.documentElement.scrollWidth > window.innerWidth,
    svgs: all("svg[role=img]").map(function (svg) {
      var box = svg.getBoundingClientRect(); return [box.width, box.height]; }),
    bars: all("svg[aria-labelledby^=gantt] rect > title").map(function (title) {
      return [title.textContent.split(":")[0], width(title.parentNode)]; }),
    verdict_colour: getComputedStyle(document.querySelector(".verdict")).color
  };
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(probe);
  document.body.appendChild(out);
})();
</script>"""


def measure_in_browser(test, chromium, report):
    """Load a copy of ``report`` with a measuring script appended (the
    report itself has no script) and read the measurements from the DOM."""
    probe_path = report.replace(".html", "-probe.html")
    with open(report, encoding="utf-8") as handle:
        document = handle.read()
    with open(probe_path, "w", encoding="utf-8") as handle:
        handle.write(document.replace("</body>", PROBE + "\n</body>"))
    dom = run_chromium(test, chromium, "--window-size=1100,1400", "--dump-dom",
                       "file://" + probe_path)
    match = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    test.assertIsNotNone(match, dom[-2000:])
    return json.loads(html.unescape(match.group(1)))


def screenshot_colours(test, chromium, report):
    shot = os.path.join(os.path.dirname(report), "report.png")
    run_chromium(test, chromium, "--window-size=1000,1400", f"--screenshot={shot}",
                 "file://" + report)
    with open(shot, "rb") as handle:
        data = handle.read()
    image = read_png(data)
    test.assertEqual((1000, 1400), image[:2])
    return colour_counts(image)
