"""testrepo: a parallel test runner and test-result repository."""

__version__ = "0.1.0"
