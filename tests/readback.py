"""What Graph and ARM hand back after a create, and how each provider diffs the next preview.

Mocks echo the inputs back, so a preview after an `up` under them is always empty and proves
nothing. This model returns, per resource type the program registers, the state the real provider
records after its create-then-read, for the properties that can force a replacement or show a
diff, as the provider sources say:

* terraform-provider-azuread v3.9.0 (bridged by pulumi-azuread 6.11): the next diff compares the
  program's inputs with that state. ``ForceNew`` properties replace; ``TypeSet`` properties compare
  as sets; an Optional+Computed property the program leaves out never diffs (the value Graph
  filled in stays). Password and certificate reads set ``start_date``/``end_date`` to Graph's
  ``startDateTime``/``endDateTime`` strings (application_password_resource.go,
  application_certificate_resource.go): Graph starts an unset password "now" (to the 100 ns) and
  an unset certificate at the certificate's notBefore (terraform-provider-azuread#866).
* azure-native 3.29: the next diff compares the program's inputs with the inputs of the last `up`;
  after `pulumi refresh` (or `up --refresh`) with the inputs it derives from the ARM response, for
  the properties the program set (a property ARM does not return, such as a secret's value or
  ``createMode``, keeps its old input [assumed]). ARM normalises what it stores: a single IPv4
  address in ``networkAcls.ipRules`` comes back as ``a.b.c.d/32``, tenant ids in lower case.
  Properties in the resource's ARM path (names, resource group, scope) and ``location`` replace.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pulumi.runtime import mocks as pulumi_mocks

from partner_apps.preview.recorder import PlanMocks, unwrap_secrets


@dataclass(frozen=True)
class Schema:
    """What the provider's diff does with one resource type's inputs."""

    basis: Literal["state", "inputs"]  # TF bridge: state after read; azure-native: old inputs
    replace: frozenset[str] = frozenset()  # top-level properties whose change replaces
    computed: frozenset[str] = frozenset()  # left out by the program: no diff
    sets: frozenset[str] = frozenset()  # dotted paths compared as sets
    ignored_by_provider: frozenset[str] = field(default_factory=frozenset)


_CREDENTIAL = Schema(
    basis="state",
    replace=frozenset(
        {"applicationId", "displayName", "startDate", "endDate", "rotateWhenChanged", "value"}
        | {"type", "encoding", "endDateRelative", "keyId"}
    ),
    computed=frozenset({"startDate", "endDate", "displayName", "keyId"}),
)

SCHEMAS: dict[str, Schema] = {
    "azuread:index/application:Application": Schema(
        basis="state",
        replace=frozenset({"templateId"}),
        computed=frozenset(
            {"tags", "featureTags", "notes", "logoUrl", "disabledByMicrosoft", "publisherDomain"}
        ),
        sets=frozenset(
            {
                "identifierUris",
                "owners",
                "groupMembershipClaims",
                "api.knownClientApplications",
                "api.oauth2PermissionScopes",
                "web.redirectUris",
            }
        ),
    ),
    "azuread:index/applicationApiAccess:ApplicationApiAccess": Schema(
        basis="state",
        replace=frozenset({"applicationId", "apiClientId"}),
        sets=frozenset({"roleIds", "scopeIds"}),
    ),
    "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri": Schema(
        basis="state", replace=frozenset({"applicationId", "identifierUri"})
    ),
    "azuread:index/applicationPassword:ApplicationPassword": _CREDENTIAL,
    "azuread:index/applicationCertificate:ApplicationCertificate": _CREDENTIAL,
    "azuread:index/servicePrincipal:ServicePrincipal": Schema(
        basis="state",
        replace=frozenset({"clientId", "useExisting"}),
        computed=frozenset({"tags", "featureTags", "notes", "description"}),
        sets=frozenset({"owners"}),
    ),
    "azuread:index/groupMember:GroupMember": Schema(
        basis="state", replace=frozenset({"groupObjectId", "memberObjectId"})
    ),
    "azure-native:resources:ResourceGroup": Schema(
        basis="inputs", replace=frozenset({"resourceGroupName", "location"})
    ),
    "azure-native:keyvault:Vault": Schema(
        basis="inputs", replace=frozenset({"vaultName", "resourceGroupName", "location"})
    ),
    "azure-native:keyvault:Secret": Schema(
        basis="inputs", replace=frozenset({"vaultName", "resourceGroupName", "secretName"})
    ),
    "azure-native:authorization:RoleAssignment": Schema(
        basis="inputs", replace=frozenset({"scope", "roleAssignmentName"})
    ),
}


def _graph_now(moment: datetime) -> str:
    """Graph's DateTimeOffset for a value it generated: seven fractional digits."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def _arm_ip(value: str) -> str:
    return str(ipaddress.ip_network(value, strict=False))


def read_back(typ: str, state: dict[str, Any], created: datetime, not_before: str) -> None:
    """Turn the mocks' echo of the inputs into what the provider records after its create."""
    if typ == "azuread:index/applicationPassword:ApplicationPassword":
        state.setdefault("startDate", _graph_now(created))
        state.setdefault("displayName", "Password uploaded on " + created.strftime("%a %b %d %Y"))
    elif typ == "azuread:index/applicationCertificate:ApplicationCertificate":
        state.setdefault("startDate", not_before)
        state.setdefault("keyId", "generated")
    elif typ == "azuread:index/application:Application":
        # Graph keeps sets in its own order; the provider reads them back that way.
        state["identifierUris"] = list(reversed(state.get("identifierUris") or []))
        web = state.setdefault("web", {})
        web["redirectUris"] = list(reversed(web.get("redirectUris") or []))
        web.setdefault("logoutUrl", "")
        api = state.setdefault("api", {})
        api["knownClientApplications"] = list(reversed(api.get("knownClientApplications") or []))
        api.setdefault("mappedClaimsEnabled", False)
        state.setdefault("featureTags", [{"enterprise": False, "gallery": False, "hide": False}])
        state.setdefault("tags", [])
        state.setdefault("disabledByMicrosoft", "<nil>")
        state.setdefault("groupMembershipClaims", [])
        state.setdefault("fallbackPublicClientEnabled", False)
    elif typ == "azuread:index/applicationApiAccess:ApplicationApiAccess":
        for key in ("roleIds", "scopeIds"):
            if key in state:
                state[key] = list(reversed(state[key] or []))
    elif typ == "azure-native:keyvault:Vault":
        properties = state.setdefault("properties", {})
        properties.pop("createMode", None)  # a request-only flag: ARM does not return it
        properties["tenantId"] = str(properties.get("tenantId", "")).lower()
        properties.setdefault("accessPolicies", [])
        properties.setdefault("enabledForDeployment", False)
        properties.setdefault("enabledForDiskEncryption", False)
        properties.setdefault("enabledForTemplateDeployment", False)
        properties.setdefault("provisioningState", "Succeeded")
        acls = properties.setdefault("networkAcls", {})
        acls["ipRules"] = [{"value": _arm_ip(rule["value"])} for rule in acls.get("ipRules", [])]
        acls.setdefault("virtualNetworkRules", [])
    elif typ == "azure-native:keyvault:Secret":
        attributes = state.setdefault("properties", {}).setdefault("attributes", {})
        attributes.setdefault("created", int(created.timestamp()))
        attributes.setdefault("updated", int(created.timestamp()))


class ReadBackMocks(PlanMocks):
    """PlanMocks whose results are what the real providers record after a create."""

    def __init__(self, stack: str, created: datetime, certificate_not_before: str = "") -> None:
        super().__init__(stack)
        self.created = created
        self.not_before = certificate_not_before
        # (type, name) -> (inputs, state), plain values: the recorder masks secrets, a diff must
        # compare what the provider compares.
        self.seen: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        resource_id, outputs = super().new_resource(args)
        state = copy.deepcopy(outputs)
        read_back(args.typ, state, self.created, self.not_before)
        self.seen[(args.typ, args.name)] = (unwrap_secrets(dict(args.inputs)), state)
        return resource_id, state


def _empty(value: Any) -> bool:
    return value in (None, "", [], {}, False, 0)


def _same(path: str, new: Any, old: Any, schema: Schema) -> bool:
    if path in schema.sets and isinstance(new, list) and isinstance(old, list):
        return sorted(map(repr, new)) == sorted(map(repr, old))
    if isinstance(new, Mapping) and isinstance(old, Mapping):
        return not _changes(path, new, old, schema)
    if isinstance(new, list) and isinstance(old, list):
        return len(new) == len(old) and all(
            _same(path, a, b, schema) for a, b in zip(new, old, strict=True)
        )
    return bool(new == old or (_empty(new) and _empty(old)))


def _changes(
    prefix: str, new: Mapping[str, Any], old: Mapping[str, Any], schema: Schema
) -> list[str]:
    changed = []
    for key in sorted(set(new) | set(old)):
        path = f"{prefix}.{key}" if prefix else key
        if key not in new:
            if path in schema.computed or _empty(old.get(key)):
                continue
            changed.append(path)  # the provider would remove what the program no longer sets
        elif key not in old:
            if not _empty(new[key]):
                changed.append(path)
        elif isinstance(new[key], Mapping) and isinstance(old[key], Mapping):
            changed.extend(_changes(path, new[key], old[key], schema))
        elif not _same(path, new[key], old[key], schema):
            changed.append(path)
    return changed


@dataclass(frozen=True)
class Step:
    urn: str
    op: Literal["same", "update", "replace", "create", "delete"]
    properties: tuple[str, ...] = ()


def _without(value: dict[str, Any], ignored: list[str]) -> dict[str, Any]:
    result = copy.deepcopy(value)
    for path in ignored:
        node: Any = result
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(parts[-1], None)
    return result


def _refreshed(old_inputs: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """azure-native's inputs after a refresh: the response, for what the program set."""
    result: dict[str, Any] = {}
    for key, value in old_inputs.items():
        if key not in response:
            result[key] = value  # write-only (not returned): the old input stays
        elif isinstance(value, dict) and isinstance(response[key], dict):
            result[key] = _refreshed(value, response[key])
        else:
            result[key] = response[key]
    return result


def plan(
    records: list[dict[str, Any]],
    first: ReadBackMocks,
    second: ReadBackMocks,
    *,
    refreshed: bool,
) -> list[Step]:
    """The steps a preview would show for ``second``'s run against the state ``first`` left.

    ``records`` are the second run's registrations (URN, options); values come from the mocks.
    """
    steps = []
    seen = set()
    for resource in records:
        if not resource["custom"] or resource["type"].startswith("pulumi:providers:"):
            continue
        key = (resource["type"], resource["name"])
        seen.add(key)
        urn = resource["urn"]
        if key not in first.seen:
            steps.append(Step(urn, "create"))
            continue
        old_inputs, old_state = first.seen[key]
        new_inputs, _ = second.seen[key]
        schema = SCHEMAS[resource["type"]]
        if schema.basis == "state":
            # Only what the program sets (now or at the last up) is compared with the state.
            basis = {k: v for k, v in old_state.items() if k in new_inputs or k in old_inputs}
        elif refreshed:
            basis = _refreshed(old_inputs, old_state)
        else:
            basis = old_inputs
        new = _without(new_inputs, resource["ignoreChanges"])
        basis = _without(basis, resource["ignoreChanges"])
        changed = tuple(_changes("", new, basis, schema))
        if not changed:
            steps.append(Step(urn, "same"))
        elif any(path.split(".")[0] in schema.replace for path in changed):
            steps.append(Step(urn, "replace", changed))
        else:
            steps.append(Step(urn, "update", changed))
    gone = sorted(key for key in first.seen if key not in seen and key[0] in SCHEMAS)
    steps.extend(Step(f"{typ}::{name}", "delete") for typ, name in gone)
    return steps
