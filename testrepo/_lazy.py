"""Modules imported on first use.

``testrepo.api`` is the facade of every command, but ``testr last`` needs
none of the runner, the config validator or the report writers; importing
them all cost more than the rest of the command.  A :class:`LazyModule`
stands in for a module and imports it when an attribute is first read.
"""

from __future__ import annotations

import importlib


class LazyModule:
    """``LazyModule("testrepo.config").load(...)`` imports testrepo.config
    at that call, once."""

    __slots__ = ("_name", "_module")

    def __init__(self, name: str):
        self._name = name
        self._module = None

    def __getattr__(self, attribute: str):
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name}>"
