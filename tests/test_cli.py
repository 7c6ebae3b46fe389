"""``partner-apps``: one entry point, ``--help`` on every level, every command a native
subcommand of one argparse tree, one exit-code table (issue 26, item 5)."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from partner_apps import cli, exitcodes
from partner_apps.cli import base

ROOT = Path(__file__).resolve().parent.parent
SUBCOMMANDS = ("preview", "diff", "audit", "preview-json", "demo", "sam", "customers", "route")
# The review commands: declared by their own modules (build_parser), run by them (run).
REVIEW_MODULES = {
    "preview": "partner_apps.preview.command",
    "diff": "partner_apps.review.commands.diff",
    "audit": "partner_apps.review.audit",
    "preview-json": "partner_apps.review.commands.preview_json",
}
SAM_VERBS = ("consent", "refresh", "status")


def _help(*argv: str) -> str:
    """What ``--help`` prints (argparse writes it to sys.stdout); it must exit 0."""
    out = io.StringIO()
    original = sys.stdout
    sys.stdout = out
    try:
        code = cli.main([*argv, "--help"])
    finally:
        sys.stdout = original
    assert code == 0
    return out.getvalue()


def test_top_level_help_lists_every_subcommand_and_exit_code() -> None:
    text = _help()
    for name in SUBCOMMANDS:
        assert re.search(rf"^\s+{re.escape(name)}\b", text, re.MULTILINE), name
    for row in exitcodes.TABLE:
        assert re.search(rf"^\s+{row.code}\s", text, re.MULTILINE), row.code


def test_sam_help_on_every_level() -> None:
    sam = _help("sam")
    for verb in SAM_VERBS:
        assert verb in sam
    assert "vault refuses public traffic" in " ".join(sam.split())
    assert "--device-code" in _help("sam", "consent")
    assert "--force" in _help("sam", "consent")
    assert "--stack" in _help("sam", "refresh")
    assert "--warn-days" in _help("sam", "status")


@pytest.mark.parametrize(("name", "module"), sorted(REVIEW_MODULES.items()))
def test_review_commands_are_native_subcommands(
    name: str, module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Their arguments are parsed by the one tree (a wrong option is its usage error) and their
    module runs with the parsed namespace: no pass-through of raw arguments."""
    seen: list[argparse.Namespace] = []

    def fake_run(args: argparse.Namespace) -> int:
        seen.append(args)
        return exitcodes.PROTECTED

    monkeypatch.setattr(f"{module}.run", fake_run)
    positionals = {"diff": ["base", "head"], "audit": [], "preview": [], "preview-json": ["-"]}
    assert cli.main([name, *positionals[name]]) == exitcodes.PROTECTED
    assert [args.command for args in seen] == [name]
    with contextlib.redirect_stderr(io.StringIO()) as errors:
        assert cli.main([name, "--no-such-option"]) == exitcodes.USAGE
    assert errors.getvalue().startswith(f"usage: partner-apps {name} "), errors.getvalue()
    assert seen == seen[:1], "a usage error must not run the command"


def test_diff_help_shows_the_options_its_module_declares() -> None:
    shown = _help("diff")
    assert shown.startswith("usage: partner-apps diff ")
    assert "--fail-on-weakened" in shown  # declared by review/commands/diff.py


def test_developer_scripts_are_not_commands() -> None:
    """generate and benchmark are dev/ scripts (make generate, make benchmark), not in
    partner-apps --help nor accepted by it."""
    commands = _subparsers(cli.build_parser())
    assert "generate" not in commands
    assert "benchmark" not in commands
    with contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["generate", "--check"]) == exitcodes.USAGE


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
    """docs/sam-token.md names every `sam` verb."""
    sam_doc = (ROOT / "docs" / "sam-token.md").read_text(encoding="utf-8")
    for verb in SAM_VERBS:
        assert f"partner-apps sam {verb}" in sam_doc
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

    args = cli.build_parser().parse_args(
        ["sam", "consent", "--stack", "us", "--no-browser", "--outputs", str(tmp_path)]
    )
    runtime = base.default_runtime(args, io.StringIO(), io.StringIO())
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


@pytest.mark.parametrize("command", sorted(REVIEW_MODULES))
def test_a_review_command_names_itself_as_typed_in_its_usage(command: str) -> None:
    shown = _help(command)
    assert shown.startswith(f"usage: partner-apps {command} "), shown.splitlines()[0]
    assert "python -m" not in shown.splitlines()[0]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _command_paths() -> list[str]:
    """Every command and verb of the tree: ``preview``, ``sam``, ``sam status`` ..."""
    paths = []
    for name, parser in _subparsers(cli.build_parser()).items():
        paths.append(name)
        paths += [f"{name} {verb}" for verb in _subparsers(parser)]
    return paths


def _listed_codes(help_text: str) -> list[int]:
    """The codes of the ``exit codes:`` block at the end of a --help."""
    block = help_text.split("\nexit codes:\n", 1)[1]
    return [int(code) for code in re.findall(r"^\s{2,}(\d+)\s", block, re.MULTILINE)]


def _constants() -> dict[str, int]:
    """The exit-code constants of partner_apps/exitcodes.py (upper-case int names)."""
    return {
        name: value
        for name, value in vars(exitcodes).items()
        if name.isupper() and isinstance(value, int) and not isinstance(value, bool)
    }


def test_every_exit_code_is_defined_once_and_means_one_thing() -> None:
    constants = _constants()
    by_value: dict[int, list[str]] = {}
    for name, value in constants.items():
        by_value.setdefault(value, []).append(name)
    shared = {value: names for value, names in by_value.items() if len(names) > 1}
    assert not shared, f"partner_apps/exitcodes.py: codes with two names: {shared}"
    rows = [row.code for row in exitcodes.TABLE]
    assert sorted(rows) == sorted(constants.values()), (
        "partner_apps/exitcodes.py: TABLE must have one row for every constant: missing "
        f"{sorted(set(constants.values()) - set(rows))}, twice "
        f"{sorted({code for code in rows if rows.count(code) > 1})}"
    )
    for row in exitcodes.TABLE:
        for command in row.commands:
            noun = command.split()[0]
            assert noun in exitcodes.EVERY, f"exit code {row.code}: unknown command {command!r}"
    # 27-29 are the customers' GDAP lifecycle's (issue 30), 40-49 the review commands'.
    assert not set(rows) & {27, 28, 29}


def test_docs_exit_codes_has_one_row_per_code() -> None:
    text = (ROOT / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    documented = [int(code) for code in re.findall(r"^\| `(\d+)` \|", text, re.MULTILINE)]
    twice = sorted({code for code in documented if documented.count(code) > 1})
    assert not twice, f"docs/exit-codes.md: codes with more than one row: {twice}"
    assert sorted(documented) == sorted(row.code for row in exitcodes.TABLE), (
        "docs/exit-codes.md: rows must be exactly the codes of partner_apps/exitcodes.py TABLE"
    )


@pytest.mark.parametrize("path", _command_paths())
def test_each_command_help_lists_exactly_its_own_exit_codes(path: str) -> None:
    shown = _help(*path.split())
    assert shown.startswith(f"usage: partner-apps {path} "), shown.splitlines()[0]
    own = [row.code for row in exitcodes.codes(path)]
    assert _listed_codes(shown) == own, f"partner-apps {path} --help"


def test_the_top_level_help_lists_every_code_and_whose_it_is() -> None:
    shown = _help()
    assert _listed_codes(shown) == [row.code for row in exitcodes.TABLE]
    assert re.search(r"^\s+41\s+diff, preview-json: ", shown, re.MULTILINE), shown


def test_generate_help_lists_its_exit_codes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dev.generate", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert _listed_codes(done.stdout) == [row.code for row in exitcodes.codes("generate")]
    assert exitcodes.STALE in _listed_codes(done.stdout)


def test_a_command_loads_only_its_own_modules() -> None:
    """`partner-apps route --help` loads neither the Pulumi SDK nor the Microsoft clients, and
    the offline preview's own entry point (make preview) none of the command line."""
    probe = (
        "import sys, contextlib, io\n"
        "from partner_apps import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert cli.main(['route', '--help']) == 0\n"
        "print(sorted(m for m in ('pulumi', 'msal', 'azure.identity') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout
    probe = "import sys, partner_apps.preview.command\nprint('partner_apps.cli' in sys.modules)\n"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False", "partner_apps/preview imports the command line"


def test_a_command_works_on_the_project_it_runs_in(tmp_path: Path) -> None:
    """Without --project-dir: the current directory when it holds Pulumi.yaml (an installed
    wheel has no checkout around it), else the checkout partner-apps runs from."""
    from partner_apps import project_dir

    (tmp_path / "Pulumi.yaml").write_text("name: partner-apps\n", encoding="utf-8")
    assert project_dir(tmp_path) == tmp_path
    assert project_dir(tmp_path / "nothing-here") == ROOT
    args = cli.build_parser().parse_args(["sam", "status"])
    assert args.project_dir == project_dir()


def test_docs_exit_codes_names_the_commands_of_each_code() -> None:
    """The row of each code in docs/exit-codes.md has the constant's name and names every
    command TABLE gives it."""
    text = (ROOT / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    found = re.findall(r"^\| `(\d+)` \| `(\w+)` \| ([^|]*) \|", text, re.MULTILINE)
    rows = {code: cell for code, _, cell in found}
    names = {int(code): name for code, name, _ in found}
    assert names == {value: name for name, value in _constants().items()}, "docs/exit-codes.md"
    for row in exitcodes.TABLE:
        cell = rows.get(str(row.code), "")
        if row.commands == exitcodes.EVERY:
            assert cell.startswith("every command"), f"docs/exit-codes.md, code {row.code}"
            continue
        for command in row.commands:
            assert f"`{command}" in cell or f"`make {command}" in cell, (
                f"docs/exit-codes.md, code {row.code}: the commands cell does not name {command}"
            )


def test_status_outside_a_project_says_so(tmp_path: Path) -> None:
    """No stack file where it runs (an installed wheel run elsewhere): exit 3 naming the folder
    and --project-dir, not a silent 0 that reads as every token fine."""
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(
        ["sam", "status", "--project-dir", str(tmp_path), "--outputs", str(tmp_path)],
        out=out,
        err=err,
    )
    assert code == exitcodes.CONFIG
    assert f"no Pulumi.<stack>.yaml in {tmp_path}" in err.getvalue()
    assert "--project-dir" in err.getvalue()
    assert out.getvalue() == ""
