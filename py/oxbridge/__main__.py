"""`python -m oxbridge describe FILE`."""

import sys

from ._cli import main

if __name__ == "__main__":  # so that importing it (pytest --doctest-modules) runs nothing
    sys.exit(main())
