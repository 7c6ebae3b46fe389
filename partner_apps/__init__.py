"""partner-apps: the command line of the CSP partner-managed apps project.

One entry point for the offline tools (preview, diff, audit, preview-json, benchmark, generate)
and for the Secure Application Model token of each region stack (``partner-apps sam ...``).
The Pulumi program does not import this package.
"""

__version__ = "0.1.0"
