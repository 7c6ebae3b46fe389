"""customers/<stack>.yaml with GDAP templates and customer states (issue 30 item 1): what is
refused names file, key and rule, changes nothing; the JSON Schema is the model's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from partner_apps import exitcodes
from partner_apps.customers import customer_file, entra_roles
from partner_apps.customers.region import load_selection
from partner_apps.sandbox.customer_world import CustomerWorld
from tests.conftest import ROOT

GROUP = "11111111-2222-3333-4444-555555555555"
OTHER_GROUP = "66666666-7777-8888-9999-000000000000"


def _template(**extra: Any) -> dict[str, Any]:
    return {
        "groups": {GROUP: ["Cloud Application Administrator", "Privileged Role Administrator"]},
        "duration": "P730D",
        "autoExtendDuration": "P180D",
        **extra,
    }


def _write(project: Path, stack: str, document: dict[str, Any]) -> None:
    (project / "customers").mkdir(exist_ok=True)
    (project / "customers" / f"{stack}.yaml").write_text(yaml.safe_dump(document))


def _project(cw: CustomerWorld, tmp_path: Path, files: dict[str, dict[str, Any]]) -> Path:
    project = shutil.copytree(cw.project_dir, tmp_path / "project")
    for stack, document in files.items():
        _write(project, stack, document)
    cw.project_dir = project
    return project


def test_the_committed_customer_files_still_read_as_before() -> None:
    for stack in ("us", "eu"):
        selection = load_selection(ROOT, stack)
        assert (selection.include, selection.exclude, selection.lifecycle) == ((), (), None)


def test_the_committed_schema_is_the_models() -> None:
    committed = json.loads((ROOT / "schema" / "customers.schema.json").read_text("utf-8"))
    assert committed == customer_file.schema(), (
        "schema/customers.schema.json is stale: write customer_file.schema() to it"
    )


def test_a_template_for_every_customer_and_one_customer_offboarded_read_back(
    tmp_path: Path,
) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: x\n")
    tenant = "c1000000-0000-0000-0000-000000000001"
    _write(
        tmp_path,
        "us",
        {
            "gdap": {"templates": {"consent": _template()}, "default": "consent"},
            "customers": {tenant: {"state": "offboard"}},
        },
    )
    lifecycle = load_selection(tmp_path, "us").lifecycle
    assert lifecycle is not None
    name, template = lifecycle.template_of("c1000000-0000-0000-0000-0000000000ff") or ("", None)
    assert name == "consent"
    assert template is not None
    assert template.role_ids() == {
        entra_roles.BY_NAME["Cloud Application Administrator"],
        entra_roles.BY_NAME["Privileged Role Administrator"],
    }
    assert lifecycle.offboarding(tenant.upper())
    assert lifecycle.gdap.expiry_warning_days == 30


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"gdap": {"templates": {"t": _template(duration="P731D")}}},
            "customers/us.yaml: gdap.templates.t.duration: 'P731D': a GDAP "
            "relationship lasts 1 to 730 days",
        ),
        (
            {"gdap": {"templates": {"t": _template(duration="P2Y")}}},
            "gdap.templates.t.duration: 'P2Y' is not a duration in days",
        ),
        (
            {
                "gdap": {
                    "templates": {
                        "t": _template(
                            groups={GROUP: ["Global Administrator"]}, autoExtendDuration="PT0S"
                        )
                    }
                }
            },
            "customers/us.yaml: gdap.templates.t: grants Global Administrator: set "
            "allowGlobalAdministrator: true",
        ),
        (
            {
                "gdap": {
                    "templates": {
                        "t": _template(
                            groups={GROUP: ["Global Administrator"]},
                            autoExtendDuration="PT0S",
                            allowGlobalAdministrator=True,
                        )
                    }
                }
            },
            "gdap.templates.t: grants Global Administrator: globalAdministratorReason is required",
        ),
        (
            {
                "gdap": {
                    "templates": {
                        "t": _template(
                            groups={GROUP: ["Global Administrator"]},
                            allowGlobalAdministrator=True,
                            globalAdministratorReason="break-glass for the migration project",
                        )
                    }
                }
            },
            "Partner Center does not auto-extend a relationship with Global Administrator",
        ),
        (
            {"gdap": {"templates": {"t": _template(groups={GROUP: ["Cloud App Admin"]})}}},
            f"gdap.templates.t.groups.{GROUP}[0]: 'Cloud App Admin' is not a "
            "Microsoft Entra built-in role",
        ),
        (
            {"gdap": {"templates": {"t": _template(groups={GROUP: ["global reader"]})}}},
            "(did you mean 'Global Reader'?)",
        ),
        (
            {"gdap": {"templates": {"t": _template(autoExtendDuration="P90D")}}},
            "gdap.templates.t.autoExtendDuration: Input should be 'PT0S', 'P0D' or 'P180D'",
        ),
        (
            {"gdap": {"templates": {"t": _template()}, "default": "missing"}},
            "customers/us.yaml: gdap: default: 'missing' is not a template",
        ),
        (
            {"customers": {"c1000000-0000-0000-0000-000000000001": {"template": "nope"}}},
            "customers/us.yaml: customers.c1000000-0000-0000-0000-000000000001.template: 'nope' "
            "is not a template of gdap.templates",
        ),
        (
            {"customers": {"c1000000-0000-0000-0000-000000000001": {"state": "gone"}}},
            "customers.c1000000-0000-0000-0000-000000000001.state: Input should be 'active' or "
            "'offboard'",
        ),
        (
            {"gdap": {"templates": {"t": _template(groups={"not-a-guid": ["Global Reader"]})}}},
            "gdap.templates.t.groups.not-a-guid",
        ),
    ],
    ids=[
        "over-730-days",
        "not-in-days",
        "global-admin-not-allowed",
        "global-admin-without-reason",
        "global-admin-auto-extended",
        "not-a-built-in-role",
        "a-role-in-the-wrong-case",
        "an-undocumented-auto-extend",
        "an-undefined-default",
        "an-undefined-template",
        "an-unknown-state",
        "a-group-that-is-not-an-object-id",
    ],
)
def test_a_gdap_file_that_breaks_a_rule_is_refused_naming_file_key_and_rule(
    cw: CustomerWorld, tmp_path: Path, document: dict[str, Any], message: str
) -> None:
    _project(cw, tmp_path, {"us": document})
    for verb in ("plan", "apply"):
        result = cw.run("customers", verb, "--stack", "us")
        assert result.code == exitcodes.CONFIG, result.err
        assert message in result.err, result.err
        assert "Traceback" not in result.out + result.err
    assert cw.cloud.requests == [] or cw.writes() == []
    assert cw.cloud.consent_posts == []


def test_a_customer_or_group_in_two_regions_files_is_refused_before_any_write(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    us_customer = cw.customers["us"][0]
    template = {"templates": {"t": _template()}}
    _project(
        cw,
        tmp_path,
        {
            "us": {"gdap": template},
            "eu": {"gdap": template, "customers": {us_customer: {"state": "offboard"}}},
        },
    )
    result = cw.run("customers", "plan", "--stack", "us")
    assert result.code == exitcodes.CONFIG, result.err
    assert f"{us_customer} is listed by region eu" in result.err
    assert f"group {GROUP} is a group of region eu's partner tenant" in result.err
    assert cw.writes() == []
