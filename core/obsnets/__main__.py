"""``python -m obsnets``: the ``obsnets`` command line (see :mod:`obsnets.cli.main`)."""

import sys

from obsnets.cli.main import main

sys.exit(main())
