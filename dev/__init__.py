"""Developer scripts: generators and benchmarks (``make generate``, ``make benchmark``); not part
of the ``partner-apps`` command line or the installed package."""
