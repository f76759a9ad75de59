"""The library API: everything a ``testr`` command does, callable from
Python (Tempest-style embedding).  Functions take a :class:`Project`, an
options object (:mod:`testrepo.options`) and the streams to write to, and
return result objects; they never print to ``sys.stdout``, call
``sys.exit`` or read ``input``.

One module per concern; each imports what it needs when it needs it, so
``from testrepo import api`` stays cheap:

==========================  ====================================================
``api.project``             the project's repository and configuration
``api.run``                 ``run`` and ``list_tests`` (the entry points)
``api.execute``             the ordinary run: plan (:mod:`testrepo.plan`), then
                            an executor: ``api.builtin`` or ``api.command``
``api.modes``               --until-failure, --pdb, --analyze-isolation
``api.stream``              events through a pipeline into the repository
``api.load``                ``load``
``api.read``                ``last``, ``failing``, ``slowest``, ``stats``, ``history``
``api.reports``             ``compare``, ``flaky``, JUnit XML, HTML reports
``api.transfer``            ``init --write-config``, ``import``, ``export``
==========================  ====================================================
"""

from testrepo.api.load import load
from testrepo.api.project import (
    RunOutcome,
    init,
    load_config,
    open_repository,
    repair,
    repository_url,
)
from testrepo.api.read import (
    RemoveOutcome,
    failing,
    history,
    history_remove,
    history_show,
    history_table,
    last,
    slowest,
    stats,
    write_slowest,
)
from testrepo.api.reports import (
    HISTORY_RUNS,
    CompareOutcome,
    HistoryReportOutcome,
    compare,
    flaky,
    write_history_report,
    write_html_report,
    write_junit,
)
from testrepo.api.run import (
    JOB_VARIABLES,
    analyze_isolation,
    list_tests,
    origin_metadata,
    resolve_concurrency,
    run,
)
from testrepo.api.transfer import (
    ImportOutcome,
    InitOutcome,
    export_repository,
    import_repository,
    init_project,
)
from testrepo.options import (
    COMPARE_CATEGORIES,
    FLAKY_COLUMNS,
    CompareOptions,
    FlakyOptions,
    HistoryReportOptions,
    LoadOptions,
)

__all__ = [
    # project and repository
    "RunOutcome", "init", "load_config", "open_repository", "repair", "repository_url",
    # run
    "JOB_VARIABLES", "analyze_isolation", "list_tests", "origin_metadata",
    "resolve_concurrency", "run",
    # load
    "LoadOptions", "load",
    # read commands
    "RemoveOutcome", "failing", "history", "history_remove", "history_show", "history_table",
    "last", "slowest", "stats", "write_slowest",
    # CI reports
    "COMPARE_CATEGORIES", "FLAKY_COLUMNS", "HISTORY_RUNS", "CompareOptions", "CompareOutcome",
    "FlakyOptions", "HistoryReportOptions", "HistoryReportOutcome", "compare", "flaky",
    "write_history_report", "write_html_report", "write_junit",
    # transfer
    "ImportOutcome", "InitOutcome", "export_repository", "import_repository", "init_project",
]
