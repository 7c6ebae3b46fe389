"""The README and docs/ (issue 29, item 3): a README by audience within its budget, and every
command, file path, link and anchor they name exists.

* README.md has at most 250 lines and a section for each audience (platform teams, reviewers,
  auditors) pointing into ``docs/``;
* every command in a ```sh block or a code span — ``make X``, ``partner-apps ...`` (also
  ``.venv/bin/partner-apps`` and ``python -m partner_apps``), ``python -m X`` — exists: the make
  target in the Makefile, the subcommand (and verb) in the command line's parser, the module;
  the commands of ```sh blocks must also parse;
* every repository path in a code span (``components/...``, ``docs/...``, ``.github/...``) and
  every relative markdown link exists (placeholders ``<...>``, ``{...}`` and ``build/`` outputs
  are skipped);
* every link's anchor (``#...``) names a heading of its page, by GitHub's slug rules.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from partner_apps import cli

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = (README, *sorted((ROOT / "docs").glob("*.md")))
README_BUDGET = 250
AUDIENCES = ("Platform teams", "Reviewers", "Auditors")

# Top-level folders a path in the docs may start with (hidden ones only where the repository
# has them on purpose); build/ holds outputs, which need not exist.
TOP_FOLDERS = frozenset(
    path.name
    for path in ROOT.iterdir()
    if path.is_dir()
    and path.name not in ("build", "__pycache__")
    and (not path.name.startswith(".") or path.name in (".github", ".ci"))
)
PLACEHOLDER = re.compile(r"[<>{}*]|\.\.\.")
FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _ids(pages: tuple[Path, ...]) -> list[str]:
    return [str(page.relative_to(ROOT)) for page in pages]


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _prose(text: str) -> str:
    """The page without its fenced blocks."""
    return FENCE.sub("", text)


def _code_spans(text: str) -> list[str]:
    """Inline code outside fenced blocks, whitespace (a wrapped line) folded to one space;
    double-backtick spans (which may hold a backtick) are left out."""
    prose = re.sub(r"``.+?``", "", _prose(text), flags=re.DOTALL)
    return [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)]


def _sh_lines(text: str) -> list[str]:
    """The command lines of the ```sh blocks, comments cut."""
    lines = []
    for language, body in FENCE.findall(text):
        if language != "sh":
            continue
        for line in body.splitlines():
            command = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()
            if command:
                lines.append(command)
    return lines


def _makefile_targets() -> set[str]:
    """The Makefile's targets, with a file target written as a variable (``$(STAMP)``) expanded."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    variables = dict(re.findall(r"^(\w+)\s*[:?]?=\s*(.*?)\s*$", makefile, re.MULTILINE))

    def expand(value: str) -> str:
        return re.sub(r"\$\((\w+)\)", lambda m: expand(variables.get(m.group(1), "")), value)

    targets = re.findall(r"^([A-Za-z0-9_.$()/-]+):(?!=)", makefile, re.MULTILINE)
    return {expand(target) for target in targets}


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _cli_arguments(command: str) -> list[str] | None:
    """The arguments after the program when ``command`` runs partner-apps; None otherwise."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    for program in (["partner-apps"], [".venv/bin/partner-apps"], ["python", "-m", "partner_apps"]):
        if words[: len(program)] == program:
            return words[len(program) :]
    return None


# Modules that come with Python itself (ensurepip's pip included: the venv that `make venv`
# builds has it, the one `make preview` builds with uv does not), not with this project.
PYTHON_TOOLS = frozenset({"pip", "venv", "ensurepip"})


def _check_command(command: str, *, parse: bool) -> str | None:
    """What is wrong with one documented command, or None."""
    words = command.split()
    if not words:
        return None
    if words[0] == "make":
        missing = [
            word
            for word in words[1:]
            if "=" not in word and not word.startswith("-") and word not in _makefile_targets()
        ]
        return f"no make target {missing}" if missing else None
    arguments = _cli_arguments(command)
    if arguments is not None:
        return _check_cli(arguments, parse=parse)
    module = re.match(r"python3? -m (\S+)", command)
    if (
        module
        and not PLACEHOLDER.search(module.group(1))
        and module.group(1) not in PYTHON_TOOLS
        and importlib.util.find_spec(module.group(1)) is None
    ):
        return f"no module {module.group(1)}"
    return None


def _check_cli(arguments: list[str], *, parse: bool) -> str | None:
    """What is wrong with ``partner-apps <arguments>`` against the native tree: the command,
    its verb, and every option it names must exist there; a whole command line (``parse``, the
    lines of ```sh blocks) must parse as the command line would parse it."""
    if not arguments or arguments[0].startswith("-") or PLACEHOLDER.search(arguments[0]):
        return None
    tree = cli.build_parser()
    commands = _subparsers(tree)
    if arguments[0] not in commands:
        return f"no subcommand {arguments[0]!r} in partner-apps"
    parser = commands[arguments[0]]
    verbs = _subparsers(parser)
    if verbs and len(arguments) > 1 and not PLACEHOLDER.search(arguments[1]):
        verb = arguments[1]
        if not verb.startswith("-") and verb not in verbs and verb != "|":
            return f"no verb {verb!r} in partner-apps {arguments[0]}"
        parser = verbs.get(verb, parser)
    options = {option for action in parser._actions for option in action.option_strings}
    unknown = [
        word.split("=", 1)[0]
        for word in arguments
        if word.startswith("--") and word.split("=", 1)[0] not in options
    ]
    if unknown:
        return f"no option {unknown} in {parser.prog}"
    if parse and not any(PLACEHOLDER.search(word) for word in arguments):
        with contextlib.redirect_stderr(io.StringIO()) as errors:
            try:
                tree.parse_args(arguments)
            except SystemExit:
                return f"does not parse: {errors.getvalue().strip()}"
    return None


def _documented_commands(page: Path) -> Iterator[tuple[str, bool]]:
    text = _text(page)
    for line in _sh_lines(text):
        yield line, True
    starts = ("make ", "partner-apps ", ".venv/bin/partner-apps ", "python -m ", "python3 -m ")
    for span in _code_spans(text):
        if span.startswith(starts):
            yield span, False


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, markup and punctuation dropped (hyphens and
    underscores kept), each space a hyphen."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    anchors: set[str] = set()
    for line in _prose(_text(page)).splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match is None:
            continue
        slug = base = _slug(match.group(1))
        count = 0
        while slug in anchors:
            count += 1
            slug = f"{base}-{count}"
        anchors.add(slug)
    return anchors


def _links(page: Path) -> list[str]:
    prose = re.sub(r"`[^`]*`", "", _prose(_text(page)))
    return re.findall(r"\]\(([^)\s]+)\)", prose)


def _python_reference(span: str) -> bool:
    """``tests/conftest.committed_run``: a name in a module, written with the module's path."""
    match = re.fullmatch(r"(.+)\.(\w+)", span)
    return match is not None and (ROOT / f"{match.group(1)}.py").is_file()


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_readme_fits_its_budget_and_has_a_section_per_audience() -> None:
    text = _text(README)
    assert len(text.splitlines()) <= README_BUDGET, (
        f"README.md has {len(text.splitlines())} lines; at most {README_BUDGET}: move detail "
        "into docs/"
    )
    for audience in AUDIENCES:
        assert f"\n## {audience}\n" in text, f"README.md: no section for {audience}"
        assert "](docs/" in _section(text, audience), f"README.md, {audience}: no link to docs/"
    for command in ("make preview", "make test", "make demo"):
        assert command in text, command


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_every_command_the_docs_name_exists(page: Path) -> None:
    problems = [
        f"{command}: {problem}"
        for command, parse in _documented_commands(page)
        if (problem := _check_command(command, parse=parse))
    ]
    assert not problems, f"{page.name}:\n  " + "\n  ".join(problems)


def test_the_command_check_finds_what_is_missing() -> None:
    """The check itself: a missing target, subcommand, verb or module, and a line that does not
    parse, are found; real ones pass."""
    assert _check_command("make preview test", parse=False) is None
    assert _check_command("make INSTALLER=pip preview", parse=False) is None
    assert _check_command("make .venv/.installed", parse=False) is None
    assert _check_command("make deploy", parse=False)
    assert _check_command(".venv/bin/partner-apps sam status", parse=True) is None
    assert _check_command("partner-apps sam consent --stack <stack> --force", parse=True) is None
    assert _check_command("partner-apps sam renew --stack us", parse=False)
    assert _check_command("partner-apps deploy", parse=False)
    assert _check_command("partner-apps customers plan --stak us", parse=True)
    assert _check_command("partner-apps diff a b", parse=False) is None
    assert _check_command("partner-apps diff a b --fail-on-protected", parse=True) is None
    assert _check_command("partner-apps diff --fail-on-protect", parse=False)
    assert _check_command("partner-apps diff a", parse=True)  # HEAD_DIR is required
    assert _check_command("partner-apps preview us --out build/x", parse=True) is None
    assert _check_command("partner-apps sam status --warn-days=10", parse=False) is None
    assert _check_command("python -m partner_apps.nothing_here", parse=False)


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_every_path_and_link_the_docs_name_exists(page: Path) -> None:
    missing = []
    for span in _code_spans(page.read_text(encoding="utf-8")):
        if (
            " " in span
            or "://" in span
            or "/" not in span
            or PLACEHOLDER.search(span)
            or span.split("/", 1)[0] not in TOP_FOLDERS
        ):
            continue
        if not (ROOT / span).exists() and not _python_reference(span):
            missing.append(f"`{span}`")
    for link in _links(page):
        target = link.split("#", 1)[0]
        if not target or re.match(r"^[a-z]+:", link) or PLACEHOLDER.search(target):
            continue
        resolved = (page.parent / target).resolve()
        if "build" in resolved.relative_to(ROOT).parts[:1]:
            continue
        if not resolved.exists():
            missing.append(f"({link})")
    assert not missing, f"{page.name} names what does not exist: " + ", ".join(missing)


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_every_anchor_the_docs_link_to_is_a_heading(page: Path) -> None:
    broken = []
    for link in _links(page):
        if re.match(r"^[a-z]+:", link) or "#" not in link:
            continue
        target, anchor = link.split("#", 1)
        target_page = (page.parent / target).resolve() if target else page
        if target_page.suffix != ".md" or not target_page.is_file():
            continue
        if anchor not in _anchors(target_page):
            broken.append(link)
    assert not broken, f"{page.name}: links to headings that do not exist: {broken}"


def test_github_slugs() -> None:
    assert _slug("Set up (any machine with Python ≥ 3.11 and make)") == (
        "set-up-any-machine-with-python--311-and-make"
    )
    assert _slug("Try the customer side: `make demo`") == "try-the-customer-side-make-demo"
    assert _slug("From the engine's own preview (`partner-apps preview-json`)") == (
        "from-the-engines-own-preview-partner-apps-preview-json"
    )
    assert _slug("Removing apps, `pulumi destroy`") == "removing-apps-pulumi-destroy"
