"""Key Vault policies: the regional vault that holds the apps' secrets and SAM refresh tokens.

azure-native fills defaults the program did not set (``publicNetworkAccess: Enabled``,
``enableRbacAuthorization: false``, no purge protection), so a missing property is judged as that
insecure default. Secrets need an expiry, a content type, and a value the engine keeps secret
(checked through ``additional_secret_outputs``; remediated, at level ``remediate``, by wrapping an
unwrapped value).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    Severity,
)

from . import references as ref
from . import rules, tokens
from ._framework import (
    UNKNOWN,
    ConfigProperty,
    PolicySpec,
    ResourceContext,
    as_bool,
    as_text,
    describe_value,
    get,
    items_of,
    normalize_location,
    property_policy,
    resource_policy,
    stored,
)

# ARM's retention when softDeleteRetentionInDays is not set.
ARM_DEFAULT_RETENTION_DAYS = 90


def _rbac() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azure-native-keyvault-vault-rbac-authorization",
        description="Key Vaults use Azure RBAC for data-plane access, not access policies.",
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Set properties.enableRbacAuthorization=True and grant Key Vault Secrets Officer / "
            "Secrets User role assignments scoped to the vault."
        ),
        url=ref.MS_KEYVAULT_RBAC.url,
        references=(ref.MS_KEYVAULT_RBAC,),
        applies_to=(tokens.VAULT,),
        tags=("keyvault",),
    )
    return property_policy(
        spec,
        path=("properties", "enableRbacAuthorization"),
        accept=lambda value, _config: as_bool(value) is True,
        when_missing=False,
        expectation="access must be granted with Azure RBAC role assignments",
        fix="set properties.enableRbacAuthorization to true.",
    )


def _check_soft_delete(resource: ResourceContext) -> Iterable[str]:
    minimum = int(resource.config.get("minimumRetentionDays", ARM_DEFAULT_RETENTION_DAYS))
    enabled = get(resource.props, "properties", "enableSoftDelete")
    if enabled is not UNKNOWN and as_bool(enabled) is False:
        yield resource.violation(
            "properties.enableSoftDelete is false.",
            "remove enableSoftDelete: false (soft delete cannot be turned off on new vaults).",
        )
    days = get(resource.props, "properties", "softDeleteRetentionInDays")
    if days is UNKNOWN:
        return
    effective = ARM_DEFAULT_RETENTION_DAYS if days is None else days
    if not isinstance(effective, int | float) or effective < minimum:
        yield resource.violation(
            f"properties.softDeleteRetentionInDays is {describe_value(days)}; this region "
            f"requires at least {minimum} days.",
            f"set softDeleteRetentionInDays to {minimum} or more (7-90; it cannot be changed "
            "after the vault is created).",
        )


def _soft_delete() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azure-native-keyvault-vault-soft-delete",
        description="Key Vaults keep soft delete on with at least the configured retention.",
        severity=Severity.MEDIUM,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Keep enableSoftDelete on and set softDeleteRetentionInDays to at least the region's "
            "minimumRetentionDays (set at creation; it cannot be changed later)."
        ),
        url=ref.MS_KEYVAULT_SOFT_DELETE.url,
        references=(ref.CHECKOV_VAULT_RECOVERABLE, ref.MS_KEYVAULT_SOFT_DELETE),
        applies_to=(tokens.VAULT,),
        config=(
            ConfigProperty(
                "minimumRetentionDays",
                {
                    "type": "integer",
                    "minimum": 7,
                    "maximum": 90,
                    "default": ARM_DEFAULT_RETENTION_DAYS,
                    "description": "Shortest soft-delete retention accepted, in days (7-90).",
                },
                loosens="decrease",
            ),
        ),
        tags=("keyvault",),
    )
    return resource_policy(spec, _check_soft_delete)


def _purge_protection() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azure-native-keyvault-vault-purge-protection",
        description="Key Vaults have purge protection on.",
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Set properties.enablePurgeProtection=True (it cannot be turned off again), so a "
            "deleted vault or secret cannot be purged before its retention ends."
        ),
        url=ref.MS_KEYVAULT_SOFT_DELETE.url,
        references=(
            ref.CHECKOV_VAULT_PURGE_PROTECTION,
            ref.TRIVY_NO_PURGE,
            ref.CHECKOV_VAULT_RECOVERABLE,
            ref.MS_KEYVAULT_SOFT_DELETE,
        ),
        applies_to=(tokens.VAULT,),
        tags=("keyvault",),
    )
    return property_policy(
        spec,
        path=("properties", "enablePurgeProtection"),
        accept=lambda value, _config: as_bool(value) is True,
        when_missing=False,
        expectation="purge protection must be on",
        fix="set properties.enablePurgeProtection to true.",
    )


def _check_network(resource: ResourceContext) -> Iterable[str]:
    access = get(resource.props, "properties", "publicNetworkAccess")
    action = get(resource.props, "properties", "networkAcls", "defaultAction")
    access_text = "Enabled" if access is None else access
    action_text = "Allow" if action is None else action
    disabled = isinstance(access_text, str) and access_text.strip().lower() == "disabled"
    denied = isinstance(action_text, str) and action_text.strip().lower() == "deny"
    if not disabled and access is not UNKNOWN:
        # The firewall's rules (config's allowedIpRanges, refused by the same rule).
        ip_rules = items_of(get(resource.props, "properties", "networkAcls", "ipRules"))
        for index, rule in enumerate(ip_rules):
            value = rule.get("value") if isinstance(rule, Mapping) else None
            problem = rules.ip_rule_problem(value) if isinstance(value, str) else None
            if problem:
                yield resource.violation(
                    f"properties.networkAcls.ipRules[{index}].value {value!r} {problem}.",
                    "admit only the public egress addresses that need the vault, each range at "
                    f"most /{rules.MIN_IP_RULE_PREFIX} wide (or disable public network access).",
                )
    if disabled or denied or UNKNOWN in (access, action):
        return
    yield resource.violation(
        f"properties.publicNetworkAccess is {access_text!r}"
        f"{' (provider default)' if access is None else ''} and networkAcls.defaultAction is "
        f"{action_text!r}{' (default)' if action is None else ''}: the vault accepts requests "
        "from any network.",
        "set properties.publicNetworkAccess to 'Disabled' (secrets written through ARM still "
        "work), or keep it 'Enabled' with networkAcls.defaultAction 'Deny' and only the needed "
        "ipRules.",
    )


def _network() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azure-native-keyvault-vault-network-access",
        description="Key Vaults disable public network access or deny it by default (firewall).",
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Set properties.publicNetworkAccess='Disabled', or networkAcls.defaultAction='Deny' "
            "with explicit ipRules."
        ),
        url=ref.MS_KEYVAULT_NETWORK.url,
        references=(
            ref.CHECKOV_VAULT_FIREWALL,
            ref.CHECKOV_VAULT_PUBLIC_ACCESS,
            ref.TRIVY_NETWORK_ACL,
            ref.MS_KEYVAULT_NETWORK,
        ),
        applies_to=(tokens.VAULT,),
        tags=("keyvault", "network"),
    )
    return resource_policy(spec, _check_network)


def _tenant() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azure-native-keyvault-vault-tenant",
        description="Key Vaults authenticate against the region's partner tenant.",
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation="Set properties.tenantId to the region's tenant id.",
        url=ref.MS_KEYVAULT_TEMPLATE.url,
        references=(ref.MS_KEYVAULT_TEMPLATE, ref.CSP_GRAPH),
        applies_to=(tokens.VAULT,),
        config=(
            ConfigProperty(
                "tenantId",
                {"type": "string", "description": "Tenant id of the region's partner tenant."},
                required=True,
            ),
        ),
        tags=("keyvault", "region"),
    )
    return property_policy(
        spec,
        path=("properties", "tenantId"),
        accept=lambda value, config: (
            isinstance(value, str) and value.lower() == str(config["tenantId"]).lower()
        ),
        when_missing=None,
        expectation="it must be the tenant id of this region's partner tenant",
        fix="set properties.tenantId to the tenantId of the region (policy config tenantId).",
    )


def _check_location(resource: ResourceContext) -> Iterable[str]:
    location = get(resource.props, "location")
    if not isinstance(location, str):
        return  # unset: azure-native uses the provider's location, checked by the stack policy
    allowed = [normalize_location(str(x)) for x in resource.config.get("allowedLocations", [])]
    if normalize_location(location) not in allowed:
        yield resource.violation(
            f"location {location!r} is outside this region's geography ({', '.join(allowed)}).",
            "use the region's location; CSP customer engagement is limited to one region.",
        )


def _location() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azure-native-location-in-region",
        description="Azure resources (resource group, Key Vault) stay in the region's geography.",
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Deploy to a location of the region's geography (allowedLocations of the policy "
            "config), normally the stack's own location."
        ),
        url=ref.CSP_GRAPH.url,
        references=(ref.CSP_GRAPH,),
        applies_to=(tokens.ALL_AZURE_NATIVE,),
        config=(
            ConfigProperty(
                "allowedLocations",
                {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Azure locations of the region's geography.",
                },
                required=True,
                loosens="add",
            ),
        ),
        tags=("keyvault", "region"),
    )
    return resource_policy(spec, _check_location)


def _positive_int(value: Any, _config: Mapping[str, Any]) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _secret_expiry() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azure-native-keyvault-secret-expiry",
        description="Key Vault secrets have an expiry date.",
        severity=Severity.MEDIUM,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Set properties.attributes.expires (Unix seconds) on every secret, matching the "
            "credential it stores."
        ),
        url=ref.MS_KEYVAULT_SECRETS.url,
        references=(ref.CHECKOV_SECRET_EXPIRY, ref.TRIVY_SECRET_EXPIRY, ref.MS_KEYVAULT_SECRETS),
        applies_to=(tokens.VAULT_SECRET,),
        tags=("keyvault", "secrets"),
    )
    return property_policy(
        spec,
        path=("properties", "attributes", "expires"),
        accept=_positive_int,
        when_missing=None,
        expectation="every secret needs an expiry",
        fix="set properties.attributes.expires to the Unix time the stored credential expires.",
    )


def _secret_content_type() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azure-native-keyvault-secret-content-type",
        description="Key Vault secrets have a content type.",
        severity=Severity.LOW,
        enforcement=EnforcementLevel.MANDATORY,
        remediation="Set properties.contentType to say what the secret holds ('client secret').",
        url=ref.MS_KEYVAULT_SECRETS.url,
        references=(
            ref.CHECKOV_SECRET_CONTENT_TYPE,
            ref.TRIVY_CONTENT_TYPE,
            ref.MS_KEYVAULT_SECRETS,
        ),
        applies_to=(tokens.VAULT_SECRET,),
        tags=("keyvault", "secrets"),
    )
    return property_policy(
        spec,
        path=("properties", "contentType"),
        accept=lambda value, _config: bool(as_text(value)),
        when_missing=None,
        expectation="it tells whoever reads the secret what it holds",
        fix="set properties.contentType (for example 'client secret of <app>').",
    )


def _check_value_secret(resource: ResourceContext) -> Iterable[str]:
    if get(resource.props, "properties", "value") is None:
        return
    if "properties" in resource.opts.additional_secret_outputs:
        return
    yield resource.violation(
        "properties.value is not known to be secret: 'properties' is not in "
        "additionalSecretOutputs (azure-native does not mark the value secret, and "
        "policies cannot see Output.secret because pulumi-policy hands them plain values).",
        "no setting fixes this: the program marks every secret value itself "
        "(components/key_vault.py), so this secret did not come from it unchanged; remove it "
        "or report the defect.",
    )


def remediate_value_secret(args: ResourceValidationArgs) -> Mapping[str, Any] | None:
    """Wrap an unwrapped ``properties.value`` of a Key Vault secret in a ``Secret``.

    Remediations receive inputs with their secretness (``Secret`` objects behind the SDK's
    proxies, see ``stored``), which validations never do. Returns the resource's inputs with the
    value wrapped, or ``None`` (no change) when the value is absent or already secret, alone or
    as part of a secret ``properties`` object. The engine encrypts what comes back wrapped.
    """
    if args.resource_type != tokens.VAULT_SECRET:
        return None
    inputs = stored(args.props)
    properties = inputs.get("properties")
    if not isinstance(properties, Mapping):
        return None  # absent, or the whole object is a Secret already
    fields = stored(properties)
    value = fields.get("value")
    if value is None or isinstance(value, Secret):
        return None
    return {**inputs, "properties": {**fields, "value": Secret(value)}}


def _secret_value() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azure-native-keyvault-secret-value-secret",
        description=(
            "Key Vault secret values are Pulumi secrets (encrypted in state and plans); at "
            "enforcement level remediate an unwrapped value is wrapped as a secret."
        ),
        severity=Severity.CRITICAL,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Pass the value as pulumi.Output.secret(...) and list 'properties' in "
            "additional_secret_outputs of the keyvault.Secret, so state, plans and previews "
            "never show it. What the policy can see: validation gets plain values (pulumi-policy "
            "unwraps secrets), so it cannot tell whether properties.value was wrapped and checks "
            "only the resource option additional_secret_outputs. Its remediation gets inputs "
            "with their secretness: at enforcement level 'remediate' (only then) it wraps an "
            "unwrapped properties.value as a secret before the engine stores it; options cannot "
            "be remediated, so the additional_secret_outputs check still applies."
        ),
        url=ref.PULUMI_ADDITIONAL_SECRET_OUTPUTS.url,
        references=(
            ref.PULUMI_ADDITIONAL_SECRET_OUTPUTS,
            ref.PULUMI_SECRETS,
            ref.CSP_SECURE_APP_MODEL,
        ),
        applies_to=(tokens.VAULT_SECRET,),
        tags=("keyvault", "secrets"),
    )
    return resource_policy(spec, _check_value_secret, remediate_value_secret)


def policies() -> list[ResourceValidationPolicy]:
    return [
        _rbac(),
        _soft_delete(),
        _purge_protection(),
        _network(),
        _tenant(),
        _location(),
        _secret_expiry(),
        _secret_content_type(),
        _secret_value(),
    ]
