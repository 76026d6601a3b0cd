"""``python -m nicelist``: the same as the ``nicelist`` console script."""

import sys

from nicelist.cli import main

sys.exit(main())
