"""The mocked provider: what the offline preview's "cloud" answers for each resource.

Mocked results are realistic and deterministic: ids and client ids are UUIDv5 of the URN, so two
runs record identical plans; the ids made up here are recorded as assigned at deploy. Secret
values are decoded from the engine's wire form as ``"[secret]"``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pulumi.runtime import mocks as pulumi_mocks

from partner_apps.review.plan import vocabulary
from policies.partner_policies import catalog

# The markers and the secret envelope's signature: the plan vocabulary's, spelled once.
SECRET = vocabulary.SECRET
UNKNOWN = vocabulary.UNKNOWN_MARKER
_SECRET_SIG = vocabulary.SECRET_ENVELOPE_SIG
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_SIG_KEY = vocabulary.SECRET_ENVELOPE_KEY
_UNKNOWN_VALUE = vocabulary.UNKNOWN
_MOCK_NAMESPACE = uuid.UUID("0b9f3c1e-7a2d-4e6f-9b8c-5d4a3e2f1c0b")


# The azuread provider's service principal data source (components/published.py reads it).
GET_SERVICE_PRINCIPAL = "azuread:index/getServicePrincipal:getServicePrincipal"


def published_by(client_id: str, stack: str) -> dict[str, Any]:
    """What the offline tenant publishes for an API's service principal: the catalog's own ids.
    Offline there is no Microsoft to ask, so the program's check of the catalog passes here; the
    offline trust root is the diff, which reports any change of a catalog entry."""
    permissions = [p for p in catalog.PERMISSIONS if p.api_app_id == client_id]
    api = catalog.find_api(client_id)
    object_id = mock_guid(stack, "service-principal", client_id)
    return {
        "id": object_id,
        "objectId": object_id,
        "clientId": client_id,
        "displayName": api.name if api is not None else "",
        "appRoleIds": {p.value: p.id for p in permissions if p.kind == "application"},
        "oauth2PermissionScopeIds": {p.value: p.id for p in permissions if p.kind == "delegated"},
    }


def mock_guid(*parts: str) -> str:
    """A deterministic GUID for a mocked resource or lookup."""
    return str(uuid.uuid5(_MOCK_NAMESPACE, "/".join(parts)))


# Where a provider type nests its secret inside an input object. The SDK sends the whole object
# as secret (secretness is per top-level property); the recorder keeps the rest of the object
# readable for reviewers and masks exactly these fields.
SECRET_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    vocabulary.VAULT_SECRET: {"properties": ("value",)},
}


def unwrap_secrets(value: Any) -> Any:
    """Plain values of secret wrappers (what a provider would receive), for the mocks."""
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return unwrap_secrets(value.get("value"))
        return {key: unwrap_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(item) for item in value]
    return value


def clean_properties(typ: str, properties: dict[str, Any]) -> dict[str, Any]:
    """Clean a resource's top-level properties, masking nested secrets field by field."""
    result: dict[str, Any] = {}
    nested = SECRET_FIELDS.get(typ, {})
    for key in sorted(properties):
        value = properties[key]
        is_secret = isinstance(value, dict) and value.get(_SIG_KEY) == _SECRET_SIG
        inner = value.get("value") if is_secret else None
        if is_secret and key in nested and isinstance(inner, dict):
            cleaned = clean(inner)
            for field_name in nested[key]:
                if field_name in cleaned:
                    cleaned[field_name] = SECRET
            result[key] = cleaned
        else:
            result[key] = clean(value)
    return result


def clean(value: Any) -> Any:
    """Decode the engine's wire form: secrets -> "[secret]", unknowns -> "[unknown]"."""
    if isinstance(value, dict):
        sig = value.get(_SIG_KEY)
        if sig == _SECRET_SIG:
            return SECRET
        if sig == _RESOURCE_SIG:
            return value.get("urn", "")
        if sig == _OUTPUT_SIG:
            if value.get("secret"):
                return SECRET
            return clean(value["value"]) if "value" in value else UNKNOWN
        return {key: clean(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [clean(item) for item in value]
    if value == _UNKNOWN_VALUE:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def mask(outputs: dict[str, Any], secret_paths: list[str]) -> dict[str, Any]:
    masked = dict(outputs)
    for name in secret_paths:
        if name in masked:
            masked[name] = SECRET
    return masked


class PlanMocks(pulumi_mocks.Mocks):
    """Realistic, deterministic provider results for the resource types the program uses."""

    def __init__(self, stack: str, secret_values: Mapping[str, str] | None = None) -> None:
        self.stack = stack
        # Values mocked provider outputs use for generated secrets (tests plant canaries here).
        self.secret_values = dict(secret_values or {})
        # ARM ids carry the subscription of the provider that manages the resource, as in Azure:
        # provider id (a reference is "<urn>::<id>") -> its subscriptionId input.
        self._subscriptions: dict[str, str] = {}
        # Every id these mocks made up and returned (resource ids, client and object ids, key
        # ids, looked-up group ids): the plan records them (``assignedAtDeploy``) so reports
        # label them as assigned at deploy instead of showing a mock GUID as if it were real.
        self.assigned: set[str] = set()

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        resource_id, outputs = self._new_resource(args)
        made_up = (
            mock_guid(self.stack, args.typ, args.name),
            mock_guid(self.stack, args.name, "client-id"),
        )
        returned = [resource_id or "", *(v for v in outputs.values() if isinstance(v, str))]
        self.assigned.update(guid for guid in made_up if any(guid in v for v in returned))
        return resource_id, outputs

    def _new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        inputs = unwrap_secrets(dict(args.inputs))
        guid = mock_guid(self.stack, args.typ, args.name)
        typ = args.typ
        if typ == vocabulary.APPLICATION:
            client_id = mock_guid(self.stack, args.name, "client-id")
            return f"/applications/{guid}", {
                **inputs,
                "clientId": client_id,
                "objectId": guid,
                "publisherDomain": "partner.example",
            }
        if typ == vocabulary.SERVICE_PRINCIPAL:
            return guid, {**inputs, "objectId": guid, "type": "Application"}
        if typ == vocabulary.PASSWORD:
            value = self.secret_values.get("applicationPassword", f"mock-password-{guid[:8]}")
            return f"{inputs.get('applicationId', '')}/password/{guid}", {
                **inputs,
                "keyId": guid,
                "value": value,
            }
        if typ == vocabulary.GROUP_MEMBER:
            return f"{inputs.get('groupObjectId')}/member/{inputs.get('memberObjectId')}", inputs
        if typ == vocabulary.VAULT:
            name = inputs.get("vaultName", args.name)
            properties = dict(inputs.get("properties") or {})
            properties["vaultUri"] = f"https://{name}.vault.azure.net/"
            return self._arm_id(args, inputs, "Microsoft.KeyVault/vaults", name), {
                **inputs,
                "name": name,
                "properties": properties,
            }
        if typ == vocabulary.VAULT_SECRET:
            name = inputs.get("secretName", args.name)
            vault = inputs.get("vaultName", "vault")
            properties = dict(inputs.get("properties") or {})
            properties.pop("value", None)  # ARM never returns a secret's value
            properties["secretUri"] = f"https://{vault}.vault.azure.net/secrets/{name}"
            arm_id = self._arm_id(args, inputs, f"Microsoft.KeyVault/vaults/{vault}/secrets", name)
            return arm_id, {**inputs, "name": name, "properties": properties}
        if typ == vocabulary.RESOURCE_GROUP:
            name = inputs.get("resourceGroupName", args.name)
            sub = self._subscription(args)
            return f"/subscriptions/{sub}/resourceGroups/{name}", {**inputs, "name": name}
        if vocabulary.is_provider(typ):
            if "subscriptionId" in inputs:
                self._subscriptions[guid] = str(inputs["subscriptionId"])
            return guid, inputs
        return guid, {**inputs, "name": inputs.get("name", args.name)}

    def _subscription(self, args: pulumi_mocks.MockResourceArgs) -> str:
        """The subscription of the resource's provider (a made-up one without a provider)."""
        provider_id = (args.provider or "").rsplit("::", 1)[-1]
        return self._subscriptions.get(provider_id) or mock_guid(self.stack, "subscription")

    def _arm_id(
        self, args: pulumi_mocks.MockResourceArgs, inputs: Mapping[str, Any], kind: str, name: str
    ) -> str:
        group = inputs.get("resourceGroupName", "rg")
        sub = self._subscription(args)
        return f"/subscriptions/{sub}/resourceGroups/{group}/providers/{kind}/{name}"

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "azuread:index/getGroup:getGroup":
            name = str(args.args.get("displayName", ""))
            object_id = mock_guid(self.stack, "group", name)
            self.assigned.add(object_id)
            return {
                "id": object_id,
                "objectId": object_id,
                "displayName": name,
                "securityEnabled": True,
                "mailEnabled": False,
                "members": [],
                "owners": [],
            }, []
        if args.token == GET_SERVICE_PRINCIPAL:
            return published_by(str(args.args.get("clientId", "")), self.stack), []
        return {}, []
