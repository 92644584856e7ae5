"""``python -m tansaku`` is the ``tansaku`` command."""

import sys

from tansaku.cli import main

sys.exit(main())
