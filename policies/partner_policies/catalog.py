"""Catalog of the Entra ID API permissions that partner-managed app definitions may name.

App definitions name a permission by API, value and kind (``Microsoft Graph`` /
``Directory.Read.All`` / ``application``); the program resolves those names to the ids that
go into ``requiredResourceAccess``. This module is pure data plus lookups, standard library
only, and it is the one model of the catalog: the program's config edge, the reports and the
policy pack all use it. It lives in the pack because a published pack runs alone
(``pulumi policy publish`` uploads only ``policies/``); the program imports it from here.

What the catalog knows:

* Microsoft Graph: every permission of the families Microsoft supports for CSP
  partner-managed apps (directory resources and Intune), plus a few common permissions
  outside that limit (mail, files, sites, calendars, chat) so that naming one gives "outside
  the CSP limit" rather than "unknown".
* Microsoft Partner Center and Azure Service Management: ``user_impersonation``, the
  delegated scopes of the Secure Application Model.
* Windows Azure Active Directory (Azure AD Graph): retired on 2025-08-31. Its classic
  permissions are listed so that naming one is refused with that explanation.

Ids were checked against Microsoft's published permission ids (see the reference test in
``tests/test_permissions.py``). A permission Microsoft adds later is "unknown" until it is
added here.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Final, Literal, get_args

Kind = Literal["delegated", "application"]
Risk = Literal["high", "medium", "low"]

KINDS: Final[tuple[Kind, ...]] = get_args(Kind)

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class Api:
    """An API (resource application) that exposes permissions."""

    name: str
    app_id: str
    retired: bool = False
    retired_note: str = ""


@dataclass(frozen=True)
class Permission:
    """One permission of one API, in one kind (delegated scope or application role)."""

    api: Api
    value: str
    kind: Kind
    id: str
    family: str
    csp_allowed: bool
    admin_consent: bool
    high_privilege: bool
    description: str
    # False where the permission only ever works in the partner's own tenant (Partner Center,
    # the partner's GDAP relationships): never granted in a customer tenant by
    # `partner-apps customers`.
    customer_tenant: bool = True

    @property
    def api_app_id(self) -> str:
        return self.api.app_id

    @property
    def qualified(self) -> str:
        """``<API name>/<value>``: how allow-lists and messages name a permission."""
        return f"{self.api.name}/{self.value}"

    @property
    def risk(self) -> Risk:
        """What the permission gives over **every customer of the region**, not its consent type.

        A partner-managed app is consented in each customer tenant of the region, so:

        * ``high``: a tenant-takeover-class permission (``high_privilege``); any application
          permission (app-only, no user in the loop: every consenting customer's data, around the
          clock, for whoever holds the credential); or delegated access to Partner Center or
          Azure Service Management (acts as the partner user on every customer's Partner Center
          record or Azure subscriptions the user's GDAP roles reach);
        * ``medium``: other delegated permissions an admin must consent (the signed-in agent's
          access in each customer, bounded by their GDAP roles);
        * ``low``: delegated sign-in and profile permissions a user may consent to.

        docs/reviewing.md ("Risk") says the same for reviewers; every report shows this value.
        """
        return risk_of(self)[0]

    @property
    def risk_reason(self) -> str:
        return risk_of(self)[1]

    @property
    def resource_access_type(self) -> Literal["Role", "Scope"]:
        """The ``type`` of this permission in ``requiredResourceAccess``."""
        return "Role" if self.kind == "application" else "Scope"


def risk_of(permission: Permission) -> tuple[Risk, str]:
    """The risk of a permission over all customers of the region, and why (one sentence)."""
    if permission.high_privilege:
        return "high", "can take over each customer's tenant (high privilege)"
    if permission.kind == "application":
        return "high", "app-only access to every consenting customer, with no user signed in"
    if permission.api.app_id in _CUSTOMER_WIDE_APIS:
        return "high", (
            "acts as the partner user on every customer the user's GDAP roles reach "
            f"({permission.api.name})"
        )
    if permission.admin_consent:
        return "medium", "the signed-in agent's access in each customer, needs admin consent"
    return "low", "sign-in and profile of the signed-in user"


class CatalogError(ValueError):
    """A permission reference that the catalog cannot resolve."""


GRAPH: Final = Api(name="Microsoft Graph", app_id="00000003-0000-0000-c000-000000000000")
PARTNER_CENTER: Final = Api(
    name="Microsoft Partner Center", app_id="fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"
)
AZURE_SERVICE_MANAGEMENT: Final = Api(
    name="Azure Service Management", app_id="797f4846-ba00-4fd7-ba43-dac1f8f63013"
)
AAD_GRAPH: Final = Api(
    name="Windows Azure Active Directory",
    app_id="00000002-0000-0000-c000-000000000000",
    retired=True,
    retired_note=(
        "Azure AD Graph (Windows Azure Active Directory, appId "
        "00000002-0000-0000-c000-000000000000) was retired on 2025-08-31, so its permissions "
        "no longer grant anything; use the equivalent Microsoft Graph permission instead."
    ),
)

# Delegated access to these acts on customers through the partner (Partner Center's customer
# records and consents, customers' Azure subscriptions through GDAP): one grant, every customer.
_CUSTOMER_WIDE_APIS: Final = frozenset({PARTNER_CENTER.app_id, AZURE_SERVICE_MANAGEMENT.app_id})

APIS: Final[tuple[Api, ...]] = tuple(
    sorted((GRAPH, PARTNER_CENTER, AZURE_SERVICE_MANAGEMENT, AAD_GRAPH), key=lambda a: a.name)
)


def api_slug(api: Api) -> str:
    """The API's name as it appears in resource names (``microsoft-graph``)."""
    return api.name.lower().replace(" ", "-")


# Other names an app definition may reasonably use for an API (compared case-insensitively).
_API_ALIASES: Final[dict[str, Api]] = {
    "graph": GRAPH,
    "partner center": PARTNER_CENTER,
    "partner center api": PARTNER_CENTER,
    "windows azure service management api": AZURE_SERVICE_MANAGEMENT,
    "azure ad graph": AAD_GRAPH,
    "azure active directory graph": AAD_GRAPH,
    "aad graph": AAD_GRAPH,
}

# Microsoft supports Graph calls from CSP partner-managed apps only for directory resources
# and Intune. A Graph permission is CSP-allowed exactly when its family is one of these;
# "openid-connect" (openid, profile, email, offline_access) is sign-in itself.
CSP_GRAPH_FAMILIES: Final[frozenset[str]] = frozenset(
    {
        "user",
        "group",
        "group-member",
        "device",
        "organization",
        "directory",
        "domain",
        "application",
        "role-management",
        "device-management",
        "openid-connect",
        "tenant-relationships",
    }
)

# Graph families whose data is the partner tenant's own, not a customer's: the CSP limit (what a
# partner-managed app may do in customer tenants) does not narrow them, and they are never
# granted in a customer tenant.
PARTNER_TENANT_FAMILIES: Final[frozenset[str]] = frozenset({"tenant-relationships"})

# ---------------------------------------------------------------------------------------------
# The table. One row per (value, kind): (value, kind, id, risk).
#
# The risk column carries both flags:
#   "low"    -> a user can consent (delegated only),
#   "medium" -> admin consent needed (always so for application permissions),
#   "high"   -> admin consent needed AND high_privilege.
#
# high_privilege marks tenant-takeover-class permissions: those that let the holder, directly or
# in one more step, become Global Administrator, plant credentials on privileged identities,
# redirect authentication for the tenant, or run code on managed devices. Concretely:
#   * writing the whole directory or anything in it (Directory.ReadWrite.All,
#     Directory.AccessAsUser.All, Organization.ReadWrite.All, Domain.ReadWrite.All, whose
#     federated domains can mint tokens for any user);
#   * granting roles or permissions (RoleManagement.ReadWrite.Directory,
#     RoleManagementPolicy.ReadWrite.Directory which can drop PIM MFA/approval,
#     AppRoleAssignment.ReadWrite.All which can grant itself anything, Application.ReadWrite.All
#     which can add secrets to any privileged service principal);
#   * taking over or reviving accounts (User-PasswordProfile.ReadWrite.All resets passwords,
#     User.EnableDisableAccount.All and User.DeleteRestore.All revive dormant admins or lock
#     real ones out);
#   * as application permissions, without a signed-in user's own limits: User.ReadWrite.All,
#     Group.ReadWrite.All and GroupMember.ReadWrite.All (join role-assignable or privileged
#     groups, change users);
#   * Intune: DeviceManagementRBAC.ReadWrite.All (grant Intune roles),
#     DeviceManagementManagedDevices.PrivilegedOperations.All (wipe, reset passcodes),
#     DeviceManagementConfiguration.ReadWrite.All and DeviceManagementApps.ReadWrite.All
#     (deploy scripts or apps that run as SYSTEM on every managed device, admin
#     workstations included).
# The delegated forms are marked high too where the signed-in partner agent's own rights
# (typically broad GDAP roles in the customer tenant) are the only limit.
# ---------------------------------------------------------------------------------------------

_Row = tuple[str, Kind, str, Risk]
_D: Final = "delegated"
_A: Final = "application"

_GRAPH_ROWS: Final[dict[str, tuple[_Row, ...]]] = {
    "user": (
        ("User.Read", _D, "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "low"),
        ("User.ReadWrite", _D, "b4e74841-8e56-480b-be8b-910348b18b4c", "low"),
        ("User.ReadBasic.All", _D, "b340eb25-3456-403f-be2f-af7a0d370277", "low"),
        ("User.ReadBasic.All", _A, "97235f07-e226-4f63-ace3-39588e11d3a1", "medium"),
        ("User.Read.All", _D, "a154be20-db9c-4678-8ab7-66f6cc099a59", "medium"),
        ("User.Read.All", _A, "df021288-bdef-4463-88db-98f22de89214", "medium"),
        ("User.ReadWrite.All", _D, "204e0828-b5ca-4ad8-b9f3-f32a958e7cc4", "medium"),
        ("User.ReadWrite.All", _A, "741f803b-c850-494e-b5df-cde7c675a1ca", "high"),
        ("User.Invite.All", _D, "63dd7cd9-b489-4adf-a28c-ac38b9a0f962", "medium"),
        ("User.Invite.All", _A, "09850681-111b-4a89-9bed-3f2cae46d706", "medium"),
        ("User.ManageIdentities.All", _D, "637d7bec-b31e-4deb-acc9-24275642a2c9", "medium"),
        ("User.ManageIdentities.All", _A, "c529cfca-c91b-489c-af2b-d92990b66ce6", "medium"),
        ("User.RevokeSessions.All", _D, "fc30e98b-8810-4501-81f5-c20a3196387b", "medium"),
        ("User.RevokeSessions.All", _A, "77f3a031-c388-4f99-b373-dc68676a979e", "medium"),
        ("User.EnableDisableAccount.All", _D, "f92e74e7-2563-467f-9dd0-902688cb5863", "high"),
        ("User.EnableDisableAccount.All", _A, "3011c876-62b7-4ada-afa2-506cbbecc68c", "high"),
        ("User.DeleteRestore.All", _D, "4bb440cd-2cf2-4f90-8004-aa2acd2537c5", "high"),
        ("User.DeleteRestore.All", _A, "eccc023d-eccf-4e7b-9683-8813ab36cecc", "high"),
        ("User-PasswordProfile.ReadWrite.All", _D, "56760768-b641-451f-8906-e1b8ab31bca7", "high"),
        ("User-PasswordProfile.ReadWrite.All", _A, "cc117bb9-00cf-4eb8-b580-ea2a878fe8f7", "high"),
        ("User-Phone.ReadWrite.All", _A, "86ceff06-c822-49ff-989a-d912845ffe69", "medium"),
        ("User-LifeCycleInfo.Read.All", _D, "ed8d2a04-0374-41f1-aefe-da8ac87ccc87", "medium"),
        ("User-LifeCycleInfo.Read.All", _A, "8556a004-db57-4d7a-8b82-97a13428e96f", "medium"),
        ("User-LifeCycleInfo.ReadWrite.All", _D, "7ee7473e-bd4b-4c9f-987c-bd58481f5fa2", "medium"),
        ("User-LifeCycleInfo.ReadWrite.All", _A, "925f1248-0f97-47b9-8ec8-538c54e01325", "medium"),
    ),
    "group": (
        ("Group.Read.All", _D, "5f8c59db-677d-491f-a6b8-5f174b11ec1d", "medium"),
        ("Group.Read.All", _A, "5b567255-7703-4780-807c-7be8301ae99b", "medium"),
        ("Group.ReadWrite.All", _D, "4e46008b-f24c-477d-8fff-7bb4ec7aafe0", "medium"),
        ("Group.ReadWrite.All", _A, "62a82d76-70ea-41e2-9197-370581804d09", "high"),
        ("Group.Create", _A, "bf7b1a76-6e77-406b-b258-bf5c7720e98f", "medium"),
    ),
    "group-member": (
        ("GroupMember.Read.All", _D, "bc024368-1153-4739-b217-4326f2e966d0", "medium"),
        ("GroupMember.Read.All", _A, "98830695-27a2-44f7-8c18-0c3ebc9698f6", "medium"),
        ("GroupMember.ReadWrite.All", _D, "f81125ac-d3b7-4573-a3b2-7099cc39df9e", "medium"),
        ("GroupMember.ReadWrite.All", _A, "dbaae8cf-10b5-4b86-a4a1-f871c94c6695", "high"),
    ),
    "device": (
        ("Device.Read", _D, "11d4cd79-5ba5-460f-803f-e22c8ab85ccd", "low"),
        ("Device.Read.All", _D, "951183d1-1a61-466f-a6d1-1fde911bfd95", "medium"),
        ("Device.Read.All", _A, "7438b122-aefc-4978-80ed-43db9fcc7715", "medium"),
        ("Device.ReadWrite.All", _A, "1138cb37-bd11-4084-a2b7-9f71582aeddb", "medium"),
    ),
    "organization": (
        ("Organization.Read.All", _D, "4908d5b9-3fb2-4b1e-9336-1888b7937185", "medium"),
        ("Organization.Read.All", _A, "498476ce-e0fe-48b0-b801-37ba7e2685c6", "medium"),
        ("Organization.ReadWrite.All", _D, "46ca0847-7e6b-426e-9775-ea810a948356", "high"),
        ("Organization.ReadWrite.All", _A, "292d869f-3427-49a8-9dab-8c70152b74e9", "high"),
    ),
    "directory": (
        ("Directory.Read.All", _D, "06da0dbc-49e2-44d2-8312-53f166ab848a", "medium"),
        ("Directory.Read.All", _A, "7ab1d382-f21e-4acd-a863-ba3e13f7da61", "medium"),
        ("Directory.ReadWrite.All", _D, "c5366453-9fb0-48a5-a156-24f0c49a4b84", "high"),
        ("Directory.ReadWrite.All", _A, "19dbc75e-c2e2-444c-a770-ec69d8559fc7", "high"),
        ("Directory.AccessAsUser.All", _D, "0e263e50-5827-48a4-b97c-d940288653c7", "high"),
        ("Directory.Write.Restricted", _D, "cba5390f-ed6a-4b7f-b657-0efc2210ed20", "medium"),
        ("Directory.Write.Restricted", _A, "f20584af-9290-4153-9280-ff8bb2c0ea7f", "medium"),
    ),
    "domain": (
        ("Domain.Read.All", _D, "2f9ee017-59c1-4f1d-9472-bd5529a7b311", "medium"),
        ("Domain.Read.All", _A, "dbb9058a-0e50-45d7-ae91-66909b5d4664", "medium"),
        ("Domain.ReadWrite.All", _D, "0b5d694c-a244-4bde-86e6-eb5cd07730fe", "high"),
        ("Domain.ReadWrite.All", _A, "7e05723c-0bb0-42da-be95-ae9f08a6e53c", "high"),
    ),
    "application": (
        ("Application.Read.All", _D, "c79f8feb-a9db-4090-85f9-90d820caa0eb", "medium"),
        ("Application.Read.All", _A, "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "medium"),
        ("Application.ReadWrite.All", _D, "bdfbf15f-ee85-4955-8675-146e8e5296b5", "high"),
        ("Application.ReadWrite.All", _A, "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "high"),
        ("Application.ReadWrite.OwnedBy", _A, "18a4783c-866b-4cc7-a460-3d5e5662c884", "medium"),
        ("AppRoleAssignment.ReadWrite.All", _D, "84bccea3-f856-4a8a-967b-dbe0a3d53a64", "high"),
        ("AppRoleAssignment.ReadWrite.All", _A, "06b708a9-e830-4db3-a914-8e69da51d44f", "high"),
        # Grants any delegated permission of any API to any app, itself included.
        (
            "DelegatedPermissionGrant.ReadWrite.All",
            _D,
            "41ce6ca6-6826-4807-84f1-1c82854f7ee5",
            "high",
        ),
        (
            "DelegatedPermissionGrant.ReadWrite.All",
            _A,
            "8e8e4742-1d95-4f68-9d56-6ee75648c72a",
            "high",
        ),
    ),
    # The partner tenant's own GDAP relationships with its customers (partner-tenant data:
    # reading them lists the region's customers, it reaches no customer's directory).
    "tenant-relationships": (
        (
            "DelegatedAdminRelationship.Read.All",
            _D,
            "0c0064ea-477b-4130-82a5-4c2cc4ff68aa",
            "medium",
        ),
        (
            "DelegatedAdminRelationship.Read.All",
            _A,
            "f6e9e124-4586-492f-adc0-c6f96e4823fd",
            "medium",
        ),
        # Creates, locks for approval and terminates relationships and sets their access
        # assignments: it gives the partner's security groups Entra roles in customer tenants
        # (on an active relationship, with no further customer approval), hence high.
        (
            "DelegatedAdminRelationship.ReadWrite.All",
            _D,
            "885f682f-a990-4bad-a642-36736a74b0c7",
            "high",
        ),
        (
            "DelegatedAdminRelationship.ReadWrite.All",
            _A,
            "cc13eba4-8cd8-44c6-b4d4-f93237adce58",
            "high",
        ),
    ),
    "role-management": (
        ("RoleManagement.Read.Directory", _D, "741c54c3-0c1e-44a1-818b-3f97ab4e8c83", "medium"),
        ("RoleManagement.Read.Directory", _A, "483bed4a-2ad3-4361-a73b-c83ccdbdc53c", "medium"),
        ("RoleManagement.ReadWrite.Directory", _D, "d01b97e9-cbc0-49fe-810a-750afd5527a3", "high"),
        ("RoleManagement.ReadWrite.Directory", _A, "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8", "high"),
        (
            "RoleManagementPolicy.Read.Directory",
            _D,
            "3de2cdbe-0ff5-47d5-bdee-7f45b4749ead",
            "medium",
        ),
        (
            "RoleManagementPolicy.Read.Directory",
            _A,
            "fdc4c997-9942-4479-bfcb-75a36d1138df",
            "medium",
        ),
        (
            "RoleManagementPolicy.ReadWrite.Directory",
            _D,
            "1ff1be21-34eb-448c-9ac9-ce1f506b2a68",
            "high",
        ),
        (
            "RoleManagementPolicy.ReadWrite.Directory",
            _A,
            "31e08e0a-d3f7-4ca2-ac39-7343fb83e8ad",
            "high",
        ),
        (
            "RoleManagementAlert.Read.Directory",
            _D,
            "cce71173-f76d-446e-97ff-efb2d82e11b1",
            "medium",
        ),
        (
            "RoleManagementAlert.Read.Directory",
            _A,
            "ef31918f-2d50-4755-8943-b8638c0a077e",
            "medium",
        ),
        (
            "RoleManagementAlert.ReadWrite.Directory",
            _D,
            "435644c6-a5b1-40bf-8f52-fe8e5b53e19c",
            "medium",
        ),
        (
            "RoleManagementAlert.ReadWrite.Directory",
            _A,
            "11059518-d6a6-4851-98ed-509268489c4a",
            "medium",
        ),
    ),
    # RoleManagement.Read.All reads every RBAC provider (Exchange, entitlement management,
    # Cloud PC...), not just the directory: outside the CSP limit. Use
    # RoleManagement.Read.Directory instead.
    "role-management-all": (
        ("RoleManagement.Read.All", _D, "48fec646-b2ba-4019-8681-8eb31435aded", "medium"),
        ("RoleManagement.Read.All", _A, "c7fbd983-d9aa-4fa7-84b8-17382c103bc4", "medium"),
    ),
    # User.Export.All exports a user's content from other Microsoft 365 services (mail, files,
    # chats), and Device.Command sends commands to apps on the user's devices (Project Rome):
    # neither is a directory or Intune resource, so both are outside the CSP limit.
    "user-export": (
        # Microsoft publishes the same id for both kinds of User.Export.All.
        ("User.Export.All", _D, "405a51b5-8d8d-430b-9842-8be4b0e9f324", "medium"),
        ("User.Export.All", _A, "405a51b5-8d8d-430b-9842-8be4b0e9f324", "medium"),
    ),
    "device-command": (("Device.Command", _D, "bac3b9c2-b516-4ef4-bd3b-c2ef73d8d804", "low"),),
    "device-management": (
        ("DeviceManagementApps.Read.All", _D, "4edf5f54-4666-44af-9de9-0144fb4b6e8c", "medium"),
        ("DeviceManagementApps.Read.All", _A, "7a6ee1e7-141e-4cec-ae74-d9db155731ff", "medium"),
        ("DeviceManagementApps.ReadWrite.All", _D, "7b3f05d5-f68c-4b8d-8c59-a2ecd12f24af", "high"),
        ("DeviceManagementApps.ReadWrite.All", _A, "78145de6-330d-4800-a6ce-494ff2d33d07", "high"),
        (
            "DeviceManagementConfiguration.Read.All",
            _D,
            "f1493658-876a-4c87-8fa7-edb559b3476a",
            "medium",
        ),
        (
            "DeviceManagementConfiguration.Read.All",
            _A,
            "dc377aa6-52d8-4e23-b271-2a7ae04cedf3",
            "medium",
        ),
        (
            "DeviceManagementConfiguration.ReadWrite.All",
            _D,
            "0883f392-0a7a-443d-8c76-16a6d39c7b63",
            "high",
        ),
        (
            "DeviceManagementConfiguration.ReadWrite.All",
            _A,
            "9241abd9-d0e6-425a-bd4f-47ba86e767a4",
            "high",
        ),
        (
            "DeviceManagementManagedDevices.PrivilegedOperations.All",
            _D,
            "3404d2bf-2b13-457e-a330-c24615765193",
            "high",
        ),
        (
            "DeviceManagementManagedDevices.PrivilegedOperations.All",
            _A,
            "5b07b0dd-2377-4e44-a38d-703f09a0dc3c",
            "high",
        ),
        (
            "DeviceManagementManagedDevices.Read.All",
            _D,
            "314874da-47d6-4978-88dc-cf0d37f0bb82",
            "medium",
        ),
        (
            "DeviceManagementManagedDevices.Read.All",
            _A,
            "2f51be20-0bb4-4fed-bf7b-db946066c75e",
            "medium",
        ),
        (
            "DeviceManagementManagedDevices.ReadWrite.All",
            _D,
            "44642bfe-8385-4adc-8fc6-fe3cb2c375c3",
            "medium",
        ),
        (
            "DeviceManagementManagedDevices.ReadWrite.All",
            _A,
            "243333ab-4d21-40cb-a475-36241daa0842",
            "medium",
        ),
        ("DeviceManagementRBAC.Read.All", _D, "49f0cc30-024c-4dfd-ab3e-82e137ee5431", "medium"),
        ("DeviceManagementRBAC.Read.All", _A, "58ca0d9a-1575-47e1-a3cb-007ef2e4583b", "medium"),
        ("DeviceManagementRBAC.ReadWrite.All", _D, "0c5e8a55-87a6-4556-93ab-adc52c4d862d", "high"),
        ("DeviceManagementRBAC.ReadWrite.All", _A, "e330c4f0-4170-414e-a55a-2f022ec2b57b", "high"),
        (
            "DeviceManagementServiceConfig.Read.All",
            _D,
            "8696daa5-bce5-4b2e-83f9-51b6defc4e1e",
            "medium",
        ),
        (
            "DeviceManagementServiceConfig.Read.All",
            _A,
            "06a5fe6d-c49d-46a7-b082-56b1b14103c7",
            "medium",
        ),
        (
            "DeviceManagementServiceConfig.ReadWrite.All",
            _D,
            "662ed50a-ac44-4eef-ad86-62eed9be2a29",
            "medium",
        ),
        (
            "DeviceManagementServiceConfig.ReadWrite.All",
            _A,
            "5ac13192-7ace-4fcf-b828-1a26f28068ee",
            "medium",
        ),
    ),
    "openid-connect": (
        ("openid", _D, "37f7f235-527c-4136-accd-4a02d197296e", "low"),
        ("profile", _D, "14dad69e-099b-42c9-810b-d002981feec1", "low"),
        ("email", _D, "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "low"),
        ("offline_access", _D, "7427e0e9-2fba-42fe-b0c0-848c9e6a8182", "low"),
    ),
    # Common permissions outside the CSP limit: known so that config naming them is refused
    # with the right reason instead of "unknown".
    "mail": (
        ("Mail.Read", _D, "570282fd-fa5c-430d-a7fd-fc8dc98a9dca", "low"),
        ("Mail.Read", _A, "810c84a8-4a9e-49e6-bf7d-12d183f40d01", "medium"),
        ("Mail.ReadBasic", _D, "a4b8392a-d8d1-4954-a029-8e668a39a170", "low"),
        ("Mail.ReadBasic", _A, "6be147d2-ea4f-4b5a-a3fa-3eab6f3c140a", "medium"),
        ("Mail.ReadWrite", _D, "024d486e-b451-40bb-833d-3e66d98c5c73", "low"),
        ("Mail.ReadWrite", _A, "e2a3a72e-5f79-4c64-b1b1-878b674786c9", "medium"),
        ("Mail.Send", _D, "e383f46e-2787-4529-855e-0e479a3ffac0", "low"),
        ("Mail.Send", _A, "b633e1c5-b582-4048-a93e-9f11b44c7e96", "medium"),
    ),
    "files": (
        ("Files.Read", _D, "10465720-29dd-4523-a11a-6a75c743c9d9", "low"),
        ("Files.ReadWrite", _D, "5c28f0bf-8a70-41f1-8ab2-9032436ddb65", "low"),
        ("Files.Read.All", _D, "df85f4d6-205c-4ac5-a5ea-6bf408dba283", "low"),
        ("Files.Read.All", _A, "01d4889c-1287-42c6-ac1f-5d1e02578ef6", "medium"),
        ("Files.ReadWrite.All", _D, "863451e7-0667-486c-a5d6-d135439485f0", "low"),
        ("Files.ReadWrite.All", _A, "75359482-378d-4052-8f01-80520e7db3cd", "medium"),
    ),
    "sites": (
        ("Sites.Read.All", _D, "205e70e5-aba6-4c52-a976-6d2d46c48043", "low"),
        ("Sites.Read.All", _A, "332a536c-c7ef-4017-ab91-336970924f0d", "medium"),
        ("Sites.ReadWrite.All", _D, "89fe6a52-be36-487e-b7d8-d061c450a026", "low"),
        ("Sites.ReadWrite.All", _A, "9492366f-7969-46a4-8d15-ed1a20078fff", "medium"),
        ("Sites.FullControl.All", _D, "5a54b8b3-347c-476d-8f8e-42d5c7424d29", "medium"),
        ("Sites.FullControl.All", _A, "a82116e5-55eb-4c41-a434-62fe8a61c773", "medium"),
        ("Sites.Selected", _A, "883ea226-0bf2-4a8f-9f9d-92c9162a727d", "medium"),
    ),
    "calendars": (
        ("Calendars.Read", _D, "465a38f9-76ea-45b9-9f34-9e8b0d4b0b42", "low"),
        ("Calendars.Read", _A, "798ee544-9d2d-430c-a058-570e29e34338", "medium"),
        ("Calendars.ReadWrite", _D, "1ec239c2-d7c9-4623-a91a-a9775856bb36", "low"),
    ),
    "chat": (
        ("Chat.Read", _D, "f501c180-9344-439a-bca0-6cbf209fd270", "low"),
        ("Chat.ReadWrite", _D, "9ff7295e-131b-4d94-90e1-69fde507ac11", "low"),
        ("Chat.Read.All", _A, "6b7d71aa-70aa-4810-a8d9-5d9fb2830017", "medium"),
        ("Chat.ReadWrite.All", _A, "294ce7c9-31ba-490a-ad7d-97a7d075e4ed", "medium"),
    ),
}

_OTHER_ROWS: Final[dict[Api, tuple[str, tuple[_Row, ...]]]] = {
    # The Secure Application Model's delegated scope. Whether Microsoft lets a user consent to
    # it is not documented; it is treated as admin-consent (medium) to be on the safe side.
    PARTNER_CENTER: (
        "partner-center",
        (("user_impersonation", _D, "1cebfa2a-fb4d-419e-b5f9-839b4383e05a", "medium"),),
    ),
    AZURE_SERVICE_MANAGEMENT: (
        "azure-service-management",
        (("user_impersonation", _D, "41094075-9dad-400e-a0bd-54e686782033", "low"),),
    ),
    AAD_GRAPH: (
        "aad-graph",
        (
            ("User.Read", _D, "311a71cc-e848-46a1-bdf8-97ff7156d8e6", "low"),
            ("Directory.AccessAsUser.All", _D, "a42657d6-7f20-40e3-b6f0-cee03008a62a", "high"),
            ("Directory.Read.All", _A, "5778995a-e1bf-45b8-affa-663a9f3f4d04", "medium"),
            ("Directory.ReadWrite.All", _A, "78c8a3c8-a07e-4b9e-af1b-b5ccab50a175", "high"),
        ),
    ),
}

# Short descriptions in our own words, per (API, value); the kind is a separate field.
_GRAPH_DESCRIPTIONS: Final[dict[str, str]] = {
    "User.Read": "Sign in and read the signed-in user's profile",
    "User.ReadWrite": "Read and update the signed-in user's profile",
    "User.ReadBasic.All": "Read the basic profile (name, mail, photo) of all users",
    "User.Read.All": "Read the full profile of all users",
    "User.ReadWrite.All": "Create, update and delete any user",
    "User.Invite.All": "Invite guest users into the tenant",
    "User.Export.All": "Export the data of any user",
    "User.ManageIdentities.All": "Manage the sign-in identities linked to users",
    "User.RevokeSessions.All": "Revoke the sign-in sessions of any user",
    "User.EnableDisableAccount.All": "Enable or disable any user account",
    "User.DeleteRestore.All": "Delete and restore any user",
    "User-PasswordProfile.ReadWrite.All": "Reset passwords and password profiles of users",
    "User-Phone.ReadWrite.All": "Update the mobile and business phones of users",
    "User-LifeCycleInfo.Read.All": "Read lifecycle data (hire and leave dates) of users",
    "User-LifeCycleInfo.ReadWrite.All": "Update lifecycle data (hire and leave dates) of users",
    "Group.Read.All": "Read all groups, their properties and memberships",
    "Group.ReadWrite.All": "Create, update and delete groups and their memberships",
    "Group.Create": "Create groups",
    "GroupMember.Read.All": "Read group memberships and basic group properties",
    "GroupMember.ReadWrite.All": "Add and remove members of groups",
    "Device.Read": "Read the signed-in user's list of devices",
    "Device.Command": "Send commands to apps on the signed-in user's devices",
    "Device.Read.All": "Read all device objects in the directory",
    "Device.ReadWrite.All": "Update device objects in the directory",
    "Organization.Read.All": "Read the organization (tenant) and its subscriptions",
    "Organization.ReadWrite.All": "Update the organization (tenant) settings",
    "Directory.Read.All": "Read all directory data",
    "Directory.ReadWrite.All": "Read and write all directory data",
    "Directory.AccessAsUser.All": "Act in the directory with all the signed-in user's rights",
    "Directory.Write.Restricted": "Update restricted directory objects (with other permissions)",
    "Domain.Read.All": "Read the tenant's domains",
    "Domain.ReadWrite.All": "Add, verify, federate and remove the tenant's domains",
    "Application.Read.All": "Read all app registrations and service principals",
    "Application.ReadWrite.All": "Manage all app registrations and service principals",
    "Application.ReadWrite.OwnedBy": "Create apps and manage the apps this app owns",
    "AppRoleAssignment.ReadWrite.All": "Grant app roles and application permissions",
    "DelegatedPermissionGrant.ReadWrite.All": "Grant delegated permissions to any app",
    "DelegatedAdminRelationship.Read.All": "Read the partner's GDAP relationships with customers",
    "DelegatedAdminRelationship.ReadWrite.All": (
        "Create and terminate GDAP relationships and assign the partner's groups roles in them"
    ),
    "RoleManagement.Read.Directory": "Read directory role definitions and assignments",
    "RoleManagement.ReadWrite.Directory": "Assign directory roles, Global Administrator included",
    "RoleManagementPolicy.Read.Directory": "Read PIM policies for directory roles",
    "RoleManagementPolicy.ReadWrite.Directory": "Change PIM policies for directory roles",
    "RoleManagementAlert.Read.Directory": "Read PIM alerts for directory roles",
    "RoleManagementAlert.ReadWrite.Directory": "Manage PIM alerts for directory roles",
    "RoleManagement.Read.All": "Read the RBAC settings of every provider, not only the directory",
    "DeviceManagementApps.Read.All": "Read Intune apps and app protection policies",
    "DeviceManagementApps.ReadWrite.All": "Manage and deploy Intune apps",
    "DeviceManagementConfiguration.Read.All": "Read Intune configuration and compliance policies",
    "DeviceManagementConfiguration.ReadWrite.All": "Manage Intune configuration and scripts",
    "DeviceManagementManagedDevices.PrivilegedOperations.All": "Wipe or reset Intune devices",
    "DeviceManagementManagedDevices.Read.All": "Read Intune managed devices",
    "DeviceManagementManagedDevices.ReadWrite.All": "Update and delete Intune managed devices",
    "DeviceManagementRBAC.Read.All": "Read Intune roles and assignments",
    "DeviceManagementRBAC.ReadWrite.All": "Manage Intune roles and assignments",
    "DeviceManagementServiceConfig.Read.All": "Read Intune service and enrollment settings",
    "DeviceManagementServiceConfig.ReadWrite.All": "Manage Intune service and enrollment settings",
    "openid": "Sign the user in (OpenID Connect)",
    "profile": "Read the user's basic profile claims",
    "email": "Read the user's primary email address",
    "offline_access": "Keep access through refresh tokens",
    "Mail.Read": "Read mail",
    "Mail.ReadBasic": "Read mail without bodies or attachments",
    "Mail.ReadWrite": "Read and write mail",
    "Mail.Send": "Send mail as a user",
    "Files.Read": "Read the signed-in user's files",
    "Files.ReadWrite": "Read and write the signed-in user's files",
    "Files.Read.All": "Read all files",
    "Files.ReadWrite.All": "Read and write all files",
    "Sites.Read.All": "Read items in all SharePoint sites",
    "Sites.ReadWrite.All": "Read and write items in all SharePoint sites",
    "Sites.FullControl.All": "Full control of all SharePoint sites",
    "Sites.Selected": "Access SharePoint sites granted one by one",
    "Calendars.Read": "Read calendars",
    "Calendars.ReadWrite": "Read and write calendars",
    "Chat.Read": "Read the signed-in user's Teams chats",
    "Chat.ReadWrite": "Read and send the signed-in user's Teams chats",
    "Chat.Read.All": "Read all Teams chat messages",
    "Chat.ReadWrite.All": "Read and write all Teams chat messages",
}

_OTHER_DESCRIPTIONS: Final[dict[tuple[Api, str], str]] = {
    (PARTNER_CENTER, "user_impersonation"): "Call the Partner Center API as the signed-in user",
    (AZURE_SERVICE_MANAGEMENT, "user_impersonation"): "Call Azure Resource Manager as the user",
    (AAD_GRAPH, "User.Read"): "Retired: sign in and read the user's profile",
    (AAD_GRAPH, "Directory.AccessAsUser.All"): "Retired: act in the directory as the user",
    (AAD_GRAPH, "Directory.Read.All"): "Retired: read all directory data",
    (AAD_GRAPH, "Directory.ReadWrite.All"): "Retired: read and write all directory data",
}


def _permission(api: Api, family: str, row: _Row, description: str) -> Permission:
    value, kind, perm_id, risk = row
    if not _GUID.match(perm_id):
        raise ValueError(f"{api.name} {value} ({kind}): id {perm_id!r} is not a lower-case GUID")
    if kind == "application" and risk == "low":
        raise ValueError(f"{api.name} {value}: application permissions always need admin consent")
    customer_tenant = api is not PARTNER_CENTER and family not in PARTNER_TENANT_FAMILIES
    if api.retired:
        csp_allowed = False
    elif api is GRAPH:
        csp_allowed = family in CSP_GRAPH_FAMILIES
    else:
        csp_allowed = True
    return Permission(
        api=api,
        value=value,
        kind=kind,
        id=perm_id,
        family=family,
        csp_allowed=csp_allowed,
        admin_consent=risk != "low",
        high_privilege=risk == "high",
        description=description,
        customer_tenant=customer_tenant,
    )


def _build() -> tuple[Permission, ...]:
    built: list[Permission] = []
    for family, rows in _GRAPH_ROWS.items():
        built.extend(_permission(GRAPH, family, row, _GRAPH_DESCRIPTIONS[row[0]]) for row in rows)
    for api, (family, rows) in _OTHER_ROWS.items():
        built.extend(
            _permission(api, family, row, _OTHER_DESCRIPTIONS[(api, row[0])]) for row in rows
        )
    unused = set(_GRAPH_DESCRIPTIONS) - {p.value for p in built if p.api is GRAPH}
    if unused:
        raise ValueError(f"descriptions without a permission: {sorted(unused)}")
    return tuple(sorted(built, key=lambda p: (p.api.name, p.value, p.kind)))


PERMISSIONS: Final[tuple[Permission, ...]] = _build()

_BY_NAME: Final[dict[tuple[str, str, Kind], Permission]] = {}
_BY_ID: Final[dict[tuple[str, str, Kind], Permission]] = {}
for _p in PERMISSIONS:
    for _index, _key in ((_BY_NAME, _p.value.lower()), (_BY_ID, _p.id)):
        _full_key = (_p.api.app_id, _key, _p.kind)
        if _full_key in _index:
            raise ValueError(f"duplicate catalog entry {_full_key}")
        _index[_full_key] = _p
del _p, _index, _key, _full_key


def find_api(name_or_app_id: str) -> Api | None:
    """Return the API with this display name (any case), known alias, or app id."""
    wanted = name_or_app_id.strip().lower()
    for api in APIS:
        if wanted in (api.name.lower(), api.app_id):
            return api
    return _API_ALIASES.get(wanted)


def _suggest(word: str, candidates: list[str]) -> list[str]:
    by_lower = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=3, cutoff=0.6)
    return [by_lower[c] for c in close]


def _did_you_mean(suggestions: list[str]) -> str:
    if not suggestions:
        return ""
    return " Did you mean " + " or ".join(repr(s) for s in suggestions) + "?"


def lookup(api: str, value: str, kind: Kind) -> Permission:
    """Resolve an API name (or app id), permission value and kind to a catalog entry.

    Matching of the value ignores case; the returned entry has Microsoft's spelling. Retired
    APIs and permissions outside the CSP limit resolve normally: see :func:`check_allowed`.

    Raises:
        CatalogError: for an unknown API, an unknown permission (with close matches as
            suggestions), a permission that exists only in the other kind, or a bad kind.
    """
    resolved = find_api(api)
    if resolved is None:
        names = [a.name for a in APIS]
        canonical = {n.lower(): n for n in names} | {k: a.name for k, a in _API_ALIASES.items()}
        close = _suggest(api, list(canonical))
        raise CatalogError(
            f"Unknown API {api!r} (for permission {value!r}): the catalog knows "
            + ", ".join(repr(n) for n in names)
            + ", by display name or appId."
            + _did_you_mean(sorted({canonical[c] for c in close}))
        )
    if kind not in KINDS:
        raise CatalogError(
            f"{resolved.name} permission {value!r}: kind {kind!r} must be 'delegated' or "
            "'application'."
        )
    found = _BY_NAME.get((resolved.app_id, value.lower(), kind))
    if found is not None:
        return found
    other: Kind = "application" if kind == "delegated" else "delegated"
    in_other_kind = _BY_NAME.get((resolved.app_id, value.lower(), other))
    if in_other_kind is not None:
        raise CatalogError(
            f"{resolved.name} permission {in_other_kind.value!r} exists only as "
            f"{'an application' if other == 'application' else 'a delegated'} permission, "
            f"not {kind}."
        )
    known = sorted({p.value for p in PERMISSIONS if p.api is resolved})
    scope = (
        " The catalog covers the directory and Intune permissions CSP partner-managed apps may"
        " use, and a few common ones outside that limit."
        if resolved is GRAPH
        else ""
    )
    raise CatalogError(
        f"{resolved.name} has no permission {value!r} in the catalog."
        + _did_you_mean(_suggest(value, known))
        + scope
    )


def check_allowed(permission: Permission) -> str | None:
    """Return ``None`` if a CSP partner-managed app may use the permission, else why not."""
    if permission.api.retired:
        return permission.api.retired_note
    if not permission.csp_allowed:
        return (
            f"{permission.api.name} permission {permission.value} ({permission.kind}) is outside "
            "the Graph resources Microsoft supports for CSP partner-managed apps (directory and "
            "Intune only)."
        )
    return None


def by_id(api_app_id: str, permission_id: str, kind: Kind | None = None) -> Permission | None:
    """Find a permission by API app id and permission id (any case).

    Without ``kind`` the first match in catalog order is returned; pass the kind taken from
    ``requiredResourceAccess`` (``Role`` -> application, ``Scope`` -> delegated) where an id
    could exist in both kinds (Microsoft reuses it for ``User.Export.All``).
    """
    app_id = api_app_id.strip().lower()
    perm_id = permission_id.strip().lower()
    kinds = KINDS if kind is None else (kind,)
    for wanted in sorted(kinds):
        found = _BY_ID.get((app_id, perm_id, wanted))
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class PermissionCatalog:
    """The catalog as one value, for code that is handed a catalog (the policies, the reports;
    tests hand them smaller ones)."""

    apis: tuple[Api, ...]
    permissions: tuple[Permission, ...]

    def api(self, app_id: str) -> Api | None:
        """The API with this app id (any case), or ``None``."""
        wanted = app_id.strip().lower()
        return next((api for api in self.apis if api.app_id.lower() == wanted), None)

    def find(self, api_app_id: str, permission_id: str, kind: Kind) -> Permission | None:
        """The permission with this API app id, permission id (any case) and kind."""
        api_id, perm_id = api_app_id.strip().lower(), permission_id.strip().lower()
        return next(
            (
                p
                for p in self.permissions
                if p.api.app_id.lower() == api_id and p.id.lower() == perm_id and p.kind == kind
            ),
            None,
        )


CATALOG: Final = PermissionCatalog(apis=APIS, permissions=PERMISSIONS)
MICROSOFT_GRAPH: Final = GRAPH.app_id


def load_catalog() -> PermissionCatalog:
    """The project's permission catalog."""
    return CATALOG
