"""Reading a certificate credential's public certificate at the config edge.

The file must be a regular file inside the repository (a symbolic link within it is fine) of at
most ``MAX_CERTIFICATE_BYTES``; what it may hold is the pack's rule as well
(``rules.certificate_file_problem``: CERTIFICATE blocks only, nothing that is or may be key
material, an RSA key of at least 2048 bits, no CA certificate, valid already), so config and the
``azuread-application-certificate-credential`` policy cannot disagree. Its validity decides the
credential's dates, so they are read here once and never from the clock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from policies.partner_policies import rules

from .files import (
    FileRefusedError,
    Problem,
    read_regular_file,
)
from .models import (
    CertificateCredential,
    RegionConfig,
)
from .resolved import render as render_uri

# A PEM certificate is 1 to 3 KB, a chain of a few of them some more: a larger file is no
# certificate credential (and is not read whole to find that out).
MAX_CERTIFICATE_BYTES = 64 * 1024


@dataclass(frozen=True)
class LoadedCertificate:
    """The public certificate of a certificate credential, read and checked at the edge."""

    pem: str  # exactly one certificate, re-encoded: nothing else of the file reaches Entra
    thumbprint: str  # SHA-1, upper-case hex, as Entra and the portal show it
    not_before: datetime  # UTC, to the second: Entra refuses a key valid before the certificate
    not_after: datetime  # UTC
    end: datetime  # the credential's end: endDate (00:00 UTC), else the certificate's expiry

    @property
    def end_date(self) -> date:
        return self.end.date()


def _certificate_path(relative: str, project_dir: Path) -> Path | str:
    """The PEM file a ``publicKeyFile`` names, or why it cannot be used: it must be a file of
    the repository, reached without leaving it (no ``..``, no symbolic link that leads out)."""
    if not relative or "\0" in relative:
        return f"{relative!r} is not a file path"
    normalised = PurePosixPath(os.path.normpath(relative.replace("\\", "/")))
    if normalised.is_absolute() or normalised.parts[:1] == ("..",):
        return (
            f"{relative!r} is outside the project; the certificate's public part must be a "
            "file of the repository, relative to the project directory"
        )
    pem_path = project_dir / normalised
    try:
        resolved = pem_path.resolve()
    except (OSError, RuntimeError) as error:  # a symbolic link loop (RuntimeError on 3.11)
        return f"{relative!r} cannot be resolved ({error})"
    if not resolved.is_relative_to(project_dir.resolve()):
        return (
            f"{relative!r} is a symbolic link (or lies under one) that leads outside the "
            f"repository, to {str(resolved)!r}; commit the public certificate itself"
        )
    if pem_path.is_dir():
        return f"{relative!r} is a directory, not a file; name the PEM file in it"
    if not pem_path.exists():  # (a named pipe or a device exists: the read refuses its type)
        return f"{relative!r} does not exist"
    return pem_path


def load_certificate(  # noqa: PLR0917 - one call site; the values are the check's inputs
    key: str,
    credential: CertificateCredential,
    region: RegionConfig,
    project_dir: Path,
    file: str,
    today: date,
) -> tuple[list[Problem], LoadedCertificate | None]:
    """The public certificate of a certificate credential, read and checked at the edge."""
    where = f"apps.{key}.credential.publicKeyFile"
    relative = render_uri(credential.public_key_file, region)
    pem_path = _certificate_path(relative, project_dir)
    if isinstance(pem_path, str):
        return [Problem(file, where, pem_path)], None
    try:
        data = read_regular_file(pem_path, limit=MAX_CERTIFICATE_BYTES, root=project_dir)
    except FileRefusedError as refused:
        return [Problem(file, where, f"{relative!r} {refused.reason}")], None
    problem = rules.certificate_file_problem(data, today)
    if problem is not None:
        return [Problem(file, where, f"{relative!r} {problem}")], None
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError as error:  # the rule's DER reader accepted what OpenSSL's refuses
        return [
            Problem(file, where, f"{relative!r} is not a valid X.509 certificate ({error})")
        ], None
    not_before = certificate.not_valid_before_utc
    not_after = certificate.not_valid_after_utc
    end = not_after
    if credential.end_date is not None:
        end = datetime.combine(credential.end_date, datetime.min.time(), tzinfo=UTC)
    if not not_before < end <= not_after:
        return [
            Problem(
                file,
                f"apps.{key}.credential.endDate",
                f"{end.date().isoformat()} is outside the certificate's validity "
                f"({not_before.date().isoformat()} to {not_after.date().isoformat()})",
            )
        ], None
    if end.date() <= today:
        # Entra refuses a key credential that already ended; an existing one no longer signs in.
        where_end = f"apps.{key}.credential.endDate" if credential.end_date else where
        return [
            Problem(
                file,
                where_end,
                f"app {key!r}: the certificate credential ends on {end.date().isoformat()}, not "
                f"after today ({today.isoformat()}); commit a renewed public certificate",
            )
        ], None
    return [], LoadedCertificate(
        pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        # SHA-1 is what Entra shows as the thumbprint: an identifier here, not a security check.
        thumbprint=certificate.fingerprint(hashes.SHA1()).hex().upper(),
        not_before=not_before,
        not_after=not_after,
        end=end,
    )
