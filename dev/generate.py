"""Generate the committed artifacts that are derived from code, or check they are current.

* ``schema/stack-config.schema.json`` — JSON Schema of ``Pulumi.<region>.yaml`` (editors validate
  the stack files with it through the ``yaml-language-server`` comment at their top);
* ``schema/apps.schema.json`` — JSON Schema of ``apps.yaml``;
* ``schema/customers.schema.json`` — JSON Schema of ``customers/<region>.yaml`` (GDAP templates,
  customer states), from ``partner_apps.customers.customer_file``;
* ``docs/policy-catalog.md`` — the auditors' catalog of every policy;
* the deploying identity's least-privilege tables in ``docs/running-for-real.md`` (between the
  ``<!-- generated: deploying-identity -->`` markers), from ``components/deployer.py``;
* ``policies/config/<region>.json`` for every ``Pulumi.<region>.yaml`` — the region's values from
  the stack file, the reviewed parts from ``policies/reviewed/``
  (``partner_apps/preview/policy_config.py``).

It is the one generator of the project: nothing else writes these files.

``make generate`` (``python -m dev.generate``) writes them; ``--check`` exits 46 naming each
stale file (the tests run the same check). Exit codes from the one table,
``partner_apps.exitcodes``: 3 when a stack file or the reviewed policy config is invalid.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from components import deployer
from components.config import (
    DISABLE_DEFAULT_PROVIDERS_KEY,
    REFRESH_TOKENS_KEY,
    REGION_KEY,
    ConfigError,
)
from components.models import (
    AppsFile,
    RegionConfig,
)
from partner_apps import exitcodes
from partner_apps.customers import customer_file
from partner_apps.preview import policy_config
from policies.partner_policies import catalog_doc

ROOT = Path(__file__).resolve().parent.parent


def stack_schema() -> dict[str, Any]:
    region = RegionConfig.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs = region.pop("$defs", {})
    defs["RegionConfig"] = region
    secure = {
        "type": "object",
        "description": "An encrypted value written by `pulumi config set --secret`.",
        "properties": {"secure": {"type": "string"}},
        "required": ["secure"],
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Region stack file (Pulumi.<region>.yaml) of the partner-apps project",
        "description": "Generated from components/config.py by `python -m dev.generate`.",
        "type": "object",
        "properties": {
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
            "environment": {},
            "config": {
                "type": "object",
                "additionalProperties": False,
                "required": [REGION_KEY, DISABLE_DEFAULT_PROVIDERS_KEY],
                "properties": {
                    REGION_KEY: {"$ref": "#/$defs/RegionConfig"},
                    REFRESH_TOKENS_KEY: {
                        "description": (
                            "Secure Application Model refresh tokens by app key; must be "
                            "Pulumi secrets (`pulumi config set --secret --path "
                            "'refreshTokens.<app key>' <token>`)."
                        ),
                        "oneOf": [
                            secure,
                            {"type": "object", "additionalProperties": secure},
                        ],
                    },
                    DISABLE_DEFAULT_PROVIDERS_KEY: {
                        "description": 'Must be ["*"]: every resource uses an explicit provider.',
                        "type": "array",
                        "items": {"type": "string"},
                        "contains": {"const": "*"},
                    },
                },
            },
        },
        "required": ["config"],
        "$defs": dict(sorted(defs.items())),
    }


def apps_schema() -> dict[str, Any]:
    schema = AppsFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Partner-managed app definitions (apps.yaml)"
    schema["description"] = "Generated from components/config.py by `python -m dev.generate`."
    return schema


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


README_BEGIN = "<!-- generated: deploying-identity (make generate) -->"
README_END = "<!-- end generated: deploying-identity -->"
# The page that holds the deploying-identity tables (the README points to it).
DEPLOYER_DOC = "docs/running-for-real.md"


def readme(root: Path = ROOT) -> str:
    """The deploying-identity page with its generated section regenerated (the rest kept as
    written)."""
    text = (root / DEPLOYER_DOC).read_text(encoding="utf-8")
    head, found, rest = text.partition(README_BEGIN)
    _, found_end, tail = rest.partition(README_END)
    if not (found and found_end):
        raise SystemExit(f"{DEPLOYER_DOC} lacks the {README_BEGIN} ... {README_END} markers")
    return f"{head}{README_BEGIN}\n{deployer.render_markdown()}{README_END}{tail}"


def artifacts(root: Path = ROOT) -> dict[str, Callable[[], str]]:
    """Every generated file (relative path) and how to render it."""
    configs = policy_config.rendered_configs(root)
    rendered: dict[str, Callable[[], str]] = {
        path: functools.partial(str, content) for path, content in configs.items()
    }
    return {**ARTIFACTS, **rendered}


ARTIFACTS: dict[str, Callable[[], str]] = {
    DEPLOYER_DOC: readme,
    "schema/stack-config.schema.json": lambda: _json(stack_schema()),
    "schema/apps.schema.json": lambda: _json(apps_schema()),
    "schema/customers.schema.json": lambda: _json(customer_file.schema()),
    "docs/policy-catalog.md": catalog_doc.current,
}


def stale_artifacts(root: Path = ROOT) -> list[str]:
    """Relative paths of generated files whose committed content is out of date."""
    stale = []
    for relative, render in artifacts(root).items():
        path = root / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != render():
            stale.append(relative)
    return stale


def main(argv: list[str] | None = None) -> int:
    """``make generate``: a developer's script, not a ``partner-apps`` command."""
    parser = argparse.ArgumentParser(
        prog="python -m dev.generate",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=exitcodes.epilog("generate"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--check", action="store_true", help=f"only report stale files (exit {exitcodes.STALE})"
    )
    options = parser.parse_args(argv)
    try:
        generated = artifacts()
    except (ConfigError, policy_config.PolicyConfigSourceError) as error:
        print(f"cannot generate: {error}", file=sys.stderr)
        return exitcodes.CONFIG
    if options.check:
        stale = stale_artifacts()
        for relative in stale:
            print(f"stale: {relative} (run `make generate`)", file=sys.stderr)
        return exitcodes.STALE if stale else exitcodes.OK
    unchanged = 0
    for relative, render in generated.items():
        path = ROOT / relative
        text = render()
        # Only what changes is written and named: an unchanged file keeps its bytes and its
        # modification time, and "wrote" means the file is new or different.
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            unchanged += 1
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {relative}")
    print(f"{unchanged} generated file(s) already up to date")
    return exitcodes.OK


if __name__ == "__main__":
    sys.exit(main())
