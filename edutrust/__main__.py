"""``python -m edutrust`` runs the command line."""

import sys

from edutrust.cli import main

sys.exit(main())
