"""``python -m services.cli``: the ``fpga-cloud`` command line."""

import sys

from services.cli.main import main

sys.exit(main())
