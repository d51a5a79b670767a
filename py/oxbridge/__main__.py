"""`python -m oxbridge describe FILE`."""

import sys

from ._cli import main

sys.exit(main())
