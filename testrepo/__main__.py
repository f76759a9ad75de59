"""``python -m testrepo`` runs the ``testr`` command line."""

import sys

from testrepo.cli.app import main

if __name__ == "__main__":
    sys.exit(main())
