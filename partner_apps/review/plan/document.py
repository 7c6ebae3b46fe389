"""The plan format: read, check and scrub the JSON plans the offline preview records.

A *plan* is the JSON file the offline preview records per stack (``build/preview/<stack>.json``):
the program's resources as the engine would register them (camelCase inputs, secrets already
shown as ``"[secret]"``), the ``apps`` block with the reason of every permission, and the policy
violations. This module reads plans and preview failures (``<stack>.error.json``), with a second
line of defence for secrets: values the plan marks secret (``additionalSecretOutputs``, the
provider's known secret properties, Pulumi's secret envelope) are replaced by ``"[secret]"`` when
the plan is read, and any such raw value found elsewhere in the plan is scrubbed too, so no
renderer can print one.

The analysis of a plan is ``review.analysis.views``; values as text are ``review.plan.values``.
Everything is sorted and nothing reads the clock: the same plan always gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from policies.partner_policies import catalog as permissions
from policies.partner_policies.catalog import Api, Kind, Permission

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
# Permission catalog (policies/partner_policies/catalog.py), as this module uses it
# --------------------------------------------------------------------------------------------


class Catalog(Protocol):
    """What the reports use of the catalog module (the module itself satisfies it)."""

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
    # Names this resource had before a rename (Pulumi aliases), as the program declared them.
    alias_names: tuple[str, ...] = ()

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
    # The region's effective policy config properties, when the plan records them.
    properties: Mapping[str, Any] = field(default_factory=dict)


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
    # Ids the offline preview's mocks made up (the plan's ``assignedAtDeploy``), lower case.
    assigned_at_deploy: frozenset[str] = frozenset()

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
        alias_names=str_list(state.get("aliasNames")),
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
                        properties=dict(as_map(entry.get("properties"))),
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
        assigned_at_deploy=frozenset(
            v.lower() for v in as_list(document.get("assignedAtDeploy")) if isinstance(v, str)
        ),
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
        assigned_at_deploy=plan.assigned_at_deploy,
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
    """``fail`` (a violation of a policy that is not advisory there), ``reported`` (findings of
    an advisory policy: what it reports by design, e.g. every high-privilege grant, allow-listed
    or not), ``disabled``, ``pass``, or ``not run`` (not in the list)."""
    if violations:
        return (
            "reported" if policy is not None and policy.enforcement_level == "advisory" else "fail"
        )
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

    @property
    def summary(self) -> str:
        """One line, for the commands that read the preview's output after it printed the whole
        message (each problem is printed once): its first line and where the rest is."""
        first = (self.error.strip().splitlines() or ["(no message)"])[0].strip()
        where = f" (the whole message: {self.source})" if self.source else ""
        return f"preview failed: {first}{where}"


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


def read_text(path: Path) -> str:
    """A file's UTF-8 text; PlanError names the file (and the byte) when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise PlanError(f"{path}: cannot read ({error.strerror or error})") from error
    except UnicodeDecodeError as error:
        raise PlanError(
            f"{path}: not UTF-8 (byte 0x{error.object[error.start]:02x} at offset {error.start})"
        ) from error


def read_json(path: Path) -> Any:
    """Parse a JSON file; PlanError names the file when it cannot."""
    text = read_text(path)
    try:
        return json.loads(text)
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
