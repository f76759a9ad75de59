"""`testr report --history`: the HTML dashboard of the last N runs, through
the CLI on real repositories (file, SQLite, PostgreSQL), and in headless
Chromium."""

import datetime
import html
import json
import os
import re

import testtools

from tests.cli.test_report import find_chromium, run_chromium
from tests.databases import PostgreSQLDatabase, postgresql_admin_url, sqlite_url
from tests.fixtures import ProjectCopy, SampleProject, check_exit, sample_history
from tests.harness import testr
from tests.png import colour_counts, read_png
from tests.streams import EPOCH, Result, failure, load_run

FAILED_RED = (0xb7, 0x1c, 0x1c)
SAMPLE = "sample.test_sample."


def table_rows(document, table_id):
    """The test ids and cells of a test table, in order."""
    match = re.search(r'<table class="tests" id="%s">(.*?)</table>' % table_id, document, re.S)
    if match is None:
        return None
    rows = re.findall(r"<tr><td><code>(.*?)</code></td>(.*?)</tr>", match.group(1), re.S)
    return [(html.unescape(test_id.replace("<wbr>", "")), re.findall(r'<td class="num">(.*?)</td>', cells))
            for test_id, cells in rows]


class TestHistoryReport(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(ProjectCopy(sample_history().path))

    def cli(self, *args):
        return testr(self.project.path, *args)

    def report(self, *args):
        code, out, err = self.cli("report", "--history", "--html", "history.html", *args)
        self.assertEqual(0, code, out + err)
        with open(os.path.join(self.project.path, "history.html"), encoding="utf-8") as handle:
            return out, handle.read()

    def test_most_failing_and_flaky_tests(self):
        out, document = self.report()
        self.assertEqual("Wrote the HTML history of runs 0 to 5 (6 runs) to history.html\n", out)
        failing = table_rows(document, "failing-tests")
        # test, failures, results, fail rate, flips, flip rate, last failed run
        self.assertEqual([(SAMPLE + "TestAlpha.test_error", ["6", "6", "100.0%", "0", "0.00", "5"]),
                          (SAMPLE + "TestAlpha.test_fail", ["3", "6", "50.0%", "4", "0.80", "5"])],
                         failing)
        self.assertEqual([SAMPLE + "TestAlpha.test_fail"],
                         [test_id for test_id, _ in table_rows(document, "flaky-tests")])

    def test_runs_by_host_and_job(self):
        _, document = self.report()
        rows = re.findall(r"<tr><td>(ci-[ab])</td><td>(\w+)</td>"
                          r'<td class="num">(\d+)</td><td class="num">(\d+)</td>', document)
        self.assertEqual([("ci-a", "unit", "3", "3"), ("ci-b", "unit", "2", "2"),
                          ("ci-b", "lint", "1", "1")], rows)

    def test_runs_limits_the_window(self):
        out, document = self.report("--runs", "2")
        self.assertIn("runs 4 to 5 (2 runs)", out)
        self.assertEqual([(SAMPLE + "TestAlpha.test_error", ["2", "2", "100.0%", "0", "0.00", "5"]),
                          (SAMPLE + "TestAlpha.test_fail", ["1", "2", "50.0%", "1", "1.00", "5"])],
                         table_rows(document, "failing-tests"))
        self.assertIsNone(table_rows(document, "flaky-tests"))
        self.assertIn("<p>No test flipped between passing and failing twice.</p>", document)

    def test_partial_runs_count_only_where_they_failed_the_test(self):
        self.cli("run", "--failing")  # run 6: partial, test_error and test_fail fail
        _, document = self.report()
        self.assertEqual((SAMPLE + "TestAlpha.test_fail", ["4", "7", "57.1%", "4", "0.67", "6"]),
                         table_rows(document, "failing-tests")[1])

    def test_bad_runs_is_a_usage_error(self):
        for value, message in (("0", "--runs must be 1 or more, got 0"),
                               ("-3", "--runs must be 1 or more, got -3")):
            code, out, err = self.cli("report", "--history", "--runs", value, "--html", "h.html")
            self.assertEqual((2, ""), (code, out))
            self.assertEqual(f"testr: {message}\n", err)
        code, _, err = self.cli("report", "--history", "--runs", "many", "--html", "h.html")
        self.assertEqual(2, code)
        self.assertIn("invalid int value: 'many'", err)
        self.assertFalse(os.path.exists(os.path.join(self.project.path, "h.html")))

    def test_run_id_and_history_conflict(self):
        code, _, err = self.cli("report", "--history", "3", "--html", "h.html")
        self.assertEqual(2, code)
        self.assertEqual("testr: --history reports on the last --runs runs; give no RUN with it\n",
                         err)
        code, _, err = self.cli("report", "--runs", "3", "--html", "h.html")
        self.assertEqual((2, "testr: --runs needs --history\n"), (code, err))

    def test_renders_in_headless_chromium_and_the_filter_narrows_the_tables(self):
        chromium = find_chromium(self)
        self.report()
        probe = probe_in_browser(self, chromium, os.path.join(self.project.path,
                                                              "history.html"), "test_fail")
        self.assertEqual([], probe["errors"])
        self.assertEqual(0, probe["resources"], "the report fetched something")
        self.assertFalse(probe["overflows"], "the page is wider than the window")
        charts = [size for size in probe["charts"] if size[0] > 600]
        self.assertEqual(3, len(charts), probe["charts"])  # counts, failures, hosts
        for width, height in charts:
            self.assertGreater(height, 60)
        self.assertGreater(probe["bar_area"], 1000, "no bars were drawn")
        self.assertEqual({"failing-tests": [2, "2"], "flaky-tests": [1, "1"]}, probe["before"])
        self.assertEqual({"failing-tests": [1, "1"], "flaky-tests": [1, "1"]}, probe["after"])
        self.assertEqual(SAMPLE + "TestAlpha.test_fail", probe["visible"])
        counts = screenshot(self, chromium, os.path.join(self.project.path, "history.html"))
        self.assertGreater(counts[FAILED_RED], 2000)  # failed runs and bars in red


class TestHistoryReportEmpty(testtools.TestCase):

    def test_empty_repository_is_a_repository_error(self):
        project = self.useFixture(SampleProject())
        self.assertEqual(0, testr(project.path, "init")[0])
        code, out, err = testr(project.path, "report", "--history", "--html", "h.html")
        self.assertEqual((4, ""), (code, out))
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn("No runs in the repository", err)
        self.assertFalse(os.path.exists(os.path.join(project.path, "h.html")))


class TestSlowerTests(testtools.TestCase):
    """Loaded streams with chosen durations: test_post takes 0.6 s in the
    first three runs and 3 s in the last three."""

    def test_slower_tests_compare_the_newest_and_oldest_runs(self):
        project = self.useFixture(SampleProject())
        for index in range(8):
            post = 3.0 if index >= 5 else 0.6
            load_run(project, [Result("app.TestApi.test_get", duration=0.4),
                               Result("app.TestApi.test_post", duration=post),
                               Result("app.TestApi.test_fast", duration=0.01 * (1 + index)),
                               failure("app.TestUi.test_layout") if index % 2 else
                               Result("app.TestUi.test_layout")],
                     base=EPOCH + datetime.timedelta(hours=index))
        code, out, err = testr(project.path, "report", "--history", "--html", "h.html")
        self.assertEqual(0, code, err)
        with open(os.path.join(project.path, "h.html"), encoding="utf-8") as handle:
            document = handle.read()
        # test_fast got 8x slower but by less than 0.5 s: timer noise, not listed.
        self.assertEqual([("app.TestApi.test_post", ["0.600", "3.000", "5.0x"])],
                         table_rows(document, "slower-tests"))
        self.assertIn("Median time in runs 5, 6, 7 against runs 0, 1, 2", document)
        self.assertEqual(["4", "8", "50.0%", "7", "1.00", "7"],
                         table_rows(document, "failing-tests")[0][1])


class SameReportOnEveryBackend:
    """The tables of a file repository's report, and of the same runs
    exported to another backend, are the same.  (Each backend stores the
    runs of a real `testr run` in tests/cli/test_backends.py.)"""

    def repo_url(self):
        raise NotImplementedError(self.repo_url)

    def test_same_tables_as_the_file_backend(self):
        project = self.useFixture(ProjectCopy(sample_history().path))
        url = self.repo_url()
        check_exit(0, testr(project.path, "export", url), ("export", url))
        documents = []
        for args in ((), ("--repo-url", url)):
            code, out, err = testr(project.path, *args, "report", "--history", "--html", "h.html")
            self.assertEqual((0, "Wrote the HTML history of runs 0 to 5 (6 runs) to h.html\n"),
                             (code, out), err)
            with open(os.path.join(project.path, "h.html"), encoding="utf-8") as handle:
                documents.append(handle.read())
        for table_id in ("failing-tests", "flaky-tests"):
            self.assertEqual(table_rows(documents[0], table_id),
                             table_rows(documents[1], table_id))
        self.assertEqual(2, len(table_rows(documents[1], "failing-tests")))


class TestSQLiteHistoryReport(SameReportOnEveryBackend, testtools.TestCase):

    def repo_url(self):
        return sqlite_url(self)


class TestPostgreSQLHistoryReport(SameReportOnEveryBackend, testtools.TestCase):

    def repo_url(self):
        return self.useFixture(PostgreSQLDatabase(postgresql_admin_url(self))).url


# Installed before the page's own script, so its errors are caught too.
CATCH_ERRORS = """<script>
window.__errors = [];
window.addEventListener("error", function (e) { window.__errors.push(String(e.message)); });
(function () { var original = console.error; console.error = function () {
  window.__errors.push(Array.prototype.join.call(arguments, " ")); original.apply(console, arguments); }; })();
</script>"""

PROBE = """<script>
(function () {
  function all(selector) { return Array.prototype.slice.call(document.querySelectorAll(selector)); }
  function tables() {
    var found = {};
    all("table.tests").forEach(function (table) {
      var visible = all("#" + table.id + " tbody tr").filter(function (row) {
        return row.getBoundingClientRect().height > 0; }).length;
      found[table.id] = [visible, table.querySelector(".shown").textContent];
    });
    return found;
  }
  var area = 0;
  all("svg[aria-labelledby^=counts] path, svg[aria-labelledby^=failures] path").forEach(
    function (path) { var box = path.getBBox(); area += box.width * box.height; });
  var probe = {
    resources: performance.getEntriesByType("resource").length,
    overflows: document.documentElement.scrollWidth > window.innerWidth,
    charts: all("svg[role=img]").map(function (svg) {
      var box = svg.getBoundingClientRect(); return [box.width, box.height]; }),
    bar_area: area,
    before: tables()
  };
  var input = document.getElementById("test-filter");
  input.value = "FILTER";
  input.dispatchEvent(new Event("input"));
  probe.after = tables();
  var row = all("#failing-tests tbody tr").filter(function (r) { return !r.hidden; })[0];
  probe.visible = row ? row.cells[0].textContent : null;
  probe.errors = window.__errors;
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(probe);
  document.body.appendChild(out);
})();
</script>"""


def probe_in_browser(test, chromium, report, text):
    """Load a copy of ``report`` with an error catcher in its head and a
    probe at its end that measures, types ``text`` into the filter and
    measures again; read the results from the DOM."""
    probe_path = report.replace(".html", "-probe.html")
    with open(report, encoding="utf-8") as handle:
        document = handle.read()
    document = document.replace("<head>", "<head>" + CATCH_ERRORS, 1)
    document = document.replace("</body>", PROBE.replace("FILTER", text) + "\n</body>", 1)
    with open(probe_path, "w", encoding="utf-8") as handle:
        handle.write(document)
    dom = run_chromium(test, chromium, "--window-size=1100,1400", "--dump-dom",
                       "file://" + probe_path)
    match = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    test.assertIsNotNone(match, dom[-2000:])
    return json.loads(html.unescape(match.group(1)))


def screenshot(test, chromium, report):
    shot = os.path.join(os.path.dirname(report), "history.png")
    run_chromium(test, chromium, "--window-size=1000,1400", f"--screenshot={shot}",
                 "file://" + report)
    with open(shot, "rb") as handle:
        data = handle.read()
    image = read_png(data)
    test.assertEqual((1000, 1400), image[:2])
    return colour_counts(image)

