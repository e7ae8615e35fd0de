"""`python -m bench`: every benchmark, one line each (see bench/run.py)."""

import sys

from bench.run import main

sys.exit(main())
