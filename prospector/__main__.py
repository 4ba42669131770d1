"""``python -m prospector``: the command line (prospector/cli.py)."""

import sys

from prospector.cli import main

sys.exit(main())
