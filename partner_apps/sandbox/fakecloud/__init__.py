"""A loopback Microsoft cloud for the tests: Entra, Key Vault, Partner Center and Graph over TLS.

Not part of the product (the Pulumi program and ``partner_apps`` never import it). The product's
real clients (MSAL, azure-identity, azure-keyvault-secrets, requests) talk to it unchanged,
trusting its throw-away test CA; faults are injected by the tests (``Cloud.inject``).

Every behaviour names its source (a Microsoft docs page, the error-code reference, a sample) in
``README.md`` beside this file; where the docs are silent it says which reading the product
assumes and which test runs the other one.
"""

from .server import FakeCloud
from .state import Cloud, Fault

__all__ = ["Cloud", "FakeCloud", "Fault"]
