"""partner-apps: the command line of the CSP partner-managed apps project.

The review product (``preview``, ``review``), the customer side (``sam``, ``customers``,
``routing``, ``sandbox``) and one command line over both (``cli``, ``partner-apps --help``).
The Pulumi program does not import this package.
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"

_CHECKOUT = Path(__file__).resolve().parent.parent


def project_dir(cwd: Path | None = None) -> Path:
    """The project a command works on when not told (``--project-dir``): the current directory
    if it holds ``Pulumi.yaml``; else the checkout this package runs from (``make`` installs it
    editable); else the current directory. An installed wheel has no checkout around it, so
    there the project is where the command runs, as for ``pulumi`` itself."""
    here = Path.cwd() if cwd is None else cwd
    for candidate in (here, _CHECKOUT):
        if (candidate / "Pulumi.yaml").is_file():
            return candidate
    return here
