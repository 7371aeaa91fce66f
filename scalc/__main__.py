"""``python -m scalc``: the same as the ``scalc`` command."""

import sys

from scalc.cli import main

sys.exit(main())
