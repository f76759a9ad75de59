"""``runner = pytest``: generated pytest suites through the CLI.

Skipped as a whole where pytest is not installed (the ``[pytest]`` extra).
"""
