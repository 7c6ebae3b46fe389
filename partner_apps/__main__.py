"""``python -m partner_apps``: the same as the ``partner-apps`` console script."""

import sys

from partner_apps.cli import main

sys.exit(main())
