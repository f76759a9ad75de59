"""Which of the listed test ids a command runs (testr/stestr semantics).

:func:`read_criteria` does the I/O (list files) and compiles every regex once,
so user mistakes surface as one-line :class:`~testrepo.errors.UsageError`
before anything runs; :func:`select` is then a pure filter over test ids.

Unlike stestr's ``construct_list``, the result is a list in a defined order,
never a set, so scheduling does not depend on hash order (ANCHORS.md 2.6).
"""

from __future__ import annotations

import codecs
import dataclasses
import os
import re
from typing import Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

from testrepo.errors import UsageError
from testrepo.options import Selection


@dataclasses.dataclass(frozen=True)
class Criteria:
    """A :class:`~testrepo.options.Selection` with its regexes compiled and
    its list files read."""

    # Filters and include-list regexes; a test id is kept when any of them
    # matches (re.search).  Empty: every test id is kept.
    include: Tuple[re.Pattern, ...] = ()
    # --exclude-regex and exclude-list regexes; any match removes the id.
    exclude: Tuple[re.Pattern, ...] = ()
    # The ids of --load-list in file order; None: no restriction.
    only: Optional[Tuple[str, ...]] = None
    # The failing ids for --failing; None: no restriction.
    failing: Optional[FrozenSet[str]] = None


def read_criteria(
    selection: Selection,
    failing_ids: Optional[Sequence[str]],
    directory: str = ".",
) -> Criteria:
    """Read the list files named in ``selection`` (relative to ``directory``)
    and compile its regexes.

    ``failing_ids`` is used only when ``selection.failing`` is set; ``None``
    then means nothing is failing, so nothing is selected.
    Raises :class:`UsageError` naming the flag or file for a bad regex or an
    unreadable list file.
    """
    include = [_compile(p, "filter") for p in selection.filters]
    exclude = [_compile(p, "--exclude-regex") for p in selection.exclude_regex]
    if selection.include_list is not None:
        include += _read_patterns(directory, selection.include_list, "include list")
    if selection.exclude_list is not None:
        exclude += _read_patterns(directory, selection.exclude_list, "exclude list")
    only = None
    if selection.load_list is not None:
        path = os.path.join(directory, selection.load_list)
        only = tuple(_read_ids(path, "load list", selection.load_list))
    failing = frozenset(failing_ids or ()) if selection.failing else None
    return Criteria(tuple(include), tuple(exclude), only, failing)


def select(test_ids: Sequence[str], criteria: Criteria) -> List[str]:
    """Return the test ids ``criteria`` selects, in the order of ``test_ids``.

    With filters ``('test_a', 'test_b')`` and exclude ``('slow',)``::

        ['pkg.test_a.T.test_1', 'pkg.test_a.T.test_slow', 'pkg.test_c.T.test_1']
        -> ['pkg.test_a.T.test_1']

    With a load list the result follows the load list's order instead (the
    user's explicit order, which bisection relies on); load-list ids that
    are not in ``test_ids`` or not otherwise selected are dropped, and an id
    listed twice is run once.
    """
    if not (criteria.include or criteria.exclude or criteria.only is not None
            or criteria.failing is not None):
        return list(test_ids)  # nothing to filter: the common `testr run`
    failing = criteria.failing
    if failing is not None:
        failing = listed_failing(test_ids, failing)
    kept = [
        test_id
        for test_id in test_ids
        if _included(test_id, criteria.include)
        and not any(pattern.search(test_id) for pattern in criteria.exclude)
        and (failing is None or test_id in failing)
    ]
    if criteria.only is None:
        return kept
    # The set is only used for membership; the order comes from the load list.
    available = set(kept)
    return [t for t in dict.fromkeys(criteria.only) if t in available]


# A test that reports under another id when it runs (testscenarios:
# ``pkg.T.test_a`` is listed and reports ``pkg.T.test_a(scenario)``).
_RUN_TIME_SUFFIX = re.compile(r"\([^()]*\)$")


def listed_form(test_id: str) -> str:
    """The id a run-time variant is listed under: ``pkg.T.test_a(two)`` ->
    ``pkg.T.test_a`` (a variant's name may hold dots); other ids unchanged."""
    return _RUN_TIME_SUFFIX.sub("", test_id)


def listed_failing(test_ids: Sequence[str], failing: FrozenSet[str]) -> FrozenSet[str]:
    """The failing ids, plus the listed test behind each failing id that is
    not listed itself but is a run-time variant of one that is
    (``pkg.T.test_a(two)`` -> ``pkg.T.test_a``): running that test runs
    the failing variant again."""
    listed = set(test_ids)
    behind = set()
    for test_id in failing:
        if test_id not in listed:
            base = listed_form(test_id)
            if base != test_id and base in listed:
                behind.add(base)
    return failing | behind if behind else failing


def with_variant_durations(test_ids: Optional[Sequence[str]], durations: Mapping[str, float],
                           stored: Callable[[], Mapping[str, float]]) -> Dict[str, float]:
    """``durations`` plus, for each listed test without one, the summed
    durations of its run-time variants: ``pkg.T.test_a`` runs (and is
    stored) as ``pkg.T.test_a(one)`` and ``pkg.T.test_a(two)``, and the
    scheduler must see the whole cost of handing it out.  ``stored()``
    returns every stored duration; it is called only when a listed test
    has none of its own."""
    if not test_ids:  # None: command mode runs the whole suite unlisted
        return dict(durations)
    missing = set(test_ids).difference(durations)
    if not missing:
        return dict(durations)
    sums: Dict[str, float] = {}
    for test_id, seconds in stored().items():
        base = listed_form(test_id)
        if base != test_id and base in missing:
            sums[base] = sums.get(base, 0.0) + seconds
    return {**durations, **sums}


def _included(test_id: str, include: Sequence[re.Pattern]) -> bool:
    return not include or any(pattern.search(test_id) for pattern in include)


def read_regex_file(path: str) -> List[str]:
    """Return the regexes in ``path``, one per line.

    ``#`` starts a comment (a whole line or the rest of one), surrounding
    whitespace is stripped and blank lines are ignored::

        # slow tests
        ^pkg\\.test_big\\.   # takes minutes

    gives ``['^pkg\\\\.test_big\\\\.']``.  Raises :class:`UsageError` naming
    ``path`` when the file cannot be read or is not UTF-8.
    """
    return [pattern for _, pattern in _numbered_patterns(path, "regex file", path)]


def read_id_file(path: str) -> List[str]:
    """Return the test ids in ``path``, one per line, stripped, blanks skipped.

    Raises :class:`UsageError` naming ``path`` when the file cannot be read
    or is not UTF-8.
    """
    return _read_ids(path, "test id file", path)


def _read_ids(path: str, label: str, shown: str) -> List[str]:
    stripped = (line.strip() for line in _read_lines(path, label, shown))
    return [test_id for test_id in stripped if test_id]


def _read_patterns(directory: str, name: str, label: str) -> List[re.Pattern]:
    path = os.path.join(directory, name)
    return [
        _compile(pattern, f"{label} {name} line {number}", prefix=True)
        for number, pattern in _numbered_patterns(path, label, name)
    ]


def _numbered_patterns(path: str, label: str, shown: str) -> List[Tuple[int, str]]:
    """(line number, regex) pairs, numbered as an editor shows the file."""
    patterns = []
    for number, line in enumerate(_read_lines(path, label, shown), start=1):
        pattern = line.split("#", 1)[0].strip()
        if pattern:
            patterns.append((number, pattern))
    return patterns


def _read_lines(path: str, label: str, shown: str) -> List[str]:
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as err:
        reason = err.strerror or str(err)
        raise UsageError(f"cannot read {label} '{shown}': {reason}") from err
    # UTF-8 whatever the locale: test ids are UTF-8 in subunit.  Drop the
    # byte order mark some Windows editors write (here, not via "utf-8-sig",
    # so that error offsets count from the same byte as ``data``).
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise UsageError(
            f"cannot read {label} '{shown}': line {line} is not UTF-8"
        ) from err
    # Not splitlines(): it also splits on \f, \x1c and friends, which would
    # put error line numbers out of step with what an editor shows.
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _compile(pattern: str, where: str, prefix: bool = False) -> re.Pattern:
    """Compile a user's regex; ``where`` names the flag or file line.

    ``prefix`` puts ``where`` first ("exclude list x line 3: invalid ..."),
    otherwise it follows the pattern ("invalid ... '(foo' in filter: ...").
    """
    try:
        return re.compile(pattern)
    # OverflowError: "a{99999999999}"; RecursionError: thousands of nested
    # groups.  Both are the user's input, not our bug.
    except (re.error, OverflowError, RecursionError) as err:
        if prefix:
            message = f"{where}: invalid regular expression '{pattern}': {err}"
        else:
            message = f"invalid regular expression '{pattern}' in {where}: {err}"
        raise UsageError(message) from err
