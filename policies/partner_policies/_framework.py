"""The small layer every policy of the pack is written with.

* ``PolicySpec`` holds what an auditor reads (name, description, severity, default enforcement,
  remediation, URL, references to public checks) and the policy's config schema, so metadata is
  declared once and checked by the registry tests;
* ``resource_policy``, ``property_policy`` and ``stack_policy`` turn a spec and a plain check
  function into the pulumi-policy SDK's own policy objects;
* ``plain`` copies the SDK's property proxies into plain dicts and lists. The SDK raises
  ``UnknownValueError`` when a policy touches a value not known during preview; here such values
  become ``UNKNOWN`` so a check can skip them explicitly instead of aborting the whole policy.

Checks return messages; the wrappers report them. A message names the resource and the fix
(``<resource name>: <problem> Fix: <what to change>``) because the CLI prints it under the
policy's description, next to the URN.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final, Literal, cast

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyProviderResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceRemediation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    Severity,
    StackValidation,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

GUID_RE: Final = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)

_UNKNOWN_SENTINELS: Final = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)


class _Unknown:
    """A value the engine does not know yet (preview); checks skip it rather than guess."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Final = _Unknown()


def is_unknown(value: object) -> bool:
    return value is UNKNOWN


def plain(value: object) -> Any:
    """A plain copy of a props tree: dicts, lists and scalars, unknown values as ``UNKNOWN``.

    Works on the SDK's proxies (which raise on unknown values) and on plain data alike.
    """
    if isinstance(value, Secret):
        return plain(value.value)
    if isinstance(value, str):
        return UNKNOWN if value in _UNKNOWN_SENTINELS else value
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key in value:
            try:
                item = value[key]
            except UnknownValueError:
                result[str(key)] = UNKNOWN
                continue
            result[str(key)] = plain(item)
        return result
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def stored(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """A props mapping as the SDK stored it, secrets still wrapped in ``Secret``.

    In a remediation the SDK's proxies unwrap ``Secret`` values on every read; their
    ``"__target"`` key (which the SDK's own serializer uses) gives the stored mapping. A plain
    mapping is returned as is.
    """
    try:
        target = value["__target"]
    except KeyError:
        return value
    return target if isinstance(target, Mapping) else value


def get(data: Any, *path: str) -> Any:
    """The value at ``path``; ``None`` when absent, ``UNKNOWN`` when it (or a parent) is unknown."""
    current = data
    for key in path:
        if current is UNKNOWN:
            return UNKNOWN
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def items_of(value: Any) -> list[Any]:
    """A list prop as a list (``[]`` if absent or not a list); unknown entries stay ``UNKNOWN``."""
    return list(value) if isinstance(value, list) else []


def as_bool(value: Any) -> bool | None:
    """A boolean prop; provider config arrives as strings, so "true"/"false" count too."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def as_text(value: Any) -> str | None:
    """A string prop with surrounding blanks removed; ``None`` for anything else."""
    return value.strip() if isinstance(value, str) else None


def normalize_location(value: str) -> str:
    """``East US`` and ``eastus`` are the same Azure location."""
    return value.replace(" ", "").lower()


# --- Metadata ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """A public check or source document a policy corresponds to."""

    source: str
    title: str
    url: str
    id: str = ""

    def label(self) -> str:
        return f"{self.source} {self.id}".strip()

    def __str__(self) -> str:
        return f"{self.label()}: {self.title}"


Loosening = Literal["add", "remove", "increase", "decrease", "enable", "disable"]


@dataclass(frozen=True)
class ConfigProperty:
    """One property of a policy's config (a standard policy config file sets it)."""

    name: str
    schema: Mapping[str, Any]
    required: bool = False
    # Which change makes the policy accept more (the plan diff marks it "weaker" and
    # `--fail-on-weakened` fails on it): "add" / "remove" for lists, "increase" / "decrease"
    # for numbers, "enable" / "disable" for booleans. None: a value that identifies the region
    # (tenant, subscription...) — any change is shown, with no direction.
    loosens: Loosening | None = None

    @property
    def default(self) -> Any:
        return self.schema.get("default")


@dataclass(frozen=True)
class PolicySpec:
    """Everything an auditor reads about a policy, declared once."""

    name: str
    description: str
    severity: Severity
    enforcement: EnforcementLevel
    remediation: str
    url: str
    references: tuple[Reference, ...]
    applies_to: tuple[str, ...]
    config: tuple[ConfigProperty, ...] = ()
    tags: tuple[str, ...] = field(default=())

    def config_schema(self) -> PolicyConfigSchema | None:
        if not self.config:
            return None
        required = [prop.name for prop in self.config if prop.required]
        return PolicyConfigSchema(
            properties={prop.name: dict(prop.schema) for prop in self.config},
            required=required or None,
        )

    def all_tags(self) -> list[str]:
        """Area tags plus the ids of the public checks, so Pulumi Cloud can filter by either."""
        ids = [ref.id for ref in self.references if ref.id]
        return sorted({*self.tags, *ids})

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "severity": self.severity.value,
            "enforcementLevel": self.enforcement.value,
            "remediation": self.remediation,
            "url": self.url,
            "references": [str(ref) for ref in self.references],
            "referenceUrls": [ref.url for ref in self.references],
            "appliesTo": list(self.applies_to),
            "config": {
                prop.name: {
                    "required": prop.required,
                    "default": prop.default,
                    "description": prop.schema.get("description", ""),
                }
                for prop in self.config
            },
        }


class PolicyConfigError(ValueError):
    """A policy's config is missing a required property or has a value of the wrong type."""


def effective_config(spec: PolicySpec, given: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults from the schema, overlaid with the given config (what the engine hands a policy)."""
    result = {prop.name: prop.default for prop in spec.config if prop.default is not None}
    result.update({key: value for key, value in given.items() if key != "enforcementLevel"})
    missing = [prop.name for prop in spec.config if prop.required and prop.name not in result]
    if missing:
        raise PolicyConfigError(
            f"{spec.name}: {', '.join(missing)} is required; run with "
            "--policy-pack-config policies/config/<region>.json"
        )
    return result


def violation(resource: str, problem: str, fix: str) -> str:
    """The message format of every violation: who, what, how to fix it."""
    return f"{resource}: {problem} Fix: {fix}"


def matches_type(resource_type: str, patterns: Iterable[str]) -> bool:
    """Exact type tokens, or ``prefix*`` for every type of a provider."""
    for pattern in patterns:
        if pattern.endswith("*"):
            if resource_type.startswith(pattern[:-1]):
                return True
        elif resource_type == pattern:
            return True
    return False


# --- Resource policies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceContext:
    """One resource as a check sees it: plain props, the policy's config, options, provider."""

    type: str
    name: str
    urn: str
    props: dict[str, Any]
    config: Mapping[str, Any]
    opts: PolicyResourceOptions
    provider: PolicyProviderResource | None

    def violation(self, problem: str, fix: str) -> str:
        return violation(self.name, problem, fix)


ResourceCheck = Callable[[ResourceContext], Iterable[str]]


def _sdk_kwargs(spec: PolicySpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "description": spec.description,
        "enforcement_level": spec.enforcement,
        "config_schema": spec.config_schema(),
        "severity": spec.severity,
        "tags": spec.all_tags(),
        "remediation_steps": spec.remediation,
        "url": spec.url,
    }


class PackResourcePolicy(ResourceValidationPolicy):
    """The SDK's resource policy, carrying the spec it was built from (for the registry).

    ``remediate`` is the SDK's remediation callback: the engine calls it only for policies at
    enforcement level ``remediate``, before validation, with inputs whose secrets arrive as
    ``pulumi_policy.Secret``; the properties it returns replace the resource's inputs.
    """

    def __init__(
        self,
        spec: PolicySpec,
        validate: ResourceValidation,
        remediate: ResourceRemediation | None = None,
    ) -> None:
        super().__init__(validate=validate, remediate=remediate, **_sdk_kwargs(spec))
        self.spec = spec


class PackStackPolicy(StackValidationPolicy):
    """The SDK's stack policy, carrying the spec it was built from (for the registry)."""

    def __init__(self, spec: PolicySpec, validate: StackValidation) -> None:
        super().__init__(validate=validate, **_sdk_kwargs(spec))
        self.spec = spec


def spec_of(policy: ResourceValidationPolicy | StackValidationPolicy) -> PolicySpec:
    if isinstance(policy, PackResourcePolicy | PackStackPolicy):
        return policy.spec
    raise TypeError(f"{policy.name} was not built from a PolicySpec")


Remediation = Callable[[ResourceValidationArgs], Mapping[str, Any] | None]


def resource_policy(
    spec: PolicySpec, check: ResourceCheck, remediate: Remediation | None = None
) -> PackResourcePolicy:
    """A resource validation policy that runs ``check`` on the resource types of ``spec``.

    ``remediate`` returns new inputs or ``None``. The SDK types remediations as returning an
    awaitable, but its servicer takes a plain mapping as well (``Remediate`` uses a
    non-awaitable result as is), which keeps remediations callable directly in tests.
    """

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if not matches_type(args.resource_type, spec.applies_to):
            return
        context = ResourceContext(
            type=args.resource_type,
            name=args.name,
            urn=args.urn,
            props=plain(args.props),
            config=effective_config(spec, args.get_config()),
            opts=args.opts,
            provider=args.provider,
        )
        for message in check(context):
            report(message, None)

    return PackResourcePolicy(spec, validate, cast(ResourceRemediation | None, remediate))


def describe_value(value: Any) -> str:
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # numbers arrive as floats on the wire
    return repr(value)


def property_policy(
    spec: PolicySpec,
    *,
    path: tuple[str, ...],
    accept: Callable[[Any, Mapping[str, Any]], bool],
    when_missing: Any,
    expectation: str,
    fix: str,
) -> PackResourcePolicy:
    """A declarative "property must be X" policy.

    ``when_missing`` is what the provider or ARM uses when the program leaves the property out
    (for example ``publicNetworkAccess: Enabled``); it is checked like any other value, so a
    missing property never passes by accident.
    """
    dotted = ".".join(path)

    def check(resource: ResourceContext) -> Iterable[str]:
        value = get(resource.props, *path)
        if value is UNKNOWN:
            return
        effective = when_missing if value is None else value
        if accept(effective, resource.config):
            return
        shown = describe_value(value)
        if value is None and when_missing is not None:
            shown += f" (the provider default is {describe_value(when_missing)})"
        yield resource.violation(f"{dotted} is {shown}; {expectation}.", fix)

    return resource_policy(spec, check)


# --- Stack policies ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackResource:
    """One resource of the stack: its outputs as plain data, options and provider.

    ``property_dependencies`` maps a top-level input property to the URNs of the resources its
    value came from (the engine's ``propertyDependencies``). A value that is unknown in a first
    preview (a new app's client id) can still be traced to the resource that will produce it.
    """

    type: str
    name: str
    urn: str
    props: dict[str, Any]
    opts: PolicyResourceOptions
    provider: PolicyProviderResource | None
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def depends_on(self, prop: str) -> tuple[str, ...]:
        """URNs the top-level property ``prop`` was computed from (empty when none or unknown)."""
        return self.property_dependencies.get(prop, ())


@dataclass(frozen=True)
class StackContext:
    resources: tuple[StackResource, ...]
    config: Mapping[str, Any]

    def of_type(self, *types: str) -> list[StackResource]:
        """The resources of these types (``prefix*`` patterns too), in stack order.

        Checks ask per app (``of_type`` inside a loop over the applications); scanning every
        resource each time made a stack policy quadratic in the apps, so each type's resources
        are listed once.
        """
        selection = self._of_type.get(types)
        if selection is None:
            by_type = self._by_type
            matched = [typ for typ in by_type if matches_type(typ, types)]
            selection = tuple(r for typ in matched for r in by_type[typ])
            if len(matched) > 1:  # several types: back into stack order
                order = self._order
                selection = tuple(sorted(selection, key=lambda r: order[id(r)]))
            self._of_type[types] = selection
        return list(selection)

    @cached_property
    def _by_type(self) -> dict[str, tuple[StackResource, ...]]:
        grouped: dict[str, list[StackResource]] = {}
        for resource in self.resources:
            grouped.setdefault(resource.type, []).append(resource)
        return {typ: tuple(items) for typ, items in grouped.items()}

    @cached_property
    def _order(self) -> dict[int, int]:
        return {id(resource): index for index, resource in enumerate(self.resources)}

    @cached_property
    def _of_type(self) -> dict[tuple[str, ...], tuple[StackResource, ...]]:
        return {}

    @cached_property
    def types_by_urn(self) -> dict[str, str]:
        return {r.urn: r.type for r in self.resources}


StackCheck = Callable[[StackContext], Iterable[tuple[str, str | None]]]


def stack_policy(spec: PolicySpec, check: StackCheck) -> PackStackPolicy:
    """A stack validation policy; ``check`` yields ``(message, urn or None)``."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        context = StackContext(
            resources=tuple(
                StackResource(
                    type=r.resource_type,
                    name=r.name,
                    urn=r.urn,
                    props=plain(r.props),
                    opts=r.opts,
                    provider=r.provider,
                    property_dependencies={
                        prop: tuple(dep.urn for dep in deps)
                        for prop, deps in (r.property_dependencies or {}).items()
                    },
                )
                for r in args.resources
            ),
            config=effective_config(spec, args.get_config()),
        )
        for message, urn in check(context):
            report(message, urn)

    return PackStackPolicy(spec, validate)
