"""PartnerManagedApp: one partner-managed app in one regional partner tenant.

Registers the multi-tenant app registration, its required access (one ``ApplicationApiAccess`` per
API), its service principal and that principal's membership in the tenant's AdminAgents group
(which pre-consents the app for every DAP customer), and its credential.

Why required access is not inline on the ``Application``: a resource app lists its client as a
*known client* (needs the client's client id) while the client requires the resource's scope (needs
the resource's client id). Both inline is a dependency cycle that no first ``pulumi up`` can
resolve. With access in ``ApplicationApiAccess`` resources (the provider's documented companion of
``Application`` with ``ignore_changes`` on ``requiredResourceAccesses``) the order is a plain DAG:
client app -> resource app (known clients) -> client's API access to the resource.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pulumi
import pulumi_azuread as azuread

from policies.partner_policies import catalog as permissions
from policies.partner_policies.tokens import APP_COMPONENT

from . import ids
from .certificates import (
    LoadedCertificate,
)
from .config import (
    ResolvedPermission,
)
from .models import (
    AppDefinition,
    CertificateCredential,
    PasswordCredential,
    RegionConfig,
)
from .resolved import ResolvedApp


@dataclass(frozen=True)
class PartnerManagedAppArgs:
    """Everything the component needs; validated config only, no ``pulumi.Config``."""

    key: str
    definition: AppDefinition
    region: RegionConfig
    permissions: tuple[ResolvedPermission, ...]
    admin_agents_group_id: pulumi.Input[str]
    # The app's URIs, credential end and authority in this region (resolved at the config edge).
    resolved: ResolvedApp
    # Client ids of the apps of the same stack listed as known clients (multi-tier consent).
    known_client_ids: Sequence[pulumi.Input[str]] = field(default_factory=tuple)
    # The checked public certificate of a certificate credential (config edge).
    certificate: LoadedCertificate | None = None
    # The catalog's ids checked against the ids the tenant publishes (components/published.py):
    # each API access waits for it, so a disagreement fails before any permission is granted.
    published_ids_checked: pulumi.Output[str] | None = None


def _rfc3339(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC to the second, as the certificate states it (never "now")."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PartnerManagedApp(pulumi.ComponentResource):
    """A multi-tenant app registration made partner-managed through AdminAgents."""

    client_id: pulumi.Output[str]
    application_id: pulumi.Output[str]
    object_id: pulumi.Output[str]
    service_principal_object_id: pulumi.Output[str]
    identifier_uris: pulumi.Output[list[str]]
    password: azuread.ApplicationPassword | None
    credential_end_date: date

    def __init__(
        self,
        name: str,
        args: PartnerManagedAppArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(APP_COMPONENT, name, None, opts)
        self._name = name
        self._args = args
        protect = args.region.protect
        child = pulumi.ResourceOptions(parent=self)
        protected = pulumi.ResourceOptions(parent=self, protect=protect)

        self.application = self._application(name, args, protected)
        self.client_id = self.application.client_id
        self.application_id = self.application.id
        self.object_id = self.application.object_id

        if args.resolved.client_id_identifier_uri:
            # api://<client id> needs the app's own client id: a second resource, not a cycle.
            uri = azuread.ApplicationIdentifierUri(
                f"{name}-identifier-uri",
                application_id=self.application.id,
                identifier_uri=self.application.client_id.apply(lambda cid: f"api://{cid}"),
                opts=child,
            )
            self.identifier_uris = pulumi.Output.all(uri.identifier_uri).apply(list)
        else:
            self.identifier_uris = pulumi.Output.from_input(list(args.resolved.identifier_uris))

        self.credential_end_date = args.resolved.credential_end_date
        self.password = None
        credential_resource = self._credential(name, args, child)

        # Writes to the application's requiredResourceAccess list are serialised through this
        # tail (see _chained): the first waits for the credential, whose create polls Graph until
        # five reads in a row show the new key, so the application has replicated before its
        # list is read, edited and written back.
        self._access_tail: pulumi.Resource = credential_resource
        self._api_access(name, args)

        self.service_principal = azuread.ServicePrincipal(
            f"{name}-sp",
            client_id=self.application.client_id,
            owners=list(args.region.owners),
            app_role_assignment_required=False,
            opts=protected,
        )
        self.service_principal_object_id = self.service_principal.object_id

        # Membership in AdminAgents is what makes the app partner-managed (pre-consented). It
        # comes last: only a fully configured app (credential, API access) is pre-consented, and
        # the service principal's create has already retried until Graph could read it back.
        azuread.GroupMember(
            f"{name}-admin-agents",
            group_object_id=args.admin_agents_group_id,
            member_object_id=self.service_principal.object_id,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._access_tail]),
        )

        self.authority = authority = args.resolved.authority
        self.admin_consent_url = self.application.client_id.apply(
            lambda cid: f"{authority}/adminconsent?client_id={cid}"
        )
        self.register_outputs(
            {
                "clientId": self.client_id,
                "applicationObjectId": self.object_id,
                "servicePrincipalObjectId": self.service_principal_object_id,
                "identifierUris": self.identifier_uris,
                "authority": self.authority,
                "adminConsentUrl": self.admin_consent_url,
            }
        )

    def _credential(
        self, name: str, args: PartnerManagedAppArgs, opts: pulumi.ResourceOptions
    ) -> pulumi.Resource:
        """The app's client secret or certificate.

        No start date is sent: Graph starts a password "now" and a certificate when the
        certificate does, and a start date already in the past risks KeyCredentialsInvalidStartDate
        (terraform-provider-azuread#1582). ``start_date`` is Optional+Computed in the provider, so
        the value Graph fills in causes no diff on the next preview.
        """
        credential = args.definition.credential
        if isinstance(credential, PasswordCredential):
            self.password = azuread.ApplicationPassword(
                f"{name}-secret",
                application_id=self.application.id,
                display_name=f"{name} (rotated {credential.rotation_date.isoformat()})",
                end_date=_rfc3339(self.credential_end_date),
                # Every argument forces replacement; naming the rotation date here makes the
                # intent explicit: a new date is a new secret, nothing else is.
                rotate_when_changed={"rotationDate": credential.rotation_date.isoformat()},
                opts=opts,
            )
            return self.password
        if not isinstance(credential, CertificateCredential) or args.certificate is None:
            raise ValueError(f"app {args.key!r}: a certificate credential needs its certificate")
        return azuread.ApplicationCertificate(
            f"{name}-certificate",
            application_id=self.application.id,
            type="AsymmetricX509Cert",
            encoding="pem",
            value=args.certificate.pem,
            end_date=_timestamp(args.certificate.end),
            opts=opts,
        )

    def _chained(self) -> pulumi.ResourceOptions:
        """Options for the next write to the application's requiredResourceAccess.

        ``ApplicationApiAccess`` reads the whole list, adds its API and writes the list back. The
        provider locks per application only inside one process, and Graph may serve a read that
        misses the previous write: so each access waits for the previous one, whose create ended
        with a read that saw its own entry.
        """
        return pulumi.ResourceOptions(parent=self, depends_on=[self._access_tail])

    def _application(
        self, name: str, args: PartnerManagedAppArgs, opts: pulumi.ResourceOptions
    ) -> azuread.Application:
        definition = args.definition
        region = args.region
        scopes = [
            azuread.ApplicationApiOauth2PermissionScopeArgs(
                id=ids.scope_id(args.key, scope.value),
                value=scope.value,
                type=scope.type,
                admin_consent_display_name=scope.admin_consent_display_name,
                admin_consent_description=scope.admin_consent_description,
                user_consent_display_name=scope.user_consent_display_name,
                user_consent_description=scope.user_consent_description,
                enabled=scope.enabled,
            )
            for scope in definition.effective_scopes()
        ]
        implicit = definition.implicit_grant
        ignored = ["requiredResourceAccesses"]
        if args.resolved.client_id_identifier_uri:
            ignored.append("identifierUris")
        return azuread.Application(
            f"{name}-app",
            display_name=definition.display_name,
            description=definition.description,
            notes=definition.notes,
            sign_in_audience="AzureADMultipleOrgs",
            owners=list(region.owners),
            prevent_duplicate_names=True,
            identifier_uris=list(args.resolved.identifier_uris),
            api=azuread.ApplicationApiArgs(
                requested_access_token_version=2,
                known_client_applications=list(args.known_client_ids),
                oauth2_permission_scopes=scopes,
            ),
            web=azuread.ApplicationWebArgs(
                homepage_url=args.resolved.homepage_url,
                redirect_uris=list(args.resolved.redirect_uris),
                implicit_grant=azuread.ApplicationWebImplicitGrantArgs(
                    access_token_issuance_enabled=implicit.access_tokens,
                    id_token_issuance_enabled=implicit.id_tokens,
                ),
            ),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=ignored)),
        )

    def _api_access(self, name: str, args: PartnerManagedAppArgs) -> None:
        by_api: dict[str, list[ResolvedPermission]] = {}
        for item in args.permissions:
            by_api.setdefault(item.permission.api.app_id, []).append(item)
        for api_app_id in sorted(by_api):
            items = by_api[api_app_id]
            api = items[0].permission.api
            slug = permissions.api_slug(api)
            roles = sorted(i.permission.id for i in items if i.permission.kind == "application")
            scopes = sorted(i.permission.id for i in items if i.permission.kind == "delegated")
            self._access_tail = azuread.ApplicationApiAccess(
                f"{name}-access-{slug}",
                application_id=self._after_check(args),
                api_client_id=api_app_id,
                role_ids=roles or None,
                scope_ids=scopes or None,
                opts=self._chained(),
            )

    def _after_check(self, args: PartnerManagedAppArgs) -> pulumi.Output[str]:
        """The application's id, known only once the catalog's ids are checked (if they are)."""
        checked = args.published_ids_checked
        if checked is None:
            return self.application.id
        return pulumi.Output.all(self.application.id, checked).apply(lambda values: values[0])

    def require_scopes(self, api: PartnerManagedApp, scope_values: Sequence[str]) -> None:
        """Require delegated scopes of another app of the same stack (multi-tier).

        Called by the program after both apps exist: the scope ids are derived (see ``ids``), the
        API's client id is an output, and this resource depends on both apps without either app
        depending on the other.
        """
        self._access_tail = azuread.ApplicationApiAccess(
            f"{self._name}-access-{api._args.key}",
            application_id=self.application.id,
            api_client_id=api.client_id,
            scope_ids=sorted(ids.scope_id(api._args.key, value) for value in scope_values),
            opts=self._chained(),
        )
