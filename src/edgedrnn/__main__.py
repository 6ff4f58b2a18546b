"""``python -m edgedrnn``: the edgedrnn command."""

import sys

from .cli import main

sys.exit(main())
