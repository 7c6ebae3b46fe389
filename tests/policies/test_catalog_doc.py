"""docs/policy-catalog.md is generated from the policies and committed; it must be current."""

from __future__ import annotations

from policies.partner_policies import ALL_POLICIES, POLICY_SPECS
from policies.partner_policies.catalog_doc import CATALOG_PATH, current


def test_committed_catalog_is_current() -> None:
    assert CATALOG_PATH.is_file(), "docs/policy-catalog.md is missing: run make generate"
    assert CATALOG_PATH.read_text("utf-8") == current(), (
        "docs/policy-catalog.md is stale: run make generate"
    )


def test_catalog_has_one_row_per_policy_with_its_metadata() -> None:
    text = current()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    table_rows = [row for row in rows if row.count(" | ") >= 7]
    assert len(table_rows) == len(ALL_POLICIES)
    for policy in ALL_POLICIES:
        (row,) = [r for r in table_rows if r.startswith(f"| `{policy.name}` |")]
        spec = POLICY_SPECS[policy.name]
        assert f"| {spec.severity.value} | {spec.enforcement.value} |" in row
        assert spec.url in row
        assert all(ref.url in row for ref in spec.references)


def test_catalog_documents_every_config_property() -> None:
    text = current()
    for spec in POLICY_SPECS.values():
        for prop in spec.config:
            assert f"| `{prop.name}` |" in text
