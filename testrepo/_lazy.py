"""Third-party modules imported on first use.

The configuration modules (config, config_files, user_config) are imported
by most commands, but only some of their functions need voluptuous or
tomllib, which cost more than the rest of a command.  A :class:`LazyModule`
stands in for such a module and imports it when an attribute is first read.
(:mod:`testrepo.api` needs none: its modules import what they use inside
the functions that use it.)
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
