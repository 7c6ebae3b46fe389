"""``python -m partner_apps.preview`` (``make preview``): the same as ``partner-apps preview``,
without importing the rest of the command line."""

import gc

from partner_apps.preview.command import exit_now, main

# Everything imported so far lives until the process ends: out of the cyclic collector's reach,
# each full collection scans only what the previews allocate (docs/benchmark.md).
gc.collect()
gc.freeze()
exit_now(main())
