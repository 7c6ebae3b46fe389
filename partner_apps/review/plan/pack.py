"""The policy pack as a plan records it (issue 27 item 2): its name, version and source digest.

A pull request can weaken the review without touching one resource: a policy disabled, lowered
or deleted in ``policies/partner_policies/*.py``. The plan therefore records the pack that judged
it (``policyPack``: name, ``version`` of ``PulumiPolicy.yaml``, and a SHA-256 over its sources),
so the diff can say the pack changed and the audit can tell a plan made by another pack.

The digest is over the pack's Python sources and ``PulumiPolicy.yaml``, in a stable order (by
relative POSIX path), each entry its path, its length and its bytes, so no two trees hash alike
by moving bytes from one file to the next. Caches and virtual environments are left out
(``__pycache__``, ``venv``, hidden folders): they are not the pack's source.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from components.files import safe_load
from partner_apps.review.plan.access import as_map, as_str

# Folders below the pack that are not its source (``policies/venv`` is the pack's own runtime).
_SKIPPED_DIRS: Final = frozenset({"__pycache__", "venv", ".venv", "node_modules"})
MANIFEST: Final = "PulumiPolicy.yaml"
DIGEST_PREFIX: Final = "sha256:"


@dataclass(frozen=True)
class PackRecord:
    """The policy pack that judged a plan: name, version and the digest of its sources."""

    name: str
    version: str
    digest: str

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "digest": self.digest}

    @property
    def short(self) -> str:
        """``name version (sha256:0123456789ab)``: how a report line names it."""
        digest = self.digest.removeprefix(DIGEST_PREFIX)[:12]
        return f"{self.name} {self.version} (sha256:{digest})"


def pack_root() -> Path:
    """The folder of the pack this process evaluates with (``policies``, the one imported)."""
    import policies  # noqa: PLC0415 - the pack's own location, resolved at the call

    return Path(policies.__file__).resolve().parent


def _sources(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*"), key=lambda p: p.relative_to(root).as_posix()):
        relative = path.relative_to(root)
        if any(part in _SKIPPED_DIRS or part.startswith(".") for part in relative.parts[:-1]):
            continue
        if path.is_file() and (path.suffix == ".py" or relative.as_posix() == MANIFEST):
            yield path


def pack_digest(root: Path) -> str:
    """``sha256:<hex>`` over the pack's Python sources and manifest below ``root``."""
    digest = hashlib.sha256()
    for path in _sources(root):
        data = path.read_bytes()
        name = path.relative_to(root).as_posix().encode("utf-8")
        digest.update(b"%d:%s\0%d:" % (len(name), name, len(data)))
        digest.update(data)
    return DIGEST_PREFIX + digest.hexdigest()


def manifest_version(root: Path) -> str:
    """The ``version`` of ``PulumiPolicy.yaml`` below ``root`` ("unknown" when it has none)."""
    try:
        document = safe_load((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return "unknown"
    version = document.get("version") if isinstance(document, Mapping) else None
    return str(version) if version not in (None, "") else "unknown"


def current_pack(root: Path | None = None) -> PackRecord:
    """The record of the pack at ``root`` (default: the one this process evaluates with)."""
    from policies.partner_policies import PACK_NAME  # noqa: PLC0415 - loads the pack on use

    root = root or pack_root()
    return PackRecord(str(PACK_NAME), manifest_version(root), pack_digest(root))


def record_from_json(value: Any) -> PackRecord | None:
    """A plan's ``policyPack`` block; None when the plan records none (format 1)."""
    block = as_map(value)
    if not block:
        return None
    return PackRecord(
        as_str(block.get("name")), as_str(block.get("version")), as_str(block.get("digest"))
    )
