"""`python -m slo_operator.cli`: the same as the `slo-operator` script."""

import sys

from . import main

sys.exit(main())
