"""Where the checkout's pieces are, for tests that look at files rather than the API."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADER = ROOT / "include" / "oxbridge.h"
sys.path.insert(0, str(ROOT / "tools"))
