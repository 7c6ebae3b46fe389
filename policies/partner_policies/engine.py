"""Run the pack in-process on recorded resources, as the Pulumi engine would run it.

The offline preview (no CLI here) records what the program registers: for each resource its
``urn``, ``type``, ``name``, ``parent``, ``provider`` (``"<provider urn>::<provider id>"``),
``protect``, ``inputs`` and ``outputs`` (and, when recorded, ``ignoreChanges``,
``additionalSecretOutputs``, ``dependencies`` and ``propertyDependencies``: input property ->
URNs of the resources its value came from). ``evaluate_policies`` builds the SDK's own argument
objects from them and calls each policy's ``validate`` the way the SDK's analyzer server does:

* config is reconciled like the CLI does with ``--policy-pack-config``: schema defaults, then the
  top-level ``"all"`` enforcement level, then per-policy entries; a required property that is
  missing or a value of the wrong type is an error (the CLI refuses to start);
* the evaluation date (an argument, never the clock) reaches every policy whose config schema
  declares ``evaluationDate`` as that property, unless the config file pins it;
* ``disabled`` policies are skipped, ``remediate`` is reported as ``mandatory``;
* resource policies get a resource's inputs and its provider's inputs; stack policies get every
  resource's outputs (overlaid on its inputs, because a real provider echoes inputs in outputs
  while a mock may not), parent, dependencies and property dependencies;
* values go through the SDK's own wire decoding: a recorded ``"[secret]"`` becomes Pulumi's secret
  envelope, which the SDK unwraps to the plain value for validation (pulumi-policy hands policies
  plain values), so a policy sees the string ``"[secret]"`` where the engine would show the real
  value; ``"[unknown]"`` and the engine's unknown sentinels become unknowns the SDK proxies guard;
  numbers become floats, as they do on the wire;
* a policy that touches an unknown value yields the SDK's advisory "can't run policy ... during
  preview" diagnostic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from inspect import isawaitable
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, deserialize_properties
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from ._framework import PolicyConfigError

Policy = ResourceValidationPolicy | StackValidationPolicy

EVALUATION_DATE: Final = "evaluationDate"
SECRET_MARKER: Final = "[secret]"
# The Python SDK always reports this pack version in diagnostics (the CLI reads PulumiPolicy.yaml).
SDK_PACK_VERSION: Final = "0.0.1"
UNKNOWN_MARKER: Final = "[unknown]"
_LEVELS: Final = {level.value: level for level in EnforcementLevel}
_JSON_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


@dataclass(frozen=True)
class PolicySettings:
    enforcement: EnforcementLevel
    properties: dict[str, Any]


# --- Config --------------------------------------------------------------------------------------


def _level(value: object, where: str) -> EnforcementLevel:
    if isinstance(value, str) and value in _LEVELS:
        return _LEVELS[value]
    raise PolicyConfigError(f"parsing enforcement level for {where!r}: {value!r} is not valid")


def _has_type(value: Any, expected: str) -> bool:
    if expected == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if expected == "integer":
        return isinstance(value, int | float) and float(value).is_integer()
    return isinstance(value, _JSON_TYPES[expected])


def _type_errors(name: str, value: Any, schema: Mapping[str, Any]) -> list[str]:
    """The JSON-schema checks the CLI applies to policy config (type, bounds, item types)."""
    expected = schema.get("type")
    if isinstance(expected, str) and expected in _JSON_TYPES and not _has_type(value, expected):
        return [f"{name}: Invalid type. Expected: {expected}, given: {type(value).__name__}"]
    errors: list[str] = []
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{name}: Must be greater than or equal to {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{name}: Must be less than or equal to {schema['maximum']}")
    items = schema.get("items")
    if isinstance(value, list) and isinstance(items, Mapping):
        for i, item in enumerate(value):
            errors.extend(_type_errors(f"{name}.{i}", item, items))
    return errors


def reconcile_config(
    policies: Sequence[Policy],
    config: Mapping[str, Any],
    pack_level: EnforcementLevel = EnforcementLevel.ADVISORY,
) -> dict[str, PolicySettings]:
    """Each policy's enforcement level and properties, as the CLI computes them."""
    given: dict[str, tuple[EnforcementLevel | None, dict[str, Any]]] = {}
    for key, value in config.items():
        if isinstance(value, str):
            given[key] = (_level(value, key), {})
        elif isinstance(value, Mapping):
            props = {k: v for k, v in value.items() if k != "enforcementLevel"}
            level = _level(value["enforcementLevel"], key) if "enforcementLevel" in value else None
            given[key] = (level, props)
        else:
            raise PolicyConfigError(f"parsing {key!r}: must be a string or an object")

    all_level = given.get("all", (None, {}))[0]
    result: dict[str, PolicySettings] = {}
    errors: list[str] = []
    for policy in policies:
        schema = policy.config_schema
        schema_props = schema.properties if schema is not None else {}
        props = {k: v["default"] for k, v in schema_props.items() if "default" in v}
        level = policy.enforcement_level or pack_level
        level = all_level or level
        own_level, own_props = given.get(policy.name, (None, {}))
        level = own_level or level
        props.update(own_props)
        for required in (schema.required or []) if schema is not None else []:
            if required not in props:
                errors.append(f"{policy.name}: {required} is required")
        for name, value in props.items():
            if name in schema_props:
                errors.extend(
                    f"{policy.name}: {e}" for e in _type_errors(name, value, schema_props[name])
                )
        result[policy.name] = PolicySettings(level, props)
    if errors:
        raise PolicyConfigError("policy pack configuration is invalid: " + "; ".join(errors))
    return result


# --- Wire form -----------------------------------------------------------------------------------


def to_wire(value: Any) -> Any:
    """A recorded value in the form the engine sends it (secret envelopes, unknowns, floats)."""
    if value == SECRET_MARKER:
        return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": SECRET_MARKER}
    if value == UNKNOWN_MARKER:
        return UNKNOWN_STRING_VALUE
    if isinstance(value, Mapping):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def policy_props(value: Mapping[str, Any] | None) -> Any:
    """What a policy receives: the SDK's decoding of the wire form, behind its unknown guard."""
    return _Wire(value).props()


class _Wire:
    """A record's inputs in wire form, converted on first use and then kept (it is only read)."""

    def __init__(self, inputs: Mapping[str, Any] | None) -> None:
        self._inputs = inputs
        self._wire: dict[str, Any] | None = None

    def props(self) -> Any:
        """Freshly decoded props behind the SDK's unknown guard (a new tree on every call)."""
        if self._wire is None:
            self._wire = to_wire(dict(self._inputs or {}))
        return unknown_checking_proxy(deserialize_properties(self._wire))


# What the SDK's constructor is handed before ``_ResourceArgs`` makes the real options.
_NO_OPTIONS: Final = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


class _ResourceArgs(ResourceValidationArgs):
    """The SDK's ``ResourceValidationArgs`` whose ``props`` (and ``opts``) are made when a policy
    reads them.

    The SDK's servicer decodes a resource's properties afresh for every policy, so no policy sees
    another's changes; so does this, but only for the policies that read them. Most resource
    policies check ``resource_type`` and return, and decoding every resource for every policy was
    half of a preview's policy time (docs/benchmark.md).
    """

    def __init__(
        self,
        wire: _Wire,
        record: Mapping[str, Any],
        *,
        provider: PolicyProviderResource | None,
        config: Mapping[str, Any] | None,
    ) -> None:
        self._wire = wire
        self._record = record
        super().__init__(
            str(record["type"]),
            {},
            str(record["urn"]),
            str(record["name"]),
            _NO_OPTIONS,
            provider,
            config,
            {},
        )
        # The SDK's constructor assigned the placeholders through the setters: make both on
        # first read.
        self._props: Mapping[str, Any] | None = None
        self._opts: PolicyResourceOptions | None = None

    @property
    def props(self) -> Mapping[str, Any]:
        if self._props is None:
            self._props = self._wire.props()
        return self._props

    @props.setter
    def props(self, value: Mapping[str, Any]) -> None:
        self._props = value

    @property
    def opts(self) -> PolicyResourceOptions:
        if self._opts is None:
            self._opts = _options(self._record)
        return self._opts

    @opts.setter
    def opts(self, value: PolicyResourceOptions) -> None:
        self._opts = value


# --- Records -------------------------------------------------------------------------------------


def _options(record: Mapping[str, Any]) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=bool(record.get("protect", False)),
        ignore_changes=list(record.get("ignoreChanges") or []),
        delete_before_replace=record.get("deleteBeforeReplace"),
        aliases=list(record.get("aliases") or []),
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=list(record.get("additionalSecretOutputs") or []),
        parent=record.get("parent") or None,
    )


def _provider_urn(reference: str) -> str:
    """``"<urn>::<id>"`` -> ``<urn>`` (URNs contain ``::`` too; the id is the last part)."""
    urn, sep, _id = reference.rpartition("::")
    return urn if sep and urn.startswith("urn:pulumi:") and urn.count("::") >= 3 else reference


def _providers(records: Sequence[Mapping[str, Any]]) -> dict[str, PolicyProviderResource]:
    by_urn = {str(r["urn"]): r for r in records}
    found: dict[str, PolicyProviderResource] = {}
    for record in records:
        reference = record.get("provider")
        if not reference:
            continue
        urn = _provider_urn(str(reference))
        if urn in found:
            continue
        provider = by_urn.get(urn)
        if provider is not None:
            props = provider.get("inputs") or provider.get("outputs") or {}
            found[urn] = PolicyProviderResource(
                str(provider["type"]), policy_props(props), urn, str(provider["name"])
            )
        else:
            parts = urn.split("::")
            kind = parts[-2].rsplit("$", 1)[-1] if len(parts) >= 2 else ""
            found[urn] = PolicyProviderResource(kind, policy_props({}), urn, parts[-1])
    return found


def _provider_of(
    record: Mapping[str, Any], providers: Mapping[str, PolicyProviderResource]
) -> PolicyProviderResource | None:
    reference = record.get("provider")
    return providers.get(_provider_urn(str(reference))) if reference else None


def _stack_resources(
    records: Sequence[Mapping[str, Any]], providers: Mapping[str, PolicyProviderResource]
) -> list[PolicyResource]:
    resources: dict[str, PolicyResource] = {}
    for record in records:
        props = {**(record.get("inputs") or {}), **(record.get("outputs") or {})}
        urn = str(record["urn"])
        resources[urn] = PolicyResource(
            str(record["type"]),
            policy_props(props),
            urn,
            str(record["name"]),
            _options(record),
            _provider_of(record, providers),
            None,
            [],
            {},
        )
    # Parents, dependencies and property dependencies become resource objects, as the SDK's
    # servicer builds them from AnalyzeStackRequest (URNs outside the stack are dropped).
    for record in records:
        resource = resources[str(record["urn"])]
        parent = record.get("parent")
        if parent and parent in resources:
            resource.parent = resources[parent]
        resource.dependencies.extend(
            resources[d] for d in record.get("dependencies") or [] if d in resources
        )
        for prop, urns in (record.get("propertyDependencies") or {}).items():
            resource.property_dependencies[str(prop)] = [
                resources[u] for u in urns or [] if u in resources
            ]
    return list(resources.values())


# --- Running -------------------------------------------------------------------------------------


class _Collector:
    def __init__(self, policy: Policy, level: EnforcementLevel, default_urn: str) -> None:
        self.policy, self.level, self.default_urn = policy, level, default_urn
        self.found: list[dict[str, str]] = []

    def report(self, message: str, urn: str | None = None) -> None:
        self.add(message, urn or self.default_urn, self.level)

    def add(self, message: str, urn: str, level: EnforcementLevel) -> None:
        severity = self.policy.severity.value if self.policy.severity else ""
        self.found.append(
            {
                "policy": self.policy.name,
                "severity": severity,
                "enforcementLevel": level.value,
                "urn": urn,
                "message": message,
            }
        )


def _run(policy: Policy, args: Any, collector: _Collector, pack: str) -> None:
    try:
        result = policy.validate(args, collector.report)
        if isawaitable(result):
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(result)
            finally:
                loop.close()
    except UnknownValueError as error:
        collector.add(
            f"can't run policy '{policy.name}' from policy pack '{pack}@v{SDK_PACK_VERSION}' "
            "during preview: "
            f"{error.message}",
            collector.default_urn,
            EnforcementLevel.ADVISORY,
        )
    except _NotApplicableError:
        pass


def _with_evaluation_date(
    policy: Policy, properties: Mapping[str, Any], evaluation_date: date
) -> dict[str, Any]:
    """The policy's properties, with ``evaluationDate`` where it declares one and none is set."""
    result = dict(properties)
    schema = policy.config_schema
    if schema is not None and EVALUATION_DATE in schema.properties:
        result.setdefault(EVALUATION_DATE, evaluation_date.isoformat())
    return result


def evaluate_policies(
    policies: Sequence[Policy],
    resources: Iterable[Mapping[str, Any]],
    config: Mapping[str, Any],
    *,
    evaluation_date: date,
    pack: str = "csp-partner-apps",
    pack_level: EnforcementLevel = EnforcementLevel.ADVISORY,
    settings: Mapping[str, PolicySettings] | None = None,
) -> list[dict[str, str]]:
    """Violations ``{"policy", "severity", "enforcementLevel", "urn", "message"}``, sorted.

    ``settings``: ``config`` already reconciled (``reconcile_config``), when the caller needs the
    settings too (the offline preview records each policy's enforcement): reconciled once.

    ``evaluation_date`` is 'today' for the policies' date checks: the same records, config and
    date always give the same violations.
    """
    records = [r for r in resources if r.get("type") != "pulumi:pulumi:Stack"]
    if settings is None:
        settings = reconcile_config(policies, config, pack_level)
    providers = _providers(records)
    # Each record's wire form, made once when a policy first reads the record's props.
    wires = [_Wire(record.get("inputs")) for record in records]
    stack_resources: list[PolicyResource] | None = None
    found: list[dict[str, str]] = []
    for policy in policies:
        setting = settings[policy.name]
        if setting.enforcement == EnforcementLevel.DISABLED:
            continue
        level = setting.enforcement
        if level == EnforcementLevel.REMEDIATE:
            level = EnforcementLevel.MANDATORY
        policy_config = _with_evaluation_date(policy, setting.properties, evaluation_date) or None
        if isinstance(policy, ResourceValidationPolicy):
            for record, wire in zip(records, wires, strict=True):
                collector = _Collector(policy, level, str(record["urn"]))
                args = _ResourceArgs(
                    wire,
                    record,
                    provider=_provider_of(record, providers),
                    config=policy_config,
                )
                _run(policy, args, collector, pack)
                found.extend(collector.found)
        else:
            if stack_resources is None:
                stack_resources = _stack_resources(records, providers)
            collector = _Collector(policy, level, "")
            _run(policy, StackValidationArgs(stack_resources, policy_config, {}), collector, pack)
            found.extend(collector.found)
    return sorted(found, key=lambda v: (v["urn"], v["policy"], v["message"]))
