"""Every user-facing failure, and the exit code it maps to.

Exit codes are defined here and nowhere else (see README "Exit codes"):

====  ==========================================================
0     success (including ``run --failing`` with nothing failing)
1     tests ran and something failed (not an exception: the run's summary)
2     usage error: bad flags, bad regex, a filter that matched nothing
3     configuration error (file, key and value named)
4     repository error (missing, corrupt, empty, locked too long)
5     the test command could not list or start
70    a bug: any other exception
130   interrupted
====  ==========================================================
"""

EXIT_SUCCESS = 0
EXIT_TESTS_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_REPOSITORY = 4
EXIT_EXECUTION = 5
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


class TestrepoError(Exception):
    """A failure to report to the user as one line, with an exit code."""

    exit_code = EXIT_INTERNAL

    # Keep unittest/testtools from collecting this class as a test case.
    __test__ = False

    def __init__(self, message, detail=None):
        super().__init__(message)
        self.message = message
        # Multi-line context (a listing command's stderr, an import
        # traceback) shown after the one-line message.
        self.detail = detail

    def __str__(self):
        return self.message


class UsageError(TestrepoError):
    exit_code = EXIT_USAGE


class ConfigError(TestrepoError):
    exit_code = EXIT_CONFIG


class RepositoryError(TestrepoError):
    exit_code = EXIT_REPOSITORY


class RepositoryNotFound(RepositoryError):
    pass


class RepositoryExists(RepositoryError):
    pass


class RepositoryCorrupt(RepositoryError):
    pass


class NoRunsError(RepositoryError):
    pass


class UnknownRunError(RepositoryError):
    pass


class ExecutionError(TestrepoError):
    exit_code = EXIT_EXECUTION
