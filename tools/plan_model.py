"""Read recorded plans and turn them into what reviewers and auditors read about.

A *plan* is the JSON file the offline preview records per stack (``build/preview/<stack>.json``):
the program's resources as the engine would register them (camelCase inputs, secrets already
shown as ``"[secret]"``), the ``apps`` block with the reason of every permission, and the policy
violations. This module is shared by ``tools.render``, ``tools.diff``, ``tools.preview_json`` and
``tools.audit``:

* loading, with a second line of defence for secrets: values the plan marks secret
  (``additionalSecretOutputs``, the provider's known secret properties, Pulumi's secret envelope)
  are replaced by ``"[secret]"`` when the plan is read, and any such raw value found elsewhere in
  the plan is scrubbed too, so no renderer can print one;
* the analysis of one stack: per app its permissions with names from the permission catalog,
  exposed scopes, known clients, AdminAgents membership, credentials, Key Vault secrets and URIs;
* small Markdown helpers, so every report escapes and sorts the same way.

Everything is sorted and nothing reads the clock: the same plan always gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from components import permissions
from components.permissions import Api, Kind, Permission

SECRET = "[secret]"
# The string the Pulumi engine uses for a value not known until apply (preview, mocks).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
# Pulumi's envelope for a secret value in state and over the wire.
_SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

STACK_TYPE = "pulumi:pulumi:Stack"
APP_COMPONENT = "partner-apps:index:PartnerManagedApp"
VAULT_COMPONENT = "partner-apps:index:RegionalKeyVault"

APPLICATION = "azuread:index/application:Application"
APPLICATION_REGISTRATION = "azuread:index/applicationRegistration:ApplicationRegistration"
API_ACCESS = "azuread:index/applicationApiAccess:ApplicationApiAccess"
KNOWN_CLIENTS = "azuread:index/applicationKnownClients:ApplicationKnownClients"
IDENTIFIER_URI = "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri"
REDIRECT_URIS = "azuread:index/applicationRedirectUris:ApplicationRedirectUris"
PERMISSION_SCOPE = "azuread:index/applicationPermissionScope:ApplicationPermissionScope"
PRE_AUTHORIZED = "azuread:index/applicationPreAuthorized:ApplicationPreAuthorized"
SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"
GROUP_MEMBER = "azuread:index/groupMember:GroupMember"
PASSWORD = "azuread:index/applicationPassword:ApplicationPassword"
CERTIFICATE = "azuread:index/applicationCertificate:ApplicationCertificate"
FEDERATED_CREDENTIAL = (
    "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
)
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
VAULT = "azure-native:keyvault:Vault"
VAULT_SECRET = "azure-native:keyvault:Secret"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"

# Properties the providers keep secret even when the program does not say so.
SECRET_PATHS: Mapping[str, tuple[tuple[str, ...], ...]] = {
    PASSWORD: (("value",),),
    CERTIFICATE: (("value",),),
    VAULT_SECRET: (("properties", "value"),),
}

KEY_VAULT_ROLES: Mapping[str, str] = {
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
}

RISK_ORDER: Mapping[str, int] = {"high": 0, "medium": 1, "low": 2}
SEVERITY_ORDER: Mapping[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}


class PlanError(Exception):
    """A plan or preview file that cannot be read; the message names the file."""


# --------------------------------------------------------------------------------------------
# Permission catalog (components/permissions.py), as this module uses it
# --------------------------------------------------------------------------------------------


class Catalog(Protocol):
    """What the reports use of ``components.permissions`` (the module itself satisfies it)."""

    def by_id(
        self, api_app_id: str, permission_id: str, kind: Kind | None = None
    ) -> Permission | None: ...

    def find_api(self, name_or_app_id: str) -> Api | None: ...


def load_catalog() -> Catalog:
    """The project's permission catalog."""
    return permissions


# --------------------------------------------------------------------------------------------
# JSON helpers
# --------------------------------------------------------------------------------------------


def as_map(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one."""
    return list(value) if isinstance(value, list | tuple) else []


def as_str(value: Any) -> str:
    """``value`` if it is a string, else an empty string."""
    return value if isinstance(value, str) else ""


def str_list(value: Any) -> tuple[str, ...]:
    """The strings of a JSON array, sorted and without duplicates."""
    return tuple(sorted({item for item in as_list(value) if isinstance(item, str)}))


def dig(value: Any, *path: str) -> Any:
    """The value at ``path`` inside nested objects, or None."""
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def is_unknown(value: Any) -> bool:
    """True for a value the engine does not know before apply."""
    return isinstance(value, str) and value in (UNKNOWN, "[unknown]")


def canonical(value: Any) -> str:
    """Compact, sorted JSON: the text used to compare and show values."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# URNs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Urn:
    """The parts of ``urn:pulumi:<stack>::<project>::<parent types$type>::<name>``."""

    stack: str
    project: str
    qualified_type: str
    name: str

    @property
    def type(self) -> str:
        return self.qualified_type.rsplit("$", 1)[-1]

    @property
    def ancestor_types(self) -> tuple[str, ...]:
        return tuple(self.qualified_type.split("$")[:-1])


def parse_urn(urn: str) -> Urn | None:
    """Split a URN; None when it is not one."""
    if not urn.startswith("urn:pulumi:"):
        return None
    parts = urn[len("urn:pulumi:") :].split("::", 3)
    if len(parts) != 4:
        return None
    return Urn(stack=parts[0], project=parts[1], qualified_type=parts[2], name=parts[3])


def urn_name(urn: str) -> str:
    """The resource name in a URN (the URN itself when it is not one)."""
    parsed = parse_urn(urn)
    return parsed.name if parsed else urn


# --------------------------------------------------------------------------------------------
# Secret redaction
# --------------------------------------------------------------------------------------------


def _is_secret_envelope(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get(_SECRET_SIG_KEY) == _SECRET_SIG


def _collect_raw(value: Any, found: set[str]) -> None:
    if _is_secret_envelope(value):
        _collect_raw(value.get("value", value.get("plaintext")), found)
    elif isinstance(value, str):
        if value and value != SECRET and not is_unknown(value):
            found.add(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            _collect_raw(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect_raw(item, found)


def _mask_path(props: Any, path: Sequence[str], found: set[str], *, objects: bool = True) -> Any:
    """``props`` with the value at ``path`` masked; its raw text joins ``found``.

    With ``objects=False`` only a scalar is masked (an input that shares a secret output's name
    may be a whole object whose other fields reviewers need).
    """
    if not isinstance(props, Mapping) or not path or path[0] not in props:
        return props
    head, rest = path[0], path[1:]
    copy = dict(props)
    value = props[head]
    if rest:
        copy[head] = _mask_path(value, rest, found, objects=objects)
    elif value is None or is_unknown(value):
        pass
    elif isinstance(value, Mapping | list):
        # A whole object is secret: mask it, but do not scrub its every string elsewhere
        # (field names and content types would vanish from the report with it).
        if objects:
            copy[head] = SECRET
    else:
        _collect_raw(value, found)
        copy[head] = SECRET
    return copy


def _unwrap_envelopes(value: Any, found: set[str]) -> Any:
    if _is_secret_envelope(value):
        _collect_raw(value, found)
        return SECRET
    if isinstance(value, Mapping):
        return {key: _unwrap_envelopes(item, found) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap_envelopes(item, found) for item in value]
    return value


def _scrub(value: Any, raw: Sequence[str]) -> Any:
    if isinstance(value, str):
        for secret in raw:
            if secret in value:
                value = value.replace(secret, SECRET)
        return value
    if isinstance(value, Mapping):
        return {key: _scrub(item, raw) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, raw) for item in value]
    return value


def redact_resource_props(
    type_: str, inputs: Any, outputs: Any, secret_outputs: Iterable[str], found: set[str]
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """Inputs and outputs with every property the plan or provider marks secret masked."""
    new_inputs: Any = _unwrap_envelopes(as_map(inputs), found)
    new_outputs: Any = _unwrap_envelopes(as_map(outputs), found)
    for path in SECRET_PATHS.get(type_, ()):
        new_inputs = _mask_path(new_inputs, path, found)
        new_outputs = _mask_path(new_outputs, path, found)
    for name in secret_outputs:
        new_outputs = _mask_path(new_outputs, (name,), found)
        new_inputs = _mask_path(new_inputs, (name,), found, objects=False)
    return new_inputs, new_outputs


def scrub_document(document: Any, found: set[str]) -> Any:
    """``document`` with every raw secret value in ``found`` replaced, wherever it occurs."""
    # Longest first, so a secret containing another is replaced whole. Very short strings
    # (booleans spelled out, single characters) would wreck unrelated text and leak nothing.
    raw = sorted((value for value in found if len(value) >= 6), key=lambda s: (-len(s), s))
    return _scrub(document, raw) if raw else document


# --------------------------------------------------------------------------------------------
# Plan model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """One registered resource of a plan or of a preview step's state."""

    urn: str
    type: str
    name: str
    parent: str | None
    provider: str | None
    protect: bool
    custom: bool
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    dependencies: tuple[str, ...] = ()
    ignore_changes: tuple[str, ...] = ()
    additional_secret_outputs: tuple[str, ...] = ()
    retain_on_delete: bool = False

    def prop(self, *path: str) -> Any:
        """An input, or the output of that name when the input is absent."""
        value = dig(self.inputs, *path)
        return dig(self.outputs, *path) if value is None else value


@dataclass(frozen=True)
class Violation:
    """A policy violation the recorder saw (mandatory or advisory)."""

    policy: str
    severity: str
    enforcement_level: str
    urn: str
    message: str

    def sort_key(self) -> tuple[int, int, str, str, str]:
        return (
            0 if self.enforcement_level == "mandatory" else 1,
            SEVERITY_ORDER.get(self.severity, 9),
            self.policy,
            self.urn,
            self.message,
        )


@dataclass(frozen=True)
class PolicyInfo:
    """A policy that ran, when the plan lists them (so passes can be shown, not just failures)."""

    name: str
    severity: str
    enforcement_level: str
    description: str


@dataclass(frozen=True)
class Plan:
    """One stack's recorded plan, secrets masked."""

    project: str
    stack: str
    region: Mapping[str, Any]
    apps: Mapping[str, Mapping[str, Any]]
    resources: tuple[Resource, ...]
    outputs: Mapping[str, Any]
    violations: tuple[Violation, ...]
    policies: tuple[PolicyInfo, ...] | None = None
    source: str = ""

    def by_urn(self) -> dict[str, Resource]:
        return {resource.urn: resource for resource in self.resources}


def resource_from_state(state: Mapping[str, Any], found: set[str]) -> Resource:
    """A Resource from a plan entry or an engine state (``apitype.ResourceV3`` shape)."""
    urn = as_str(state.get("urn"))
    parsed = parse_urn(urn)
    type_ = as_str(state.get("type")) or (parsed.type if parsed else "")
    name = as_str(state.get("name")) or (parsed.name if parsed else urn)
    secret_outputs = str_list(state.get("additionalSecretOutputs"))
    inputs, outputs = redact_resource_props(
        type_, state.get("inputs"), state.get("outputs"), secret_outputs, found
    )
    return Resource(
        urn=urn,
        type=type_,
        name=name,
        parent=as_str(state.get("parent")) or None,
        provider=as_str(state.get("provider")) or None,
        protect=bool(state.get("protect")),
        custom=bool(state.get("custom", True)),
        inputs=inputs,
        outputs=outputs,
        dependencies=str_list(state.get("dependencies")),
        ignore_changes=str_list(state.get("ignoreChanges")),
        additional_secret_outputs=secret_outputs,
        retain_on_delete=bool(state.get("retainOnDelete")),
    )


def _violation(entry: Mapping[str, Any]) -> Violation:
    return Violation(
        policy=as_str(entry.get("policy") or entry.get("policyName")),
        severity=as_str(entry.get("severity")) or "unspecified",
        enforcement_level=as_str(entry.get("enforcementLevel")) or "advisory",
        urn=as_str(entry.get("urn") or entry.get("resourceUrn")),
        message=as_str(entry.get("message")).strip(),
    )


def plan_from_document(document: Mapping[str, Any], source: str = "") -> Plan:
    """Build a Plan from the recorder's JSON; raises PlanError when it is not a plan."""
    if not isinstance(document, Mapping) or not isinstance(document.get("resources"), list):
        raise PlanError(f"{source or 'document'}: not a plan (no 'resources' list)")
    found: set[str] = set()
    resources = [
        resource_from_state(entry, found)
        for entry in document["resources"]
        if isinstance(entry, Mapping)
    ]
    outputs = _unwrap_envelopes(as_map(document.get("outputs")), found)
    region = as_map(document.get("region"))
    stack = as_str(document.get("stack")) or as_str(region.get("id"))
    if not stack:
        stacks = {p.stack for p in (parse_urn(r.urn) for r in resources) if p}
        stack = min(stacks) if stacks else Path(source).stem
    policies_doc = document.get("policies")
    policies = (
        tuple(
            sorted(
                (
                    PolicyInfo(
                        name=as_str(entry.get("name") or entry.get("policy")),
                        severity=as_str(entry.get("severity")) or "unspecified",
                        enforcement_level=as_str(entry.get("enforcementLevel")) or "advisory",
                        description=as_str(entry.get("description")),
                    )
                    for entry in policies_doc
                    if isinstance(entry, Mapping)
                ),
                key=lambda p: p.name,
            )
        )
        if isinstance(policies_doc, list)
        else None
    )
    plan = Plan(
        project=as_str(document.get("project")),
        stack=stack,
        region=region,
        apps={key: as_map(value) for key, value in as_map(document.get("apps")).items()},
        resources=tuple(sorted(resources, key=lambda r: r.urn)),
        outputs=outputs,
        violations=tuple(
            sorted(
                (
                    _violation(v)
                    for v in as_list(document.get("violations"))
                    if isinstance(v, Mapping)
                ),
                key=Violation.sort_key,
            )
        ),
        policies=policies,
        source=source,
    )
    return scrub_plan(plan, found)


def scrub_plan(plan: Plan, found: set[str]) -> Plan:
    """``plan`` with every raw secret value in ``found`` replaced wherever it occurs."""
    if not any(len(value) >= 6 for value in found):
        return plan
    resources = tuple(
        Resource(
            urn=r.urn,
            type=r.type,
            name=r.name,
            parent=r.parent,
            provider=r.provider,
            protect=r.protect,
            custom=r.custom,
            inputs=scrub_document(r.inputs, found),
            outputs=scrub_document(r.outputs, found),
            dependencies=r.dependencies,
            ignore_changes=r.ignore_changes,
            additional_secret_outputs=r.additional_secret_outputs,
            retain_on_delete=r.retain_on_delete,
        )
        for r in plan.resources
    )
    violations = tuple(
        Violation(
            policy=v.policy,
            severity=v.severity,
            enforcement_level=v.enforcement_level,
            urn=v.urn,
            message=scrub_document(v.message, found),
        )
        for v in plan.violations
    )
    return Plan(
        project=plan.project,
        stack=plan.stack,
        region=scrub_document(plan.region, found),
        apps=scrub_document(plan.apps, found),
        resources=resources,
        outputs=scrub_document(plan.outputs, found),
        violations=violations,
        policies=plan.policies,
        source=plan.source,
    )


def _pack_policies() -> tuple[PolicyInfo, ...] | None:
    """The policy pack's own list (defaults), when the pack can be imported."""
    try:
        from policies.partner_policies import POLICY_METADATA  # noqa: PLC0415 - optional, heavy
    except ImportError:
        return None
    return tuple(
        PolicyInfo(
            name=name,
            severity=as_str(meta.get("severity")) or "unspecified",
            enforcement_level=as_str(meta.get("enforcementLevel")) or "advisory",
            description=as_str(meta.get("description")),
        )
        for name, meta in sorted(POLICY_METADATA.items())
    )


def stack_policies(plan: Plan) -> tuple[dict[str, PolicyInfo], str]:
    """One stack's policies with their effective enforcement there, and where the list comes from.

    ``"plan"``: the plan lists the policies the preview resolved from the region's policy config
    (so a policy the region disables shows as disabled); ``"pack"``: an older plan without that
    list, so the pack's defaults stand in; ``"violations"``: neither is available.
    """
    source = "plan"
    if plan.policies is not None:
        listed = {p.name: p for p in plan.policies}
    else:
        pack = _pack_policies()
        listed = {p.name: p for p in pack or ()}
        source = "pack" if pack else "violations"
    for v in plan.violations:
        listed.setdefault(v.policy, PolicyInfo(v.policy, v.severity, v.enforcement_level, ""))
    return {name: listed[name] for name in sorted(listed)}, source


def policy_status(policy: PolicyInfo | None, violations: int) -> str:
    """``fail`` (any violation), ``disabled``, ``pass``, or ``not run`` (not in the list)."""
    if violations:
        return "fail"
    if policy is None:
        return "not run"
    return "disabled" if policy.enforcement_level == "disabled" else "pass"


def policy_list(plans: Sequence[Plan]) -> tuple[tuple[PolicyInfo, ...], str]:
    """Every policy that ran, and where the list comes from (so passes can be shown).

    Preferred: the plans' own ``policies`` list (effective per stack); then the policy pack's
    metadata; last, only the policies some plan violates ("violations").
    """
    listed: dict[str, PolicyInfo] = {}
    for plan in plans:
        for policy in plan.policies or ():
            listed.setdefault(policy.name, policy)
    source = "plan"
    if not listed:
        pack = _pack_policies()
        listed = {p.name: p for p in pack or ()}
        source = "pack" if pack else "violations"
    for plan in plans:
        for v in plan.violations:
            listed.setdefault(v.policy, PolicyInfo(v.policy, v.severity, v.enforcement_level, ""))
    return tuple(listed[name] for name in sorted(listed)), source


ERROR_SUFFIX = ".error.json"


@dataclass(frozen=True)
class PreviewFailure:
    """A stack whose preview failed: ``<stack>.error.json`` instead of a plan.

    The offline preview writes it (and deletes the stack's old plan and Markdown) when the stack's
    config or its policy config is invalid, so no report mistakes a stale plan, or a missing one,
    for what the stack would do.
    """

    project: str
    stack: str
    error: str
    source: str = ""

    @property
    def text(self) -> str:
        """``preview failed: <message>`` (the message may span lines)."""
        return f"preview failed: {self.error}"


def failure_lines(stack: str, error: str) -> list[str]:
    """A Markdown list item ``- **<stack>**: preview failed: <message>`` (long messages fenced)."""
    first, *rest = error.strip().splitlines() or ["(no message)"]
    lines = [f"- **{stack}**: preview failed: {first.strip()}"]
    body = [line.strip() for line in rest if line.strip()]
    if body:
        fence = "````" if any("```" in line for line in body) else "```"
        lines += ["", f"  {fence}text", *(f"  {line}" for line in body), f"  {fence}"]
    return lines


def error_document(project: str, stack: str, error: str) -> dict[str, str]:
    """The content of ``<stack>.error.json``."""
    return {"project": project, "stack": stack, "error": error}


def is_error_document(document: Any) -> bool:
    """True for a ``<stack>.error.json`` written by the offline preview."""
    return (
        isinstance(document, Mapping)
        and "resources" not in document
        and isinstance(document.get("stack"), str)
        and isinstance(document.get("error"), str)
    )


def failure_from_document(document: Mapping[str, Any], source: str = "") -> PreviewFailure:
    return PreviewFailure(
        project=as_str(document.get("project")),
        stack=as_str(document.get("stack")),
        error=as_str(document.get("error")).strip() or "(no message)",
        source=source,
    )


def read_json(path: Path) -> Any:
    """Parse a JSON file; PlanError names the file when it cannot."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PlanError(f"{path}: cannot read ({error.strerror or error})") from error
    except json.JSONDecodeError as error:
        raise PlanError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from error


def load_plan(path: Path) -> Plan:
    """Read one plan file."""
    return plan_from_document(read_json(path), source=str(path))


def is_plan_document(document: Any) -> bool:
    """True for the recorder's plan JSON (and not, say, an audit report next to it)."""
    return isinstance(document, Mapping) and isinstance(document.get("resources"), list)


def load_plans(paths: Iterable[Path]) -> list[Plan]:
    """Plans from files and directories (every ``*.json`` plan in a directory), by stack name.

    Stacks whose preview failed (``<stack>.error.json``) are left out: see ``load_results``.
    """
    return load_results(paths)[0]


def load_results(paths: Iterable[Path]) -> tuple[list[Plan], list[PreviewFailure]]:
    """Plans and failed previews from files and directories, each sorted by stack name.

    A stack may come from one file only: a plan and an error file for the same stack is an error.
    """
    found: dict[str, Plan | PreviewFailure] = {}
    for path in paths:
        if not path.exists():
            raise PlanError(f"{path}: no such file or folder")
        if path.is_dir():
            for child in sorted(path.glob("*.json")):
                document = read_json(child)
                if is_plan_document(document):
                    _add_result(found, plan_from_document(document, source=str(child)))
                elif is_error_document(document):
                    _add_result(found, failure_from_document(document, source=str(child)))
        else:
            document = read_json(path)
            if is_error_document(document):
                _add_result(found, failure_from_document(document, source=str(path)))
            else:
                _add_result(found, plan_from_document(document, source=str(path)))
    plans = [r for _, r in sorted(found.items()) if isinstance(r, Plan)]
    failures = [r for _, r in sorted(found.items()) if isinstance(r, PreviewFailure)]
    return plans, failures


def _add_result(found: dict[str, Plan | PreviewFailure], result: Plan | PreviewFailure) -> None:
    if result.stack in found:
        raise PlanError(
            f"{result.source}: stack {result.stack!r} also comes from {found[result.stack].source}"
        )
    found[result.stack] = result


# --------------------------------------------------------------------------------------------
# Analysis of one stack
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PermissionRow:
    """One permission an app requires, named through the catalog."""

    api: str
    api_id: str
    permission: str
    permission_id: str
    kind: Kind
    admin_consent: bool | None
    risk: str
    high_privilege: bool
    known: bool
    csp_allowed: bool | None
    retired: bool
    in_plan_api: str | None
    reason: str
    urn: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.api_id.lower(), self.permission_id.lower(), self.kind)

    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.api.lower(), self.kind, self.permission.lower(), self.permission_id)

    def consent_text(self) -> str:
        if self.admin_consent is None:
            return "unknown"
        return "admin" if self.admin_consent else "user"

    def labels(self) -> list[str]:
        """Short facts about the permission, for prose: kind, privilege, consent, catalog."""
        labels: list[str] = [self.kind]
        if not self.known:
            labels.append("unknown (not in catalog)")
        if self.high_privilege:
            labels.append("high privilege")
        if self.admin_consent:
            labels.append("admin consent")
        if self.retired:
            labels.append("retired API")
        if self.csp_allowed is False:
            labels.append("outside CSP-supported resources")
        labels.append(f"{self.risk} risk")
        return labels


@dataclass(frozen=True)
class ScopeRow:
    """An oauth2 permission scope the app exposes."""

    id: str
    value: str
    type: str
    enabled: bool
    admin_consent_display_name: str


@dataclass(frozen=True)
class AppRoleRow:
    """An app role the app exposes."""

    id: str
    value: str
    allowed_member_types: tuple[str, ...]
    enabled: bool


@dataclass(frozen=True)
class CredentialRow:
    """A client secret, certificate or federated credential of an app."""

    kind: str
    name: str
    display_name: str
    end_date: str
    rotation_date: str
    urn: str
    protect: bool


@dataclass(frozen=True)
class SecretRow:
    """A Key Vault secret, with the app it belongs to when that can be told."""

    secret_name: str
    vault_name: str
    content_type: str
    expires: str
    value_managed: bool
    app: str | None
    urn: str
    protect: bool


@dataclass(frozen=True)
class RoleAssignmentRow:
    """A role assignment (the Key Vault's RBAC)."""

    name: str
    role: str
    principal_id: str
    principal_type: str
    scope: str
    urn: str


@dataclass(frozen=True)
class VaultView:
    """A Key Vault and what hangs off it."""

    name: str
    resource_group: str
    location: str
    settings: tuple[tuple[str, str], ...]
    urn: str
    protect: bool
    secrets: tuple[SecretRow, ...]
    role_assignments: tuple[RoleAssignmentRow, ...]


@dataclass(frozen=True)
class ClientRef:
    """A client application named by client id, with its app key when it is one of ours."""

    client_id: str
    app: str | None

    def markdown(self) -> str:
        if is_unknown(self.client_id):
            return f"{code(self.app)} (client id known after apply)" if self.app else "(unknown)"
        return f"{code(self.app)} ({code(self.client_id)})" if self.app else code(self.client_id)


@dataclass(frozen=True)
class AppView:
    """Everything a reviewer reads about one partner-managed app in one stack."""

    key: str
    display_name: str
    component_urn: str | None
    application_urn: str | None
    client_id: str | None
    sign_in_audience: str
    identifier_uris: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    homepage_url: str
    implicit_access_tokens: bool | None
    implicit_id_tokens: bool | None
    scopes: tuple[ScopeRow, ...]
    app_roles: tuple[AppRoleRow, ...]
    known_clients: tuple[ClientRef, ...]
    pre_authorized: tuple[ClientRef, ...]
    permissions: tuple[PermissionRow, ...]
    service_principal_urn: str | None
    service_principal_object_id: str | None
    app_role_assignment_required: bool | None
    admin_agents: tuple[str, ...]
    credentials: tuple[CredentialRow, ...]
    secrets: tuple[SecretRow, ...]
    resources: tuple[Resource, ...]
    notes: tuple[str, ...]
    protected: bool

    @property
    def in_admin_agents(self) -> bool:
        return bool(self.admin_agents)


@dataclass(frozen=True)
class ProviderRow:
    """A provider resource and the tenant it reaches."""

    name: str
    package: str
    tenant_id: str
    settings: tuple[tuple[str, str], ...]
    urn: str


@dataclass(frozen=True)
class StackView:
    """The analysed plan of one stack."""

    plan: Plan
    apps: tuple[AppView, ...]
    vaults: tuple[VaultView, ...]
    providers: tuple[ProviderRow, ...]
    unassigned_secrets: tuple[SecretRow, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def stack(self) -> str:
        return self.plan.stack

    def app(self, key: str) -> AppView | None:
        return next((app for app in self.apps if app.key == key), None)


def format_date(value: Any) -> str:
    """An ISO date-time shown as a date when it is midnight UTC; '' for nothing."""
    text = as_str(value)
    if not text:
        return ""
    if is_unknown(text):
        return "(known after apply)"
    for suffix in ("T00:00:00Z", "T00:00:00+00:00", "T00:00:00.000Z"):
        if text.endswith(suffix):
            return text[: -len(suffix)]
    return text


def format_unix(value: Any) -> str:
    """Unix seconds (Key Vault ``attributes.expires``) as a UTC date."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return as_str(value)
    moment = dt.datetime.fromtimestamp(value, tz=dt.UTC)
    if moment.time() == dt.time(0, 0):
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Leaf values of nested objects as (dotted path, value); arrays of scalars stay whole."""
    if isinstance(value, Mapping) and value:
        for key in sorted(value):
            yield from flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value and any(isinstance(i, Mapping | list) for i in value):
        for index, item in enumerate(value):
            yield from flatten(item, f"{prefix}[{index}]")
    else:
        yield prefix, value


def show_value(value: Any, limit: int = 120) -> str:
    """A value as short text for tables and diffs ("[secret]" stays as is)."""
    if is_unknown(value):
        text = "(known after apply)"
    elif isinstance(value, str):
        text = value
    else:
        text = canonical(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Index:
    """Lookups over a stack's resources, plus a context plan (for partial views of a preview)."""

    def __init__(self, plan: Plan, context: Plan | None) -> None:
        self.plan = plan
        self.own = plan.by_urn()
        self.all: dict[str, Resource] = {**(context.by_urn() if context else {}), **self.own}
        self.apps_config: dict[str, Mapping[str, Any]] = {
            **(dict(context.apps) if context else {}),
            **dict(plan.apps),
        }
        self.stack = plan.stack
        keys = set(self.apps_config)
        for resource in self.all.values():
            key = self._component_key(resource.urn, resource.type)
            if key:
                keys.add(key)
            if resource.parent:
                parent = parse_urn(resource.parent)
                if parent and parent.type == APP_COMPONENT:
                    keys.add(self._strip_stack(parent.name))
        self.app_keys = tuple(sorted(keys))
        self._owner_cache: dict[str, str | None] = {}

    def _strip_stack(self, name: str) -> str:
        prefix = f"{self.stack}-"
        return name[len(prefix) :] if name.startswith(prefix) else name

    def _component_key(self, urn: str, type_: str) -> str | None:
        parsed = parse_urn(urn)
        if type_ == APP_COMPONENT and parsed:
            return self._strip_stack(parsed.name)
        return None

    def owner(self, urn: str) -> str | None:
        """The app key of the PartnerManagedApp component that contains ``urn``."""
        if urn not in self._owner_cache:
            self._owner_cache[urn] = self._find_owner(urn)
        return self._owner_cache[urn]

    def _find_owner(self, urn: str) -> str | None:
        seen: set[str] = set()
        current: str | None = urn
        while current and current not in seen:
            seen.add(current)
            parsed = parse_urn(current)
            if parsed is None:
                return None
            if parsed.type == APP_COMPONENT:
                return self._strip_stack(parsed.name)
            resource = self.all.get(current)
            if resource is None:
                break
            current = resource.parent
        # The chain left the known resources: fall back to the URN's type chain and name prefix.
        parsed = parse_urn(current or urn)
        if parsed and APP_COMPONENT in parsed.ancestor_types:
            return self.key_by_name_prefix(parsed.name)
        return None

    def key_by_name_prefix(self, name: str) -> str | None:
        """The app key whose component name (``<stack>-<key>``) prefixes ``name``, longest first."""
        for key in sorted(self.app_keys, key=lambda k: (-len(k), k)):
            component = f"{self.stack}-{key}"
            if name == component or name.startswith(component + "-"):
                return key
        for key in sorted(self.app_keys, key=lambda k: (-len(k), k)):
            if name == key or name.startswith(key + "-"):
                return key
        return None

    def resources_of(self, key: str, *, own_only: bool = True) -> list[Resource]:
        pool = self.own if own_only else self.all
        return [r for urn, r in sorted(pool.items()) if self.owner(urn) == key]


def _first(resources: Iterable[Resource], *types: str) -> Resource | None:
    return next((r for r in resources if r.type in types), None)


def _client_ids(index: _Index) -> dict[str, str]:
    """Client id → app key for the apps of this plan (and its context)."""
    ids: dict[str, str] = {}
    for key in index.app_keys:
        for resource in index.resources_of(key, own_only=False):
            if resource.type in (APPLICATION, APPLICATION_REGISTRATION):
                client_id = as_str(resource.prop("clientId"))
                if client_id and not is_unknown(client_id):
                    ids[client_id.lower()] = key
    return ids


def _scopes_of(index: _Index, key: str, *, own_only: bool = False) -> list[ScopeRow]:
    rows: dict[str, ScopeRow] = {}
    for resource in index.resources_of(key, own_only=own_only):
        if resource.type == APPLICATION:
            for scope in as_list(dig(resource.inputs, "api", "oauth2PermissionScopes")):
                row = _scope_row(as_map(scope))
                rows[row.id or row.value] = row
        elif resource.type == PERMISSION_SCOPE:
            row = _scope_row({**resource.inputs, "id": resource.inputs.get("scopeId")})
            rows[row.id or row.value] = row
    return [rows[k] for k in sorted(rows)]


def _scope_row(scope: Mapping[str, Any]) -> ScopeRow:
    enabled = scope.get("enabled", scope.get("isEnabled", True))
    return ScopeRow(
        id=as_str(scope.get("id")),
        value=as_str(scope.get("value")),
        type=as_str(scope.get("type")) or "User",
        enabled=enabled is not False,
        admin_consent_display_name=as_str(scope.get("adminConsentDisplayName")),
    )


def _app_roles_of(resources: Iterable[Resource]) -> list[AppRoleRow]:
    rows: list[AppRoleRow] = []
    for resource in resources:
        if resource.type != APPLICATION:
            continue
        for role in as_list(resource.inputs.get("appRoles")):
            role_map = as_map(role)
            rows.append(
                AppRoleRow(
                    id=as_str(role_map.get("id")),
                    value=as_str(role_map.get("value")),
                    allowed_member_types=str_list(role_map.get("allowedMemberTypes")),
                    enabled=role_map.get("enabled", True) is not False,
                )
            )
    return sorted(rows, key=lambda r: (r.value, r.id))


def _reason_for(
    config: Mapping[str, Any], catalog: Catalog, api_id: str, value: str, kind: Kind
) -> str | None:
    for entry in as_list(config.get("permissions")):
        entry_map = as_map(entry)
        if as_str(entry_map.get("permission")) != value or as_str(entry_map.get("type")) != kind:
            continue
        api_name = as_str(entry_map.get("api"))
        api = catalog.find_api(api_name) if api_name else None
        if (api is not None and api.app_id.lower() == api_id.lower()) or (
            api_name.lower() == api_id.lower()
        ):
            return as_str(entry_map.get("reason"))
    return None


def _scope_reason(config: Mapping[str, Any], api_key: str, value: str) -> str | None:
    for entry in as_list(config.get("requiredScopes")):
        entry_map = as_map(entry)
        if as_str(entry_map.get("app")) == api_key and as_str(entry_map.get("scope")) == value:
            return as_str(entry_map.get("reason"))
    return None


NO_REASON = "(no reason given)"
UNDECLARED = "(not declared in the app definitions)"
NOT_MATCHED = "(id not in catalog: no declared reason can match it)"
REASON_UNKNOWN = "(reason not known: no app definitions in this input)"


def _api_accesses(resources: Iterable[Resource]) -> Iterator[tuple[Resource, str, str, Kind]]:
    """(resource, api client id, permission id, kind) for every required permission."""
    for resource in resources:
        if resource.type == API_ACCESS:
            api_id = as_str(resource.inputs.get("apiClientId"))
            for role in as_list(resource.inputs.get("roleIds")):
                yield resource, api_id, as_str(role), "application"
            for scope in as_list(resource.inputs.get("scopeIds")):
                yield resource, api_id, as_str(scope), "delegated"
        elif resource.type in (APPLICATION, APPLICATION_REGISTRATION):
            for access in as_list(resource.inputs.get("requiredResourceAccesses")):
                access_map = as_map(access)
                api_id = as_str(access_map.get("resourceAppId"))
                for item in as_list(access_map.get("resourceAccesses")):
                    item_map = as_map(item)
                    kind: Kind = "application" if item_map.get("type") == "Role" else "delegated"
                    yield resource, api_id, as_str(item_map.get("id")), kind


def _in_plan_api(
    *,
    index: _Index,
    catalog: Catalog,
    client_ids: Mapping[str, str],
    resource: Resource,
    api_id: str,
    owner: str,
) -> str | None:
    """The app key of the plan's app that ``api_id`` names, if it is one of them."""
    if api_id.lower() in client_ids:
        return client_ids[api_id.lower()]
    if catalog.find_api(api_id) is not None:
        return None
    # A client id the plan does not record (unknown until apply, or no outputs): the access
    # resource depends on the other app's registration.
    for dependency in resource.dependencies:
        key = index.owner(dependency)
        dep = index.all.get(dependency)
        if (
            key
            and key != owner
            and (dep is None or dep.type in (APPLICATION, APPLICATION_REGISTRATION))
        ):
            return key
    return None


def _permission_rows(
    index: _Index,
    catalog: Catalog,
    client_ids: Mapping[str, str],
    key: str,
    resources: Sequence[Resource],
) -> tuple[list[PermissionRow], list[str]]:
    declared = index.apps_config.get(key)
    config: Mapping[str, Any] = declared if declared is not None else {}
    rows: dict[tuple[str, str, str], PermissionRow] = {}
    notes: list[str] = []
    for resource, api_id, permission_id, kind in _api_accesses(resources):
        in_plan = _in_plan_api(
            index=index,
            catalog=catalog,
            client_ids=client_ids,
            resource=resource,
            api_id=api_id,
            owner=key,
        )
        if in_plan is not None:
            row = _in_plan_row(
                index=index,
                config=config,
                api_key=in_plan,
                api_id=api_id,
                permission_id=permission_id,
                kind=kind,
                resource=resource,
            )
        else:
            row = _catalog_row(
                catalog=catalog,
                config=config,
                api_id=api_id,
                permission_id=permission_id,
                kind=kind,
                resource=resource,
            )
        rows[row.key] = row
    for entry in as_list(config.get("permissions")):
        entry_map = as_map(entry)
        wanted = (
            as_str(entry_map.get("api")),
            as_str(entry_map.get("permission")),
            as_str(entry_map.get("type")),
        )
        api = catalog.find_api(wanted[0]) if wanted[0] else None
        api_id = str(api.app_id).lower() if api is not None else wanted[0].lower()
        if not any(
            r.api_id.lower() == api_id and r.permission == wanted[1] and r.kind == wanted[2]
            for r in rows.values()
        ):
            notes.append(
                f"declared but not in the plan: {wanted[0]} `{wanted[1]}` ({wanted[2]})"
                + (" — the API is retired" if api is not None and bool(api.retired) else "")
            )
    found = sorted(rows.values(), key=PermissionRow.sort_key)
    if declared is None:
        found = [dataclasses.replace(r, reason=REASON_UNKNOWN) if r.known else r for r in found]
    return found, notes


def _in_plan_row(
    *,
    index: _Index,
    config: Mapping[str, Any],
    api_key: str,
    api_id: str,
    permission_id: str,
    kind: Kind,
    resource: Resource,
) -> PermissionRow:
    scopes = {s.id.lower(): s for s in _scopes_of(index, api_key)}
    roles = {r.id.lower(): r for r in _app_roles_of(index.resources_of(api_key, own_only=False))}
    value = permission_id
    known = False
    admin = None
    risk = "high"
    if kind == "delegated" and permission_id.lower() in scopes:
        scope = scopes[permission_id.lower()]
        value, known = scope.value, True
        admin = scope.type == "Admin"
        risk = "medium" if admin else "low"
    elif kind == "application" and permission_id.lower() in roles:
        value, known, admin, risk = roles[permission_id.lower()].value, True, True, "medium"
    reason = _scope_reason(config, api_key, value) if known else None
    return PermissionRow(
        api=api_key,
        api_id=api_id if api_id and not is_unknown(api_id) else f"app:{api_key}",
        permission=value,
        permission_id=permission_id,
        kind=kind,
        admin_consent=admin,
        risk=risk,
        high_privilege=False,
        known=known,
        csp_allowed=None,
        retired=False,
        in_plan_api=api_key,
        reason=(reason or NO_REASON) if reason is not None else UNDECLARED,
        urn=resource.urn,
    )


def _catalog_row(
    *,
    catalog: Catalog,
    config: Mapping[str, Any],
    api_id: str,
    permission_id: str,
    kind: Kind,
    resource: Resource,
) -> PermissionRow:
    api = catalog.find_api(api_id) if api_id and not is_unknown(api_id) else None
    permission = catalog.by_id(api_id, permission_id, kind) if api is not None else None
    api_name = (
        str(api.name)
        if api is not None
        else ("(API known after apply)" if is_unknown(api_id) else f"{api_id} (API not in catalog)")
    )
    retired = bool(api.retired) if api is not None else False
    if permission is None:
        return PermissionRow(
            api=api_name,
            api_id=api_id,
            permission=permission_id,
            permission_id=permission_id,
            kind=kind,
            admin_consent=None,
            risk="high",
            high_privilege=False,
            known=False,
            csp_allowed=None,
            retired=retired,
            in_plan_api=None,
            reason=NOT_MATCHED,
            urn=resource.urn,
        )
    value = str(permission.value)
    reason = _reason_for(config, catalog, api_id, value, kind)
    return PermissionRow(
        api=str(permission.api.name),
        api_id=api_id,
        permission=value,
        permission_id=permission_id,
        kind=permission.kind,
        admin_consent=bool(permission.admin_consent),
        risk=str(permission.risk),
        high_privilege=bool(permission.high_privilege),
        known=True,
        csp_allowed=bool(permission.csp_allowed),
        retired=retired,
        in_plan_api=None,
        reason=UNDECLARED if reason is None else (reason or NO_REASON),
        urn=resource.urn,
    )


def _credentials(resources: Iterable[Resource]) -> list[CredentialRow]:
    rows: list[CredentialRow] = []
    for resource in resources:
        if resource.type == PASSWORD:
            kind = "client secret"
            rotation = as_str(dig(resource.inputs, "rotateWhenChanged", "rotationDate"))
        elif resource.type == CERTIFICATE:
            kind = f"certificate ({as_str(resource.inputs.get('type')) or 'unspecified'})"
            rotation = ""
        elif resource.type == FEDERATED_CREDENTIAL:
            kind = "federated credential"
            rotation = ""
        else:
            continue
        rows.append(
            CredentialRow(
                kind=kind,
                name=resource.name,
                display_name=as_str(resource.inputs.get("displayName")),
                end_date=format_date(resource.prop("endDate")) or "(none)",
                rotation_date=format_date(rotation),
                urn=resource.urn,
                protect=resource.protect,
            )
        )
    return sorted(rows, key=lambda r: (r.kind, r.name))


def _secret_row(resource: Resource, app: str | None) -> SecretRow:
    properties = as_map(resource.inputs.get("properties"))
    return SecretRow(
        secret_name=as_str(resource.inputs.get("secretName")) or resource.name,
        vault_name=as_str(resource.inputs.get("vaultName")),
        content_type=as_str(properties.get("contentType")),
        expires=format_unix(dig(properties, "attributes", "expires")) or "(none)",
        value_managed=not any(
            path in ("properties.value", "properties", "properties.value.*")
            for path in resource.ignore_changes
        ),
        app=app,
        urn=resource.urn,
        protect=resource.protect,
    )


def _secret_owner(index: _Index, resource: Resource) -> str | None:
    owner = index.owner(resource.urn)
    if owner:
        return owner
    for dependency in resource.dependencies:
        key = index.owner(dependency)
        if key:
            return key
    name = as_str(resource.inputs.get("secretName")) or resource.name
    return index.key_by_name_prefix(name)


def _vaults(index: _Index, secrets: Sequence[SecretRow]) -> list[VaultView]:
    views: list[VaultView] = []
    own = list(index.own.values())
    assignments = [r for r in own if r.type == ROLE_ASSIGNMENT]
    for resource in own:
        if resource.type != VAULT:
            continue
        name = as_str(resource.inputs.get("vaultName")) or resource.name
        settings = tuple(
            (path, show_value(value))
            for path, value in flatten(as_map(resource.inputs.get("properties")))
            if path
        )
        role_rows = [
            _role_row(r)
            for r in assignments
            if name.lower() in as_str(r.inputs.get("scope")).lower()
            or resource.urn in r.dependencies
            or (r.parent is not None and r.parent == resource.parent)
        ]
        views.append(
            VaultView(
                name=name,
                resource_group=as_str(resource.inputs.get("resourceGroupName")),
                location=as_str(resource.inputs.get("location")),
                settings=settings,
                urn=resource.urn,
                protect=resource.protect,
                secrets=tuple(
                    s for s in secrets if s.vault_name in (name, "") or is_unknown(s.vault_name)
                ),
                role_assignments=tuple(sorted(role_rows, key=lambda r: (r.role, r.principal_id))),
            )
        )
    return sorted(views, key=lambda v: v.name)


def _role_row(resource: Resource) -> RoleAssignmentRow:
    definition = as_str(resource.inputs.get("roleDefinitionId"))
    guid = definition.rsplit("/", 1)[-1].lower()
    return RoleAssignmentRow(
        name=resource.name,
        role=KEY_VAULT_ROLES.get(guid, definition),
        principal_id=as_str(resource.inputs.get("principalId")),
        principal_type=as_str(resource.inputs.get("principalType")),
        scope=as_str(resource.inputs.get("scope")),
        urn=resource.urn,
    )


def _client_refs(client_ids: Mapping[str, str], values: Iterable[str]) -> tuple[ClientRef, ...]:
    refs = {
        ClientRef(client_id=value, app=client_ids.get(value.lower())) for value in values if value
    }
    return tuple(sorted(refs, key=lambda r: (r.app or "~", r.client_id)))


def analyze(plan: Plan, catalog: Catalog, context: Plan | None = None) -> StackView:
    """Analyse one stack. ``context`` (a full plan) resolves what a partial ``plan`` lacks."""
    index = _Index(plan, context)
    client_ids = _client_ids(index)
    all_secrets = [
        _secret_row(r, _secret_owner(index, r))
        for r in index.own.values()
        if r.type == VAULT_SECRET
    ]
    apps: list[AppView] = []
    for key in index.app_keys:
        own = index.resources_of(key)
        config = index.apps_config.get(key, {})
        if not own and key not in plan.apps:
            continue
        apps.append(
            _app_view(
                index=index,
                catalog=catalog,
                client_ids=client_ids,
                key=key,
                own=own,
                config=config,
                all_secrets=all_secrets,
            )
        )
    providers = [
        ProviderRow(
            name=r.name,
            package=r.type.removeprefix("pulumi:providers:"),
            tenant_id=as_str(r.inputs.get("tenantId")),
            settings=tuple(
                (k, show_value(v)) for k, v in flatten(dict(r.inputs)) if k and k != "version"
            ),
            urn=r.urn,
        )
        for r in index.own.values()
        if r.type.startswith("pulumi:providers:")
    ]
    notes = []
    tenant = as_str(plan.region.get("tenantId"))
    for provider in providers:
        if tenant and provider.tenant_id and provider.tenant_id.lower() != tenant.lower():
            notes.append(
                f"provider `{provider.name}` reaches tenant `{provider.tenant_id}`, "
                f"not the region's tenant `{tenant}`"
            )
    return StackView(
        plan=plan,
        apps=tuple(apps),
        vaults=tuple(_vaults(index, all_secrets)),
        providers=tuple(sorted(providers, key=lambda p: p.name)),
        unassigned_secrets=tuple(
            sorted((s for s in all_secrets if s.app is None), key=lambda s: s.secret_name)
        ),
        notes=tuple(notes),
    )


def _app_view(
    *,
    index: _Index,
    catalog: Catalog,
    client_ids: Mapping[str, str],
    key: str,
    own: Sequence[Resource],
    config: Mapping[str, Any],
    all_secrets: Sequence[SecretRow],
) -> AppView:
    application = _first(own, APPLICATION, APPLICATION_REGISTRATION)
    inputs = application.inputs if application else {}
    identifier_uris = set(str_list(inputs.get("identifierUris")))
    redirect_uris = set(str_list(dig(inputs, "web", "redirectUris")))
    redirect_uris |= set(str_list(dig(inputs, "singlePageApplication", "redirectUris")))
    redirect_uris |= set(str_list(dig(inputs, "publicClient", "redirectUris")))
    known = set(str_list(dig(inputs, "api", "knownClientApplications")))
    pre_authorized: set[str] = set()
    for resource in own:
        if resource.type == IDENTIFIER_URI:
            identifier_uris.add(as_str(resource.inputs.get("identifierUri")))
        elif resource.type == REDIRECT_URIS:
            redirect_uris |= set(str_list(resource.inputs.get("redirectUris")))
        elif resource.type == KNOWN_CLIENTS:
            known |= set(str_list(resource.inputs.get("knownClientIds")))
        elif resource.type == PRE_AUTHORIZED:
            pre_authorized.add(as_str(resource.inputs.get("authorizedClientId")))
    for item in as_list(dig(inputs, "api", "preAuthorizedApplications")):
        pre_authorized.add(as_str(as_map(item).get("applicationId")))
    sp = _first(own, SERVICE_PRINCIPAL)
    sp_object_id = as_str(sp.prop("objectId")) if sp else ""
    notes: list[str] = []
    admin_agents: list[str] = []
    for member in (r for r in own if r.type == GROUP_MEMBER):
        admin_agents.append(as_str(member.inputs.get("groupObjectId")) or "(unknown group)")
        member_id = as_str(member.inputs.get("memberObjectId"))
        if (
            sp_object_id
            and member_id
            and not is_unknown(sp_object_id)
            and not is_unknown(member_id)
            and member_id.lower() != sp_object_id.lower()
        ):
            notes.append(
                f"group member `{member.name}` adds `{member_id}`, "
                f"not this app's service principal `{sp_object_id}`"
            )
    permissions, permission_notes = _permission_rows(index, catalog, client_ids, key, own)
    notes.extend(permission_notes)
    if not own:
        notes.append("declared, but this stack has no resources for it")
    implicit = as_map(dig(inputs, "web", "implicitGrant"))
    access = implicit.get(
        "accessTokenIssuanceEnabled", inputs.get("implicitAccessTokenIssuanceEnabled")
    )
    id_tokens = implicit.get("idTokenIssuanceEnabled", inputs.get("implicitIdTokenIssuanceEnabled"))
    client_id = as_str(application.prop("clientId")) if application else ""
    return AppView(
        key=key,
        display_name=as_str(inputs.get("displayName")) or as_str(config.get("displayName")) or key,
        component_urn=next((r.urn for r in own if r.type == APP_COMPONENT), None),
        application_urn=application.urn if application else None,
        client_id=client_id or None,
        sign_in_audience=as_str(inputs.get("signInAudience")),
        identifier_uris=tuple(sorted(u for u in identifier_uris if u)),
        redirect_uris=tuple(sorted(u for u in redirect_uris if u)),
        homepage_url=as_str(dig(inputs, "web", "homepageUrl") or inputs.get("homepageUrl")),
        implicit_access_tokens=access if isinstance(access, bool) else None,
        implicit_id_tokens=id_tokens if isinstance(id_tokens, bool) else None,
        scopes=tuple(_scopes_of(index, key, own_only=True)),
        app_roles=tuple(_app_roles_of(own)),
        known_clients=_client_refs(client_ids, known),
        pre_authorized=_client_refs(client_ids, pre_authorized),
        permissions=tuple(permissions),
        service_principal_urn=sp.urn if sp else None,
        service_principal_object_id=sp_object_id or None,
        app_role_assignment_required=(
            sp.inputs.get("appRoleAssignmentRequired")
            if sp and isinstance(sp.inputs.get("appRoleAssignmentRequired"), bool)
            else None
        ),
        admin_agents=tuple(sorted(admin_agents)),
        credentials=tuple(_credentials(own)),
        secrets=tuple(
            sorted((s for s in all_secrets if s.app == key), key=lambda s: s.secret_name)
        ),
        resources=tuple(own),
        notes=tuple(sorted(notes)),
        protected=any(r.protect for r in own),
    )


# --------------------------------------------------------------------------------------------
# Markdown helpers
# --------------------------------------------------------------------------------------------

_CELL_ESCAPES = str.maketrans({"|": "\\|", "\n": " ", "\r": " "})


def cell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    text = value if isinstance(value, str) else show_value(value)
    return text.translate(_CELL_ESCAPES)


def code(value: Any) -> str:
    """Inline code that survives backticks in the value."""
    text = value if isinstance(value, str) else show_value(value)
    if not text:
        return "—"
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}".translate(_CELL_ESCAPES)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A Markdown table (rows as given; callers sort)."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines.extend("| " + " | ".join(cell(c) for c in row) + " |" for row in rows)
    return lines


def yes_no(value: bool | None) -> str:
    """'yes', 'no' or 'not set'."""
    if value is None:
        return "not set"
    return "yes" if value else "no"


def join_words(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


_SLUG = re.compile(r"[^A-Za-z0-9_]+")


def node_id(prefix: str, name: str) -> str:
    """A Mermaid-safe node id."""
    return f"{prefix}_{_SLUG.sub('_', name).strip('_') or 'x'}"


def mermaid_label(text: str) -> str:
    """A Mermaid node label in double quotes."""
    return '"' + text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;") + '"'


def write_text(path: Path, text: str) -> None:
    """Write ``text`` with LF line endings, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
