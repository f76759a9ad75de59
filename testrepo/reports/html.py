"""A self-contained HTML report of one run.

One file with inline CSS and inline SVG charts, no scripts and no external
references, so it can be archived as a CI artifact and opened offline:

* summary (counts, duration, run metadata);
* failures with tracebacks and captured output;
* the slowest tests;
* a per-worker timeline (Gantt) from each attempt's worker and timestamps;
* a history chart of pass/fail/skip counts and duration over recent runs,
  from the repository index (``RunRecord``s; no old stream is re-read);
* every test, in a collapsed table.

Accessibility: ``lang``, a ``<title>``, headings h1 > h2 > h3 > h4 in order,
``role="img"`` SVGs with ``aria-labelledby`` a ``<title>`` and ``<desc>``,
table captions and ``<th scope>``, status given in words (never by colour
alone), and text colours with at least 4.5:1 contrast (:data:`TEXT_COLOURS`).
"""

from __future__ import annotations

import html
import math
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import testrepo
from testrepo.reports.outcomes import Attempt, RunResults, TestAttempts, is_failure

SLOWEST = 10

# Status: (word, colour for text and chart marks on white).
STATUS_STYLE = {
    "passed": ("passed", "#1b5e20"),
    "failed": ("failed", "#b71c1c"),
    "skipped": ("skipped", "#5f6368"),
}
BACKGROUND = "#ffffff"
PANEL = "#f3f5f7"
TEXT = "#1a1a1a"
MUTED = "#4a4f55"
# (foreground, background) pairs used for text; tests check each is >= 4.5:1.
TEXT_COLOURS = [(TEXT, BACKGROUND), (TEXT, PANEL), (MUTED, BACKGROUND), (MUTED, PANEL)] + [
    (colour, background) for _, colour in STATUS_STYLE.values()
    for background in (BACKGROUND, PANEL)]

CSS = f"""
:root {{ color-scheme: light; }}
body {{ font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: {TEXT}; background: {BACKGROUND}; margin: 0; }}
main {{ max-width: 1040px; margin: 0 auto; padding: 16px 24px 48px; }}
h1 {{ font-size: 1.6em; margin: 0.4em 0 0.2em; }}
h2 {{ font-size: 1.25em; border-bottom: 1px solid #c8ccd0; padding-bottom: 4px;
  margin-top: 1.6em; }}
h3 {{ font-size: 1em; margin: 0 0 4px; word-break: break-all; }}
h4 {{ font-size: 0.9em; margin: 10px 0 2px; color: {MUTED}; }}
.meta {{ color: {MUTED}; margin: 0; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 12px; list-style: none; padding: 0;
  margin: 12px 0; }}
.cards li {{ background: {PANEL}; border-radius: 6px; padding: 8px 16px; min-width: 96px; }}
.cards .n {{ display: block; font-size: 1.6em; font-weight: 700; }}
.passed {{ color: {STATUS_STYLE["passed"][1]}; }}
.failed {{ color: {STATUS_STYLE["failed"][1]}; }}
.skipped {{ color: {STATUS_STYLE["skipped"][1]}; }}
.verdict {{ font-weight: 700; }}
article {{ background: {PANEL}; border-left: 4px solid {STATUS_STYLE["failed"][1]};
  border-radius: 4px; padding: 10px 14px; margin: 12px 0; }}
pre {{ background: {BACKGROUND}; border: 1px solid #d5d9dd; padding: 8px; overflow-x: auto;
  font-size: 13px; margin: 0; white-space: pre-wrap; word-break: break-word; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
caption {{ text-align: left; color: {MUTED}; padding: 4px 0; }}
th, td {{ text-align: left; padding: 4px 8px; border-bottom: 1px solid #dde1e5; }}
th {{ background: {PANEL}; }}
td.num, th.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
td code {{ word-break: break-all; }}
svg {{ display: block; max-width: 100%; height: auto; }}
svg text {{ font: 12px system-ui, sans-serif; fill: {TEXT}; }}
.legend {{ display: flex; gap: 16px; list-style: none; padding: 0; margin: 4px 0;
  font-size: 14px; }}
.swatch {{ display: inline-block; width: 12px; height: 12px; margin-right: 4px;
  vertical-align: -1px; border-radius: 2px; }}
footer {{ margin-top: 32px; color: {MUTED}; font-size: 13px; }}
"""


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def status_word(outcome_or_status) -> str:
    """"passed", "failed" or "skipped" for a TestAttempts, Attempt or status."""
    status = getattr(outcome_or_status, "status", outcome_or_status)
    if status == "skip":
        return "skipped"
    return "failed" if is_failure(status) else "passed"


def render(results: RunResults, history: Sequence[object], title: Optional[str] = None) -> str:
    """The whole document for ``results``; ``history`` is the repository's
    ``RunRecord``s (oldest first) to chart, usually the last 30."""
    title = title or f"Test report: {results.label}"
    sections = [
        _header(results, title),
        _summary(results),
        _failures(results),
        _slowest(results),
        _timeline(results),
        _history(history, results.run_id),
        _all_tests(results),
    ]
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(sections)
            + f'\n<footer>Generated by testrepo {_esc(testrepo.__version__)}.</footer>\n'
            "</main>\n</body>\n</html>\n")


# --- summary -------------------------------------------------------------------

def _counts(results: RunResults) -> Dict[str, int]:
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for outcome in results.outcomes.values():
        counts[status_word(outcome)] += 1
    return counts


def _header(results: RunResults, title: str) -> str:
    record = results.record
    facts = []
    if record is not None and record.started:
        facts.append(f"started {_esc(record.started[:19].replace('T', ' '))} UTC")
    if record is not None:
        facts.append(f"{record.duration:.2f} s")
        if record.partial:
            facts.append("partial run")
        if record.interrupted:
            facts.append("interrupted")
    meta = "".join(f", {_esc(k)} {_esc(v)}" for k, v in
                   sorted((record.metadata if record is not None else {}).items()))
    return f'<h1>{_esc(title)}</h1>\n<p class="meta">{", ".join(facts)}{meta}</p>'


def _summary(results: RunResults) -> str:
    counts = _counts(results)
    total = sum(counts.values())
    verdict = "failed" if counts["failed"] else "passed"
    words = "FAILED" if counts["failed"] else ("PASSED" if total else "NO TESTS RAN")
    cards = [f'<li>Total<span class="n">{total}</span></li>']
    cards += [f'<li class="{name}">{name.capitalize()}<span class="n">{count}</span></li>'
              for name, count in counts.items()]
    flaky = sum(1 for outcome in results.outcomes.values() if outcome.retried_flaky)
    if flaky:
        cards.append(f'<li>Passed on retry<span class="n">{flaky}</span></li>')
    if results.record is not None:
        cards.append(f'<li>Duration<span class="n">{results.record.duration:.2f} s</span></li>')
    return (f'<section aria-labelledby="summary">\n<h2 id="summary">Summary</h2>\n'
            f'<p>Result: <span class="verdict {verdict}">{words}</span></p>\n'
            f'<ul class="cards">{"".join(cards)}</ul>\n</section>')


# --- failures ------------------------------------------------------------------

def _failures(results: RunResults) -> str:
    failed = [outcome for outcome in results.outcomes.values() if outcome.failed]
    body = "\n".join(_failure(outcome) for outcome in failed) or "<p>No test failed.</p>"
    if results.output.strip():
        body += ("\n<h3>Output outside any test</h3>\n"
                 f"<pre>{_esc(results.output.rstrip())}</pre>")
    return (f'<section aria-labelledby="failures">\n'
            f'<h2 id="failures">Failures ({len(failed)})</h2>\n{body}\n</section>')


def _failure(outcome: TestAttempts) -> str:
    attempt = outcome.final
    facts = [f"worker {_esc(attempt.worker)}", _esc(attempt.status)]
    if attempt.duration is not None:
        facts.append(f"{attempt.duration:.3f} s")
    parts = [f"<article>\n<h3><code>{_esc(outcome.test_id)}</code></h3>",
             f'<p class="meta">{", ".join(facts)}</p>']
    for name, text in attempt.attachments.items():
        if not text.strip():
            continue
        heading = "Traceback" if name == "traceback" else f"Captured {name}"
        parts.append(f"<h4>{_esc(heading)}</h4>\n<pre>{_esc(text.rstrip())}</pre>")
    if outcome.status == "uxsuccess":
        parts.append("<p>Unexpected success: the test was expected to fail.</p>")
    parts.append("</article>")
    return "\n".join(parts)


# --- tables --------------------------------------------------------------------

def _test_table(outcomes: Iterable[TestAttempts], caption: str) -> str:
    rows = []
    for outcome in outcomes:
        word = status_word(outcome)
        duration = "" if outcome.duration is None else f"{outcome.duration:.3f}"
        rows.append(f'<tr><td><code>{_esc(outcome.test_id)}</code></td>'
                    f'<td class="{word}">{word}</td><td>{_esc(outcome.final.worker)}</td>'
                    f'<td class="num">{duration}</td></tr>')
    return (f"<table>\n<caption>{_esc(caption)}</caption>\n<thead><tr>"
            '<th scope="col">Test</th><th scope="col">Status</th><th scope="col">Worker</th>'
            '<th scope="col" class="num">Time (s)</th></tr></thead>\n<tbody>\n'
            + "\n".join(rows) + "\n</tbody>\n</table>")


def _slowest(results: RunResults) -> str:
    timed = [o for o in results.outcomes.values() if o.duration is not None and not o.skipped]
    timed.sort(key=lambda outcome: (-outcome.duration, outcome.test_id))
    body = (_test_table(timed[:SLOWEST], f"The {min(SLOWEST, len(timed))} slowest of "
                        f"{len(timed)} timed tests") if timed else "<p>No timed tests.</p>")
    return (f'<section aria-labelledby="slowest">\n<h2 id="slowest">Slowest tests</h2>\n'
            f"{body}\n</section>")


def _all_tests(results: RunResults) -> str:
    outcomes = sorted(results.outcomes.values(), key=lambda outcome: outcome.test_id)
    table = _test_table(outcomes, "Every test of the run, by test id")
    return (f'<section aria-labelledby="all-tests">\n'
            f'<h2 id="all-tests">All tests ({len(outcomes)})</h2>\n'
            f"<details>\n<summary>Show all tests</summary>\n{table}\n</details>\n</section>")


# --- charts --------------------------------------------------------------------

def nice_step(span: float, max_ticks: int = 8) -> float:
    """A 1/2/5×10^k tick step giving at most ``max_ticks`` ticks over ``span``."""
    if span <= 0:
        return 1.0
    raw = span / max_ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def _ticks(span: float, max_ticks: int = 8) -> List[float]:
    step = nice_step(span, max_ticks)
    count = int(math.floor(span / step + 1e-9))
    return [round(step * index, 10) for index in range(count + 1)]


def nice_ceiling(maximum: float, max_ticks: int = 5) -> float:
    """``maximum`` rounded up to a whole tick step, so the axis ends on a label."""
    step = nice_step(maximum, max_ticks)
    return step * max(1, math.ceil(maximum / step - 1e-9))


def _legend(names: Sequence[str], extra: Sequence[Tuple[str, str]] = ()) -> str:
    items = [(STATUS_STYLE[name][0], STATUS_STYLE[name][1]) for name in names] + list(extra)
    return ('<ul class="legend">' + "".join(
        f'<li><span class="swatch" style="background:{colour}"></span>{_esc(word)}</li>'
        for word, colour in items) + "</ul>")


def _svg_open(width: int, height: int, label_id: str, title: str, desc: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" '
            f'aria-labelledby="{label_id}-title {label_id}-desc">\n'
            f'<title id="{label_id}-title">{_esc(title)}</title>\n'
            f'<desc id="{label_id}-desc">{_esc(desc)}</desc>')


def _worker_key(worker: str):
    return (0, int(worker), "") if worker.isdigit() else (1, 0, worker)


def _timed_attempts(results: RunResults) -> List[Attempt]:
    return [attempt for attempt in results.attempts
            if attempt.start is not None and attempt.stop is not None]


def _timeline(results: RunResults) -> str:
    attempts = _timed_attempts(results)
    heading = '<section aria-labelledby="timeline">\n<h2 id="timeline">Timeline by worker</h2>\n'
    if not attempts:
        return heading + "<p>The run has no test timestamps to draw.</p>\n</section>"
    origin = min(attempt.start for attempt in attempts)
    span = max((attempt.stop - origin).total_seconds() for attempt in attempts) or 1e-3
    workers = sorted({attempt.worker for attempt in attempts}, key=_worker_key)
    svg = _gantt_svg(attempts, workers, origin, span)
    return heading + svg + "\n" + _legend(["passed", "failed", "skipped"]) + "\n</section>"


def _gantt_svg(attempts, workers, origin, span) -> str:
    left, top, row = 90, 10, 30
    width, plot = 960, 960 - 90 - 20
    height = top + row * len(workers) + 34
    scale = plot / span
    parts = [_svg_open(width, height, "gantt", "Timeline of the run by worker",
                       f"{len(attempts)} test executions on {len(workers)} worker(s) over "
                       f"{span:.2f} seconds; each bar is one test, coloured by its status.")]
    for index, worker in enumerate(workers):
        y = top + row * index
        parts.append(f'<text x="{left - 8}" y="{y + row / 2 + 4}" text-anchor="end">'
                     f"worker {_esc(worker)}</text>")
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{plot}" height="{row - 4}" '
                     f'fill="{PANEL}"/>')
    for attempt in attempts:
        parts.append(_gantt_bar(attempt, origin, scale, left, top + row * workers.index(
            attempt.worker), row))
    parts.append(_x_axis(span, scale, left, top + row * len(workers), "seconds since start"))
    parts.append("</svg>")
    return "\n".join(parts)


def _gantt_bar(attempt, origin, scale, left, y, row) -> str:
    start = (attempt.start - origin).total_seconds()
    word = status_word(attempt)
    x = left + start * scale
    width = max(1.0, (attempt.duration or 0.0) * scale)
    return (f'<rect x="{x:.2f}" y="{y + 5}" width="{width:.2f}" height="{row - 10}" '
            f'fill="{STATUS_STYLE[word][1]}" stroke="{BACKGROUND}" stroke-width="0.5">'
            f"<title>{_esc(attempt.test_id)}: {word}, {attempt.duration or 0.0:.3f} s "
            f"(from {start:.3f} s)</title></rect>")


def _x_axis(span, scale, left, y, label) -> str:
    parts = [f'<line x1="{left}" y1="{y}" x2="{left + span * scale:.2f}" y2="{y}" '
             f'stroke="{MUTED}"/>']
    for tick in _ticks(span):
        x = left + tick * scale
        parts.append(f'<line x1="{x:.2f}" y1="{y}" x2="{x:.2f}" y2="{y + 4}" stroke="{MUTED}"/>'
                     f'<text x="{x:.2f}" y="{y + 16}" text-anchor="middle">{tick:g}</text>')
    parts.append(f'<text x="{left + span * scale:.2f}" y="{y + 30}" text-anchor="end">'
                 f"{_esc(label)}</text>")
    return "\n".join(parts)


def _history(history: Sequence[object], current: Optional[int]) -> str:
    heading = ('<section aria-labelledby="history">\n'
               '<h2 id="history">History of recent runs</h2>\n')
    if not history:
        return heading + "<p>No stored runs to chart.</p>\n</section>"
    svg = _history_svg(history, current)
    legend = _legend(["passed", "failed", "skipped"], [("duration (s)", TEXT)])
    return heading + svg + "\n" + legend + "\n" + _history_table(history) + "\n</section>"


def _history_svg(history, current) -> str:
    left, right, top, bottom, width, height = 56, 64, 12, 40, 960, 260
    plot_w, plot_h = width - left - right, height - top - bottom
    most = nice_ceiling(max(record.total for record in history) or 1)
    longest = nice_ceiling(max(record.duration for record in history) or 1.0)
    slot = plot_w / len(history)
    parts = [_svg_open(width, height, "history", "Pass, fail and skip counts and duration of "
                       "recent runs",
                       f"Runs {history[0].run_id} to {history[-1].run_id}: stacked bars of "
                       "passed, failed and skipped tests (left axis) and a line of each "
                       "run's duration in seconds (right axis).")]
    parts.append(_y_axis(most, left, top, plot_h, "tests", anchor_left=True))
    parts.append(_y_axis(longest, left + plot_w, top, plot_h, "seconds", anchor_left=False))
    points = []
    for index, record in enumerate(history):
        x = left + slot * index
        parts.append(_history_bar(record, x, slot, top, plot_h, most, record.run_id == current))
        points.append((x + slot / 2, top + plot_h - record.duration / longest * plot_h))
    parts.append(_duration_line(points, history))
    parts.append("</svg>")
    return "\n".join(parts)


def _y_axis(maximum, x, top, plot_h, label, anchor_left, label_dy=32, digits=2) -> str:
    """A vertical axis at ``x`` with ticks up to ``maximum`` and ``label``
    ``label_dy`` below the plot (shared with the history dashboard)."""
    anchor, dx = ("end", -6) if anchor_left else ("start", 6)
    parts = [f'<line x1="{x}" y1="{top}" x2="{x}" y2="{top + plot_h}" stroke="{MUTED}"/>']
    for tick in _ticks(maximum, 5):
        y = top + plot_h - tick / maximum * plot_h
        parts.append(f'<text x="{x + dx}" y="{y + 4:.{digits}f}" '
                     f'text-anchor="{anchor}">{tick:g}</text>')
    parts.append(f'<text x="{x + dx}" y="{top + plot_h + label_dy}" text-anchor="{anchor}">'
                 f"{_esc(label)}</text>")
    return "\n".join(parts)


def _history_bar(record, x, slot, top, plot_h, most, is_current) -> str:
    bar_w = min(48.0, max(2.0, slot * 0.6))
    bar_x = x + (slot - bar_w) / 2
    base = top + plot_h
    parts = []
    for word, count in (("passed", record.passed), ("failed", record.failed),
                        ("skipped", record.skipped)):
        height = count / most * plot_h
        base -= height
        if count:
            parts.append(f'<rect x="{bar_x:.2f}" y="{base:.2f}" width="{bar_w:.2f}" '
                         f'height="{height:.2f}" fill="{STATUS_STYLE[word][1]}"/>')
    weight = ' font-weight="700"' if is_current else ""
    parts.append(f'<text x="{x + slot / 2:.2f}" y="{top + plot_h + 16}" '
                 f'text-anchor="middle"{weight}>{record.run_id}</text>')
    summary = (f"run {record.run_id}: {record.passed} passed, {record.failed} failed, "
               f"{record.skipped} skipped, {record.duration:.2f} s")
    return f"<g><title>{_esc(summary)}</title>{''.join(parts)}</g>"


def _duration_line(points, history) -> str:
    path = " ".join(f"{x:.2f},{y:.2f}" for x, y in points)
    dots = "".join(f'<circle cx="{x:.2f}" cy="{y:.2f}" r="3.5" fill="{TEXT}">'
                   f"<title>run {record.run_id}: {record.duration:.2f} s</title></circle>"
                   for (x, y), record in zip(points, history))
    return (f'<polyline points="{path}" fill="none" stroke="{TEXT}" stroke-width="2"/>'
            f"{dots}")


def _history_table(history) -> str:
    rows = "\n".join(
        f'<tr><td class="num">{record.run_id}</td><td>{_esc((record.started or "")[:19])}</td>'
        f'<td class="num">{record.passed}</td><td class="num">{record.failed}</td>'
        f'<td class="num">{record.skipped}</td><td class="num">{record.duration:.2f}</td></tr>'
        for record in reversed(history))
    return ("<details>\n<summary>Show the chart's data</summary>\n<table>\n"
            "<caption>Recent runs, newest first</caption>\n<thead><tr>"
            '<th scope="col" class="num">Run</th><th scope="col">Started (UTC)</th>'
            '<th scope="col" class="num">Passed</th><th scope="col" class="num">Failed</th>'
            '<th scope="col" class="num">Skipped</th><th scope="col" class="num">Duration (s)'
            f"</th></tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n</details>")


# --- colour contrast (WCAG 2) ---------------------------------------------------

def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)

