"""Redirect hosts outside the region's reach are marked in review (issue 27 item 5).

Each attack edits apps.yaml in a copy of the project (redirect URIs are shared by every region),
previews it offline as CI does, and reads the diff against the base's plans: a redirect URI on a
tunnel host or off the verified domains is a ⚠ risk line and an advisory finding of the
redirect-host policy in each region's plan. The honest variants (the committed files, a redirect on
a verified domain, a host added to the reviewed allow-list) pass with no ⚠ on the redirect.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from partner_apps.preview import command as preview
from partner_apps.preview import policy_config
from partner_apps.review.commands import diff
from tests.conftest import ROOT, STACKS, copy_project, edit_yaml, preview_args

POLICY = "azuread-application-redirect-uris-verified-hosts"
APP = "partner-portal-web"


def _project(folder: Path) -> Path:
    folder.mkdir()
    project = copy_project(folder)
    shutil.copytree(ROOT / "policies" / "reviewed", project / "policies" / "reviewed")
    return project


def _generate(project: Path) -> None:
    """`make generate`, as far as the policy configs go."""
    for relative, content in policy_config.rendered_configs(project).items():
        (project / relative).write_text(content, encoding="utf-8")


def _plans(project: Path, out: Path) -> Path:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = preview.main(preview_args(project, out))
    assert code == 0, f"the preview of {project} failed with exit code {code}"
    return out / "preview"


def _findings(plans: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for stack in STACKS:
        plan = json.loads((plans / f"{stack}.json").read_text(encoding="utf-8"))
        found += [v for v in plan["violations"] if v["policy"] == POLICY]
    return found


@pytest.fixture(scope="module")
def base_plans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("base")
    return _plans(_project(folder / "project"), folder / "out")


def _review(
    tmp_path: Path, base: Path, uri: str, also: Callable[[Path], None] = lambda _: None
) -> tuple[str, list[dict[str, Any]]]:
    project = _project(tmp_path / "project")
    edit_yaml(project / "apps.yaml", lambda d: d["apps"][APP]["redirectUris"].append(uri))
    also(project)
    head = _plans(project, tmp_path / "out")
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert diff.main([str(base), str(head)]) == 0
    return output.getvalue(), _findings(head)


def _redirect_lines(text: str, uri: str) -> list[str]:
    return [line for line in text.splitlines() if f"redirect URI `{uri}`" in line]


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("https://x.ngrok-free.app/callback", "a tunnel or paste host"),
        ("https://quiet-river.trycloudflare.com/signin-oidc", "a tunnel or paste host"),
        ("https://login.unverified.example/signin-oidc", "outside the region's verified domains"),
    ],
)
def test_a_redirect_outside_the_verified_domains_is_a_risk_and_a_finding(
    tmp_path: Path, base_plans: Path, uri: str, why: str
) -> None:
    text, findings = _review(tmp_path, base_plans, uri)
    lines = _redirect_lines(text, uri)
    assert lines, f"apps.yaml {APP}.redirectUris: the diff does not name {uri}"
    for line in lines:
        assert "⚠ risk" in line, f"apps.yaml {APP}.redirectUris: {uri} not flagged: {line}"
        assert why in line.lower() or why in line
    regions = sorted(f["urn"].split("::")[-1].split("-", 1)[0] for f in findings)
    assert regions == sorted(STACKS), f"{POLICY}: findings {findings}"
    assert all(uri in f["message"] and f["enforcementLevel"] == "advisory" for f in findings)
    assert f"advisory violation of `{POLICY}`" in text


def test_the_committed_files_have_no_redirect_finding(base_plans: Path) -> None:
    assert _findings(base_plans) == []


def test_a_redirect_on_a_verified_domain_passes_in_its_region(
    tmp_path: Path, base_plans: Path
) -> None:
    # apps.yaml is shared by every region and verified domains are each region's own: a redirect
    # on the eu tenant's domain is verified in eu, and outside the us tenant's domains.
    uri = "https://portal.eu.contoso-partner.example/signin-oidc"
    text, findings = _review(tmp_path, base_plans, uri)
    eu = [line for line in _redirect_lines(text, uri) if line.endswith(" in eu")]
    us = [line for line in _redirect_lines(text, uri) if " in us" in line]
    assert len(eu) == 1, text
    assert "⚠" not in eu[0]
    assert len(us) == 1, text
    assert "⚠ risk" in us[0]
    assert [f["urn"].split("::")[-1] for f in findings] == [f"us-{APP}-app"], findings


def test_a_host_on_the_reviewed_allow_list_passes(tmp_path: Path, base_plans: Path) -> None:
    host = "login.partner-idp.example"

    def allow(project: Path) -> None:
        path = project / "policies" / "reviewed" / "default.json"
        reviewed = json.loads(path.read_text(encoding="utf-8"))
        reviewed[POLICY]["allowedExternalHosts"].append(host)
        path.write_text(json.dumps(reviewed, indent=2) + "\n", encoding="utf-8")
        _generate(project)

    uri = f"https://{host}/signin-oidc"
    text, findings = _review(tmp_path, base_plans, uri, allow)
    (line,) = _redirect_lines(text, uri)
    assert "⚠" not in line
    assert findings == []
    # The allow-list itself grew: the reviewer sees that as loosened policy config.
    assert "allowedExternalHosts" in text


def test_a_new_app_with_a_tunnel_redirect_is_a_risk(tmp_path: Path, base_plans: Path) -> None:
    uri = "https://x.ngrok-free.app/callback"

    def add_app(project: Path) -> None:
        def change(document: Any) -> None:
            app = copy.deepcopy(document["apps"][APP])
            app["displayName"] = "Contoso Partner Portal Preview"
            app["redirectUris"] = [uri]
            document["apps"]["partner-portal-preview"] = app

        edit_yaml(project / "apps.yaml", change)

    project = _project(tmp_path / "project")
    add_app(project)
    head = _plans(project, tmp_path / "out")
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert diff.main([str(base_plans), str(head)]) == 0
    lines = _redirect_lines(output.getvalue(), uri)
    assert lines, f"apps.yaml partner-portal-preview.redirectUris: the diff does not name {uri}"
    assert all("⚠ risk" in line for line in lines), lines
    assert len(_findings(head)) == len(STACKS)
