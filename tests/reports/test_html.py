"""The HTML report: content, self-containment and accessibility basics,
checked on the parsed document (the browser test is tests/cli/test_report.py)."""

import html.parser
import re

import testtools

from testrepo.repository.abstract import RunRecord
from testrepo.reports.html import (TEXT_COLOURS, STATUS_STYLE, BACKGROUND, contrast_ratio,
                                   nice_ceiling, nice_step, render)
from tests.streams import Result, error, run_results


def record(run_id, passed=3, failed=1, skipped=1, duration=2.0):
    return RunRecord(run_id=run_id, passed=passed, failed=failed, skipped=skipped,
                     duration=duration, started="2024-01-01T12:00:00+00:00", partial=False,
                     interrupted=False, metadata={"concurrency": "2"})


class Outline(html.parser.HTMLParser):
    """Collects what the accessibility checks need from a document."""

    def __init__(self):
        super().__init__()
        self.tags = []  # (tag, attrs dict)
        self.headings = []  # levels in document order
        self.ids = set()
        self.text = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag):
        return [attrs for name, attrs in self.tags if name == tag]


def outline(document):
    parser = Outline()
    parser.feed(document)
    return parser


def sample_results():
    return run_results(
        Result("pkg.T.test_pass", duration=0.5),
        error("pkg.T.test_error", "boom <&> here", stdout="printed <b>not bold</b>\n"),
        Result("pkg.T.test_slow", duration=4.0, start=0.0),
        Result("pkg.T.test_skip", "skip", reason="later"),
        label="run 2", run_id=2, record=record(2, passed=2, failed=1, skipped=1))


class TestRender(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.document = render(sample_results(), [record(0), record(1, failed=0), record(2)])
        self.outline = outline(self.document)

    def test_has_language_title_and_ordered_headings(self):
        (html_tag,) = self.outline.all("html")
        self.assertEqual("en", html_tag["lang"])
        self.assertIn("<title>Test report: run 2</title>", self.document)
        levels = self.outline.headings
        self.assertEqual(1, levels[0])
        self.assertEqual(1, levels.count(1))
        for before, after in zip(levels, levels[1:]):
            self.assertLessEqual(after, before + 1, f"heading levels skip: {levels}")

    def test_every_svg_is_a_labelled_image(self):
        svgs = self.outline.all("svg")
        self.assertEqual(2, len(svgs))  # timeline and history
        for svg in svgs:
            self.assertEqual("img", svg["role"])
            for label_id in svg["aria-labelledby"].split():
                self.assertIn(label_id, self.outline.ids)
        self.assertEqual(2, self.document.count("<title id="))

    def test_tables_have_captions_and_column_headers(self):
        self.assertEqual(len(self.outline.all("table")), len(self.outline.all("caption")))
        headers = self.outline.all("th")
        self.assertTrue(headers)
        self.assertTrue(all(th.get("scope") == "col" for th in headers))

    def test_is_self_contained(self):
        for tag, attrs in self.outline.tags:
            self.assertNotIn(tag, ("script", "link", "img", "iframe", "object"))
            for name in ("src", "href"):
                self.assertNotIn(name, attrs, f"<{tag} {name}=...> would fetch something")
        self.assertNotRegex(self.document, r"url\(|@import")

    def test_failures_show_traceback_and_output_escaped(self):
        self.assertIn("RuntimeError: boom &lt;&amp;&gt; here", self.document)
        self.assertIn("printed &lt;b&gt;not bold&lt;/b&gt;", self.document)
        self.assertIn("Failures (1)", self.document)

    def test_slowest_first_and_timeline_bars_for_every_attempt(self):
        slowest = self.document.split('id="slowest"')[1].split("</table>")[0]
        self.assertLess(slowest.index("pkg.T.test_slow"), slowest.index("pkg.T.test_pass"))
        timeline = self.document.split('id="gantt-title"')[1].split("</svg>")[0]
        self.assertEqual(4, timeline.count("<title>pkg.T."))

    def test_history_charts_each_run(self):
        history = self.document.split('id="history-title"')[1].split("</svg>")[0]
        for run_id in (0, 1, 2):
            self.assertIn(f"<title>run {run_id}: ", history)

    def test_run_without_timestamps_or_history_still_renders(self):
        document = render(run_results(label="run 0", run_id=0), [])
        self.assertIn("no test timestamps", document)
        self.assertIn("No stored runs to chart", document)
        self.assertIn("NO TESTS RAN", document)


class TestColours(testtools.TestCase):

    def test_text_colours_have_at_least_4_5_to_1_contrast(self):
        for foreground, background in TEXT_COLOURS:
            self.assertGreaterEqual(contrast_ratio(foreground, background), 4.5,
                                    f"{foreground} on {background}")

    def test_chart_marks_have_at_least_3_to_1_contrast_on_white(self):
        for _, colour in STATUS_STYLE.values():
            self.assertGreaterEqual(contrast_ratio(colour, BACKGROUND), 3.0)

    def test_contrast_ratio_extremes(self):
        self.assertAlmostEqual(21.0, contrast_ratio("#000000", "#ffffff"), places=1)
        self.assertEqual(1.0, contrast_ratio("#777777", "#777777"))


class TestTicks(testtools.TestCase):

    def test_nice_steps_and_ceilings(self):
        self.assertEqual(2, nice_step(7, 5))
        self.assertEqual(8, nice_ceiling(7))
        self.assertAlmostEqual(0.05, nice_step(0.11, 5))
        self.assertAlmostEqual(0.15, nice_ceiling(0.11))
