"""The pytest executor: ``runner = pytest``.  Checks what only the
pytest runner needs (pytest importable by the workers' interpreter), then
runs the same worker pool as the unittest runner with pytest workers
(:mod:`testrepo.execution.pytest_worker`, chosen by
``commands.builtin_argv``): one queue, one results pipeline, one
repository for both."""

from __future__ import annotations

import importlib.util
import os
import sys

from testrepo import errors
from testrepo.api.builtin import run_builtin
from testrepo.api.execute import RunContext
from testrepo.api.project import RunOutcome
from testrepo.plan import RunPlan


def run_pytest(context: RunContext, plan: RunPlan) -> RunOutcome:
    check_pytest_installed()
    if plan.randomly_seed is not None and importlib.util.find_spec("pytest_randomly"):
        context.say(f"pytest-randomly: every worker uses seed {plan.randomly_seed} "
                    f"(rerun: testr run -- --randomly-seed={plan.randomly_seed})\n")
    return run_builtin(context, plan)


def check_pytest_installed() -> None:
    """pytest must be importable (``$PYTHON``, when set, is the workers'
    interpreter: the worker checks that one itself)."""
    if os.environ.get("PYTHON"):
        return
    if importlib.util.find_spec("pytest") is None:
        raise errors.ExecutionError(
            f"runner = pytest, but pytest is not installed for {sys.executable}; "
            "install it (pip install 'testrepo[pytest]') or set runner = unittest")
