"""Reading a certificate credential's public certificate at the config edge.

The file (PEM, one certificate, no private key) must lie inside the repository; its validity
decides the credential's dates, so they are read here once and never from the clock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from .files import (
    Problem,
)
from .models import (
    CertificateCredential,
    RegionConfig,
)
from .resolved import render as render_uri


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
    resolved = pem_path.resolve()
    if not resolved.is_relative_to(project_dir.resolve()):
        return (
            f"{relative!r} is a symbolic link (or lies under one) that leads outside the "
            f"repository, to {str(resolved)!r}; commit the public certificate itself"
        )
    if pem_path.is_dir():
        return f"{relative!r} is a directory, not a file; name the PEM file in it"
    if not pem_path.is_file():
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
        data = pem_path.read_bytes()
    except OSError as error:
        return [Problem(file, where, f"{relative!r} cannot be read ({error.strerror})")], None
    if b"PRIVATE KEY-----" in data:
        # Never send (or commit) a private key: Entra needs only the public certificate.
        return [
            Problem(
                file,
                where,
                f"{relative!r} contains a private key; commit only the public certificate "
                "(openssl x509 -in <file> -out <public>.pem) and keep the key in Key Vault",
            )
        ], None
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError:
        return [
            Problem(
                file,
                where,
                f"{relative!r} is not a PEM certificate (convert a DER file with "
                "openssl x509 -inform der -outform pem)",
            )
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
