"""``partner-apps``: one entry point, ``--help`` on every level, tools as subcommands."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from partner_apps import cli, exitcodes

ROOT = Path(__file__).resolve().parent.parent
SUBCOMMANDS = ("preview", "diff", "audit", "preview-json", "benchmark", "generate", "sam")
SAM_VERBS = ("consent", "refresh", "status")


def _help(*argv: str) -> str:
    """What ``--help`` prints (argparse writes it to sys.stdout); it must exit 0."""
    out = io.StringIO()
    original = sys.stdout
    sys.stdout = out
    try:
        code = cli.main([*argv, "--help"])
    except SystemExit as stop:  # a tool's own parser exits itself
        code = stop.code if isinstance(stop.code, int) else 1
    finally:
        sys.stdout = original
    assert code == 0
    return out.getvalue()


def test_top_level_help_lists_every_subcommand_and_exit_code() -> None:
    text = _help()
    for name in SUBCOMMANDS:
        assert re.search(rf"^\s+{re.escape(name)}\b", text, re.MULTILINE), name
    for code, _ in exitcodes.TABLE:
        assert re.search(rf"^\s+{code}\s", text, re.MULTILINE), code


def test_sam_help_on_every_level() -> None:
    sam = _help("sam")
    for verb in SAM_VERBS:
        assert verb in sam
    assert "vault refuses public traffic" in sam
    assert "--device-code" in _help("sam", "consent")
    assert "--force" in _help("sam", "consent")
    assert "--stack" in _help("sam", "refresh")
    assert "--warn-days" in _help("sam", "status")


@pytest.mark.parametrize(("name", "module"), [(k, v[0]) for k, v in cli.TOOLS.items()])
def test_tools_are_subcommands(name: str, module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[list[str], str | None]] = []

    def fake_main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
        seen.append((list(argv or []), prog))
        return 3

    monkeypatch.setattr(f"{module}.main", fake_main)
    assert cli.main([name, "--some", "arg"]) == 3
    assert seen == [(["--some", "arg"], f"partner-apps {name}")]


def test_tool_help_is_the_tools_own() -> None:
    shown = _help("diff")
    assert shown.startswith("usage: partner-apps diff ")
    assert "--fail-on-weakened" in shown  # the tool's own options


def test_usage_errors_exit_2() -> None:
    err = io.StringIO()
    original = sys.stderr
    sys.stderr = err
    try:
        assert cli.main(["sam", "refresh"]) == exitcodes.USAGE  # --stack is required
        assert cli.main(["nonsense"]) == exitcodes.USAGE
    finally:
        sys.stderr = original
    assert "--stack" in err.getvalue()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["customers", "plan", "--stack", "us", "--workers", "0"],
            "--workers: 0 must be at least 1",
        ),
        (
            ["customers", "apply", "--stack", "us", "--timeout", "0"],
            "--timeout: 0 must be a number",
        ),
        (["customers", "plan", "--stack", "us", "--timeout", "nan"], "--timeout: nan must be"),
        (["customers", "verify", "--stack", "us", "--attempts", "-1"], "--attempts: -1 must be"),
        (["customers", "verify", "--stack", "us", "--recent-minutes", "-5"], "--recent-minutes"),
        (
            ["customers", "routing-part", "--stack", "us", "--timeout", "-1"],
            "--timeout: -1 must be",
        ),
        (["sam", "status", "--warn-days", "-3"], "--warn-days: -3 must be 0 or more"),
        (["sam", "status", "--warn-days", "soon"], "--warn-days: 'soon' is not a whole number"),
    ],
    ids=["workers-0", "timeout-0", "timeout-nan", "attempts", "recent", "export", "days", "word"],
)
def test_counts_and_durations_out_of_range_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused by the parser (exit 2, before any file or request), not a ThreadPoolExecutor or
    urllib3 ValueError later, nor a run that retries zero times."""
    assert cli.main(argv) == exitcodes.USAGE
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err


def test_console_script_and_module_entry_points() -> None:
    scripts = {ep.name: ep.value for ep in metadata.entry_points(group="console_scripts")}
    assert scripts.get("partner-apps") == "partner_apps.cli:main"
    done = subprocess.run(
        [sys.executable, "-m", "partner_apps", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert "sam" in done.stdout


def test_the_docs_document_the_sam_commands_and_every_exit_code() -> None:
    """docs/sam-token.md names every `sam` verb; docs/exit-codes.md, the one exit-code table,
    has a row for every code of exitcodes.TABLE."""
    sam_doc = (ROOT / "docs" / "sam-token.md").read_text(encoding="utf-8")
    for verb in SAM_VERBS:
        assert f"partner-apps sam {verb}" in sam_doc
    exit_codes = (ROOT / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    for code, _ in exitcodes.TABLE:
        assert re.search(rf"^\| `{code}` \|", exit_codes, re.MULTILINE), code
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        assert "a separate process keeps it fresh" not in text, page.name
        assert "let the consent process do it" not in text, page.name


def test_the_real_runtime_is_quiet_off_a_terminal(tmp_path: Path) -> None:
    """Off a terminal: no progress lines, no confirmation prompt (a second consent is refused),
    and --no-browser opens nothing; endpoints and outputs are the real defaults or --outputs."""
    from azure.identity import DefaultAzureCredential

    from partner_apps.sam import flows
    from partner_apps.sam.target import Endpoints, RegionTarget

    args = cli._parser().parse_args(
        ["sam", "consent", "--stack", "us", "--no-browser", "--outputs", str(tmp_path)]
    )
    runtime = cli._runtime(args, io.StringIO(), io.StringIO())
    assert runtime.progress is False
    assert runtime.confirm is None
    assert runtime.open_browser("https://example.invalid/") is None
    assert runtime.outputs("us") is None  # no us.json in the folder
    target = RegionTarget(
        stack="us",
        tenant_id="3f6b1c2d-4e5a-4b7c-8d9e-0a1b2c3d4e51",
        app_key="partner-center-sam",
        display_name="SAM",
        client_id="client",
        vault_name="kv-cspapps-us-01",
        vault_url="https://kv-cspapps-us-01.vault.azure.net",
        endpoints=Endpoints(),
    )
    assert isinstance(flows.default_credential(target), DefaultAzureCredential)


def test_status_reports_a_region_it_cannot_resolve(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(
        ["sam", "status", "--stack", "apac", "--outputs", str(tmp_path)], out=out, err=err
    )
    assert code == exitcodes.CONFIG
    # An error, not a state read: on stderr, and nothing on stdout (the report).
    assert "region apac" in err.getvalue()
    assert "no stack file Pulumi.apac.yaml" in err.getvalue()
    assert out.getvalue() == ""


@pytest.mark.parametrize("command", sorted(cli.TOOLS))
def test_a_tool_subcommand_names_itself_as_typed_in_its_usage(
    command: str,
) -> None:
    shown = _help(command)
    assert shown.startswith(f"usage: partner-apps {command} "), shown.splitlines()[0]
    assert "python -m tools." not in shown.splitlines()[0]
