"""``python -m hyperparty``: the ``hyperparty`` command."""

import sys

from .cli import main

sys.exit(main())
