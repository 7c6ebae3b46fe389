"""``customers/<stack>.yaml``: which customers a region serves, and how (issue 30).

Besides the ``include`` and ``exclude`` lists of tenant ids (unchanged), the file may hold the
desired GDAP state of the region's customers:

* ``gdap.templates``: named relationship templates. Each names the partner's security groups
  (object ids in this region's partner tenant) and the Microsoft Entra built-in roles (by name)
  each group gets; the relationship asks for the union of those roles. ``duration`` is ISO-8601
  days, at most ``P730D`` (Graph ``delegatedAdminRelationship.duration``: "between P1D and P2Y
  inclusive"); ``autoExtendDuration`` is one of Graph's documented values ``PT0S``/``P0D`` (no
  auto-extend) or ``P180D``.
* ``gdap.default``: the template every selected customer gets unless ``customers`` says otherwise;
  ``gdap.expiryWarningDays`` (default 30): how far ahead an expiry is reported.
* ``customers.<tenant id>``: ``template`` (overrides the default) and ``state: active | offboard``.

Refused, each naming the file, the key and the rule (exit 3, before any request): a duration over
730 days; Global Administrator without ``allowGlobalAdministrator: true`` and a
``globalAdministratorReason``; Global Administrator with auto-extend (Partner Center "Expire
granular relationships and extend GDAP": a relationship with Global Administrator is not
auto-extended); a role name that is not a built-in role; a template that is not defined. The
checks across regions (a customer or a group in two regions' files) are in ``region.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError, WithJsonSchema, model_validator

from components.config_errors import problems_from_validation
from components.files import Problem
from components.models import Guid, Model, Reason

from . import entra_roles

MAX_DAYS = 730
DEFAULT_WARNING_DAYS = 30
# Graph "delegatedAdminRelationship": autoExtendDuration "Supported values are: P0D, PT0S, P180D";
# P0D and PT0S both mean "expires at endDateTime".
NO_AUTO_EXTEND = ("PT0S", "P0D")
AUTO_EXTEND = "P180D"
_DAYS = re.compile(r"^P([0-9]{1,4})D$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$")


def _duration(value: str) -> str:
    found = _DAYS.match(value)
    if found is None:
        raise ValueError(
            f"{value!r} is not a duration in days (write P<days>D, P1D to P{MAX_DAYS}D: Graph's "
            "delegatedAdminRelationship duration)"
        )
    days = int(found.group(1))
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(
            f"{value!r}: a GDAP relationship lasts 1 to {MAX_DAYS} days (Graph: between P1D and "
            "P2Y); renew it with auto-extend (autoExtendDuration: P180D) instead"
        )
    return value


def _role(value: str) -> str:
    if entra_roles.template_id(value) is not None:
        return value
    near = entra_roles.closest(value)
    hint = f" (did you mean {near!r}?)" if near else ""
    raise ValueError(
        f"{value!r} is not a Microsoft Entra built-in role{hint}; GDAP grants built-in roles "
        "only, named as on Microsoft's 'Microsoft Entra built-in roles' page"
    )


def _template_name(value: str) -> str:
    # The relationship's displayName is built from it (at most 50 characters, unique per partner).
    if not _NAME.match(value):
        raise ValueError(
            f"{value!r}: a template name is 1-20 letters, digits, '-', '_' or '.', starting with "
            "a letter or digit (it becomes part of the relationship's display name)"
        )
    return value


Duration = Annotated[
    str,
    AfterValidator(_duration),
    WithJsonSchema({"type": "string", "pattern": "^P[0-9]{1,3}D$"}),
]
RoleName = Annotated[
    str,
    AfterValidator(_role),
    WithJsonSchema({"type": "string", "enum": sorted(entra_roles.BY_NAME)}),
]
TemplateName = Annotated[
    str,
    AfterValidator(_template_name),
    WithJsonSchema({"type": "string", "pattern": _NAME.pattern}),
]


class Template(Model):
    """A GDAP relationship template: its groups and their roles, duration and auto-extend."""

    groups: dict[Guid, list[RoleName]] = Field(
        min_length=1,
        description="Partner security group object id (in this region's partner tenant) -> the "
        "Microsoft Entra built-in roles (by name) its members get in the customer tenant.",
    )
    duration: Duration = Field(
        default=f"P{MAX_DAYS}D", description="ISO-8601 days, P1D to P730D (default P730D)."
    )
    auto_extend_duration: Literal["PT0S", "P0D", "P180D"] = Field(
        default="P180D",
        description="PT0S or P0D: expire at the end; P180D: extended by 180 days each time.",
    )
    allow_global_administrator: bool = Field(
        default=False, description="Must be true for a template that grants Global Administrator."
    )
    global_administrator_reason: Reason | None = Field(
        default=None, description="Why Global Administrator is needed (required with it)."
    )

    @model_validator(mode="after")
    def _global_administrator(self) -> Template:
        grants = any(
            entra_roles.GLOBAL_ADMINISTRATOR_NAME in roles for roles in self.groups.values()
        )
        if grants and not self.allow_global_administrator:
            raise ValueError(
                "grants Global Administrator: set allowGlobalAdministrator: true and "
                "globalAdministratorReason, or grant least-privileged roles instead"
            )
        if grants and not self.global_administrator_reason:
            raise ValueError("grants Global Administrator: globalAdministratorReason is required")
        if grants and self.auto_extend_duration == AUTO_EXTEND:
            raise ValueError(
                "grants Global Administrator with autoExtendDuration P180D: Partner Center does "
                "not auto-extend a relationship with Global Administrator; set PT0S"
            )
        for group, roles in self.groups.items():
            if not roles:
                raise ValueError(f"groups.{group}: names no role")
            if len(set(roles)) != len(roles):
                raise ValueError(f"groups.{group}: a role is listed twice")
        return self

    def role_ids(self) -> frozenset[str]:
        """The template ids of every role of every group: the relationship's accessDetails."""
        return frozenset(
            entra_roles.BY_NAME[role] for roles in self.groups.values() for role in roles
        )

    def assignments(self) -> dict[str, frozenset[str]]:
        """Group object id (lower case) -> its role template ids."""
        return {
            group.lower(): frozenset(entra_roles.BY_NAME[role] for role in roles)
            for group, roles in sorted(self.groups.items())
        }

    @property
    def auto_extends(self) -> bool:
        return self.auto_extend_duration == AUTO_EXTEND


class Gdap(Model):
    templates: dict[TemplateName, Template] = Field(
        default_factory=dict, description="Named GDAP relationship templates."
    )
    default: TemplateName | None = Field(
        default=None, description="The template of every selected customer not listed below."
    )
    expiry_warning_days: int = Field(
        default=DEFAULT_WARNING_DAYS,
        ge=1,
        le=MAX_DAYS,
        description="An active relationship ending within this many days is reported.",
    )

    @model_validator(mode="after")
    def _default_defined(self) -> Gdap:
        if self.default is not None and self.default not in self.templates:
            raise ValueError(f"default: {self.default!r} is not a template of gdap.templates")
        return self


class CustomerEntry(Model):
    template: TemplateName | None = Field(
        default=None, description="This customer's template (default: gdap.default)."
    )
    state: Literal["active", "offboard"] = Field(
        default="active",
        description="offboard: remove our apps' consents and grants, then terminate GDAP.",
    )


class Lifecycle(Model):
    """The GDAP and lifecycle part of ``customers/<stack>.yaml`` (include/exclude are read
    apart, with their own messages)."""

    gdap: Gdap = Field(default_factory=Gdap, description="GDAP relationship templates.")
    customers: dict[Guid, CustomerEntry] = Field(
        default_factory=dict, description="Customer tenant id -> its template and state."
    )

    def template_of(self, tenant: str) -> tuple[str, Template] | None:
        """The (name, template) ``tenant`` gets, or None when GDAP is not managed for it (an
        offboarded customer gets none: its relationships are terminated, not made)."""
        entry = self.entry(tenant)
        if entry is not None and entry.state == "offboard":
            return None
        name = entry.template if entry and entry.template else self.gdap.default
        if name is None:
            return None
        return name, self.gdap.templates[name]

    def entry(self, tenant: str) -> CustomerEntry | None:
        return next(
            (value for key, value in self.customers.items() if key.lower() == tenant.lower()),
            None,
        )

    def offboarding(self, tenant: str) -> bool:
        entry = self.entry(tenant)
        return entry is not None and entry.state == "offboard"

    def groups(self) -> set[str]:
        return {
            group.lower() for template in self.gdap.templates.values() for group in template.groups
        }

    @property
    def managed(self) -> bool:
        return bool(self.gdap.templates) or bool(self.customers)


class CustomersFile(Model):
    """The whole file, for its JSON Schema (``schema/customers.schema.json``)."""

    include: list[Guid] = Field(
        default_factory=list, description="Only these customer tenant ids (default: all)."
    )
    exclude: list[Guid] = Field(default_factory=list, description="Never these tenant ids.")
    gdap: Gdap = Field(default_factory=Gdap, description="GDAP relationship templates.")
    customers: dict[Guid, CustomerEntry] = Field(
        default_factory=dict, description="Customer tenant id -> its template and state."
    )


def lifecycle_problems(
    document: Mapping[str, Any], file: str
) -> tuple[Lifecycle | None, list[Problem]]:
    """Validate the ``gdap`` and ``customers`` keys; (model, []) or (None, problems)."""
    part = {key: document[key] for key in ("gdap", "customers") if key in document}
    try:
        lifecycle = Lifecycle.model_validate(part)
    except ValidationError as error:
        return None, problems_from_validation(error, file, "", Lifecycle)
    problems = [
        Problem(
            file,
            f"customers.{tenant}.template",
            f"{entry.template!r} is not a template of gdap.templates",
        )
        for tenant, entry in lifecycle.customers.items()
        if entry.template is not None and entry.template not in lifecycle.gdap.templates
    ]
    return (None, problems) if problems else (lifecycle, [])


def schema() -> dict[str, Any]:
    """The JSON Schema of ``customers/<stack>.yaml`` (``schema/customers.schema.json``)."""
    document = CustomersFile.model_json_schema(by_alias=True)
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "Customers of a region (customers/<stack>.yaml)"
    document["description"] = (
        "Generated from partner_apps/customers/customer_file.py (customer_file.schema())."
    )
    return document
