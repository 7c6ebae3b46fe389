"""Test certificates made on the fly with ``cryptography``: only public certificates are written.

Each certificate is issued by one RSA key made once per test process (``_issuer``); its own
subject key is what the case is about (RSA of a given size, an elliptic curve, Ed25519). Private
keys never leave the process, except where a case needs key material in a file on purpose
(``private_key_pem``, ``private_key_body``), and then only into a test's temporary copy.

An RSA key below 1024 bits cannot be generated with ``cryptography``; a certificate only needs
the public key, so a weak one is built from a random odd modulus of the wanted size (never a
usable key, which is the point).
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

Key = Literal["rsa-512", "rsa-1024", "rsa-2048", "rsa-3072", "ec-p256", "ec-p384", "ed25519"]
SubjectKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


@cache
def _issuer() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def _rsa(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _public_key(key: Key) -> SubjectKey:
    if key == "rsa-512":
        modulus = secrets.randbits(512) | (1 << 511) | 1
        return rsa.RSAPublicNumbers(65537, modulus).public_key()
    if key.startswith("rsa-"):
        bits = int(key.removeprefix("rsa-"))
        return _issuer().public_key() if bits == 2048 else _rsa(bits).public_key()
    if key == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1()).public_key()
    if key == "ec-p384":
        return ec.generate_private_key(ec.SECP384R1()).public_key()
    return ed25519.Ed25519PrivateKey.generate().public_key()


def certificate_pem(
    key: Key = "rsa-2048",
    *,
    not_before: date = date(2026, 1, 1),
    not_after: date = date(2028, 6, 30),
    ca: bool | None = None,
) -> bytes:
    """A PEM certificate of ``key``, valid from ``not_before`` to ``not_after`` (09:30 UTC);
    ``ca``: a basicConstraints extension with that CA flag (none when ``None``)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"partner-apps test ({key})")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(_public_key(key))
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(*not_before.timetuple()[:3], 9, 30, tzinfo=UTC))
        .not_valid_after(datetime(*not_after.timetuple()[:3], 9, 30, tzinfo=UTC))
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
    certificate = builder.sign(_issuer(), hashes.SHA256())
    return certificate.public_bytes(serialization.Encoding.PEM)


def starting_in(days: int) -> date:
    """A date ``days`` after today (UTC): for certificates that are not valid yet."""
    return datetime.now(UTC).date() + timedelta(days=days)


def private_key_pem() -> bytes:
    """A throw-away PKCS#8 private key in PEM, made for the test that writes it."""
    return _rsa(1024).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def private_key_body() -> bytes:
    """The base64 body of ``private_key_pem`` without its BEGIN and END lines."""
    return b"".join(
        line for line in private_key_pem().splitlines(keepends=True) if b"-----" not in line
    )
