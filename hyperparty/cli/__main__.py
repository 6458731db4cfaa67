"""``python -m hyperparty.cli``: the ``hyperparty`` command."""

import sys

from . import main

sys.exit(main())
