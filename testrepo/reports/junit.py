"""JUnit XML of one stored run, in the form Jenkins, GitLab and GitHub
test reporters read (the Ant/Jenkins ``junit-10.xsd`` shape)::

    <testsuites name="testrepo" tests= failures= errors= time=>
      <testsuite name="testrepo run 3" tests= failures= errors= skipped= time=
                 timestamp= hostname= id=>
        <properties><property name="run_id" value="3"/> ...metadata... </properties>
        <testcase classname="pkg.mod.Class" name="test_a" time="0.012">
          <failure|error|skipped message= type=>traceback</...>
          <system-out>captured stdout</system-out>
          <system-err>captured stderr</system-err>
        </testcase>
        <system-out>output that belonged to no test</system-out>
      </testsuite>
    </testsuites>

subunit records every failing test as ``fail``; like Ant's JUnit runner we
call it a ``failure`` when the exception is an ``AssertionError`` (a failed
check) and an ``error`` otherwise (the test broke). A test retried into
passing is a passing testcase whose earlier failures are in system-err.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Dict, Optional

from testrepo.reports.outcomes import RunResults, TestAttempts, exception_line, split_test_id

# Characters XML 1.0 cannot carry, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FAILURE_EXCEPTIONS = ("AssertionError", "AssertionFailedError")


def clean(text: str) -> str:
    """``text`` with characters XML cannot hold replaced by U+FFFD."""
    return _INVALID_XML.sub("\ufffd", text)


def classify(outcome: TestAttempts) -> Optional[str]:
    """``None`` (passed), ``"skipped"``, ``"failure"`` or ``"error"``."""
    if outcome.passed:
        return None
    if outcome.skipped:
        return "skipped"
    if outcome.status == "uxsuccess":
        return "failure"
    exception = exception_line(outcome.final.attachments.get("traceback", ""))
    kind = exception.split(":", 1)[0].rsplit(".", 1)[-1]
    return "failure" if kind in _FAILURE_EXCEPTIONS else "error"


def _counts(results: RunResults) -> Dict[str, str]:
    kinds = [classify(outcome) for outcome in results.outcomes.values()]
    time = 0.0 if results.record is None else results.record.duration
    return {"tests": str(len(kinds)), "failures": str(kinds.count("failure")),
            "errors": str(kinds.count("error")), "skipped": str(kinds.count("skipped")),
            "time": f"{time:.3f}"}


def build_junit(results: RunResults, hostname: str = "localhost") -> ET.ElementTree:
    """The JUnit document of ``results`` (see the module doc)."""
    counts = _counts(results)
    # junit-10.xsd allows no skipped count on <testsuites>, only on <testsuite>.
    totals = {name: value for name, value in counts.items() if name != "skipped"}
    root = ET.Element("testsuites", {"name": "testrepo", **totals})
    suite = ET.SubElement(root, "testsuite", {
        "name": f"testrepo {results.label}", **counts,
        "timestamp": _timestamp(results.record), "hostname": hostname,
        "id": "0" if results.run_id is None else str(results.run_id)})
    _add_properties(suite, results)
    for outcome in results.outcomes.values():
        _add_testcase(suite, outcome)
    if results.output.strip():
        ET.SubElement(suite, "system-out").text = clean(results.output)
    ET.indent(root)
    return ET.ElementTree(root)


def _timestamp(record) -> str:
    # xs:dateTime without a zone (what the strict Ant schema allows); UTC.
    started = None if record is None else record.started
    return (started or "1970-01-01T00:00:00")[:19]


def _add_properties(suite, results: RunResults) -> None:
    properties = {"run_id": "" if results.run_id is None else str(results.run_id)}
    record = results.record
    if record is not None:
        properties.update(partial=str(record.partial).lower(),
                          interrupted=str(record.interrupted).lower())
        properties.update(record.metadata)
    element = ET.SubElement(suite, "properties")
    for name, value in properties.items():
        ET.SubElement(element, "property", {"name": clean(name), "value": clean(value)})


def _add_testcase(suite, outcome: TestAttempts) -> None:
    classname, name = split_test_id(outcome.test_id)
    time = outcome.duration or 0.0
    case = ET.SubElement(suite, "testcase", {
        "classname": clean(classname or "testrepo"), "name": clean(name), "time": f"{time:.3f}"})
    kind = classify(outcome)
    attachments = outcome.final.attachments
    if kind == "skipped":
        ET.SubElement(case, "skipped", {"message": clean(attachments.get("reason", "").strip())})
    elif kind is not None:
        _add_problem(case, kind, outcome)
    _add_output(case, outcome)


def _add_problem(case, kind: str, outcome: TestAttempts) -> None:
    attachments = outcome.final.attachments
    if outcome.status == "uxsuccess":
        exc_type, message = "UnexpectedSuccess", "unexpected success: the test was expected to fail"
    else:
        line = exception_line(attachments.get("traceback", ""))
        exc_type, _, message = line.partition(":")
        exc_type, message = exc_type.strip() or "Failure", message.strip() or line
    details = [text for name, text in attachments.items()
               if name not in ("stdout", "stderr", "reason")]
    element = ET.SubElement(case, kind, {"type": clean(exc_type), "message": clean(message)})
    element.text = clean("\n".join(details))


def _add_output(case, outcome: TestAttempts) -> None:
    attachments = outcome.final.attachments
    out = attachments.get("stdout", "")
    err = [attachments.get("stderr", "")]
    for number, attempt in enumerate(outcome.attempts[:-1], 1):
        if attempt.failed:
            err.append(f"Attempt {number} of {len(outcome.attempts)} failed:\n"
                       + attempt.attachments.get("traceback", attempt.status))
    err_text = "\n".join(text for text in err if text)
    if out:
        ET.SubElement(case, "system-out").text = clean(out)
    if err_text:
        ET.SubElement(case, "system-err").text = clean(err_text)


def to_bytes(tree: ET.ElementTree) -> bytes:
    return ET.tostring(tree.getroot(), encoding="utf-8", xml_declaration=True) + b"\n"


def empty_junit() -> ET.ElementTree:
    """A document with no tests, for a command that stored no run."""
    root = ET.Element("testsuites", {"name": "testrepo", "tests": "0", "failures": "0",
                                     "errors": "0", "time": "0.000"})
    return ET.ElementTree(root)
