"""One apply per region at a time: a lock file beside the region's audit log.

Two applies of one region at once would both read a tenant, both find a grant missing and both
write it, and interleave their audit lines. The lock is created atomically (``O_CREAT |
O_EXCL``) and names its holder (process id, host, user, start time); a second apply is refused
with that name (exit 23). A lock whose holder is a process of this host that no longer runs (a
killed apply) is stale: it is taken over, with a line saying so. A lock from another host is
never taken over automatically: its process cannot be checked from here, so the message says
how to remove it by hand once that run is known to be gone.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from partner_apps import exitcodes
from partner_apps.sam.errors import SamError


def _alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (``kill(pid, 0)`` sends nothing)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user's process
    return True


def _holder(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _describe(holder: dict[str, Any]) -> str:
    if not holder:
        return "an unreadable lock"
    return (
        f"process {holder.get('pid')} of {holder.get('user')} on {holder.get('host')}, started "
        f"{holder.get('started')}"
    )


@contextlib.contextmanager
def region_lock(
    path: Path, region: str, now: Callable[[], datetime], say: Callable[[str], None]
) -> Iterator[None]:
    """Hold ``path`` for the duration of the ``with``; refuse (exit 23) while another live
    apply of the region holds it."""
    me = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "user": getpass.getuser(),
        "region": region,
        "started": now().isoformat(timespec="seconds"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(path)
            same_host = holder.get("host") == me["host"]
            pid = holder.get("pid")
            if holder and same_host and isinstance(pid, int) and not _alive(pid):
                say(
                    f"lock {path}: taking over a stale lock ({_describe(holder)}: that process "
                    "no longer runs)"
                )
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                continue
            raise SamError(
                f"region {region}: another apply holds the lock {path} ({_describe(holder)}); "
                "one apply per region at a time. If that run is gone (another host, or a lock "
                "that cannot be read), remove the file by hand",
                exitcodes.LOCKED,
            ) from None
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(me, handle)
        break
    else:  # pragma: no cover - another process took the stale lock between our two tries
        raise SamError(f"region {region}: the lock {path} was taken meanwhile", exitcodes.LOCKED)
    try:
        yield
    finally:
        if _holder(path).get("pid") == me["pid"]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
