"""`python -m monotui`."""

import sys

from monotui.cli import main

sys.exit(main())
