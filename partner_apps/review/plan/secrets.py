"""Secrets in plans: the second line of defence, so no renderer can print a raw secret value.

Values a plan marks secret (``additionalSecretOutputs``, the provider's known secret properties,
Pulumi's secret envelope) are replaced by ``"[secret]"`` when the plan is read, and any such raw
value found elsewhere in the plan is scrubbed too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from partner_apps.review.plan.access import as_map
from partner_apps.review.plan.vocabulary import (
    SECRET,
    SECRET_ENVELOPE_KEY,
    SECRET_ENVELOPE_SIG,
    SECRET_PATHS,
    is_unknown,
)


def _is_secret_envelope(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get(SECRET_ENVELOPE_KEY) == SECRET_ENVELOPE_SIG


def _collect_raw(value: Any, found: set[str]) -> None:
    if _is_secret_envelope(value):
        _collect_raw(value.get("value", value.get("plaintext")), found)
    elif isinstance(value, str):
        if value and value != SECRET and not is_unknown(value):
            found.add(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            _collect_raw(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect_raw(item, found)


def _mask_path(props: Any, path: Sequence[str], found: set[str], *, objects: bool = True) -> Any:
    """``props`` with the value at ``path`` masked; its raw text joins ``found``.

    With ``objects=False`` only a scalar is masked (an input that shares a secret output's name
    may be a whole object whose other fields reviewers need).
    """
    if not isinstance(props, Mapping) or not path or path[0] not in props:
        return props
    head, rest = path[0], path[1:]
    copy = dict(props)
    value = props[head]
    if rest:
        copy[head] = _mask_path(value, rest, found, objects=objects)
    elif value is None or is_unknown(value):
        pass
    elif isinstance(value, Mapping | list):
        # A whole object is secret: mask it, but do not scrub its every string elsewhere
        # (field names and content types would vanish from the report with it).
        if objects:
            copy[head] = SECRET
    else:
        _collect_raw(value, found)
        copy[head] = SECRET
    return copy


def unwrap_envelopes(value: Any, found: set[str]) -> Any:
    if _is_secret_envelope(value):
        _collect_raw(value, found)
        return SECRET
    if isinstance(value, Mapping):
        return {key: unwrap_envelopes(item, found) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap_envelopes(item, found) for item in value]
    return value


def _scrub(value: Any, raw: Sequence[str]) -> Any:
    if isinstance(value, str):
        for secret in raw:
            if secret in value:
                value = value.replace(secret, SECRET)
        return value
    if isinstance(value, Mapping):
        return {key: _scrub(item, raw) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, raw) for item in value]
    return value


def redact_resource_props(
    type_: str, inputs: Any, outputs: Any, secret_outputs: Iterable[str], found: set[str]
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """Inputs and outputs with every property the plan or provider marks secret masked."""
    new_inputs: Any = unwrap_envelopes(as_map(inputs), found)
    new_outputs: Any = unwrap_envelopes(as_map(outputs), found)
    for path in SECRET_PATHS.get(type_, ()):
        new_inputs = _mask_path(new_inputs, path, found)
        new_outputs = _mask_path(new_outputs, path, found)
    for name in secret_outputs:
        new_outputs = _mask_path(new_outputs, (name,), found)
        new_inputs = _mask_path(new_inputs, (name,), found, objects=False)
    return new_inputs, new_outputs


def scrub_document(document: Any, found: set[str]) -> Any:
    """``document`` with every raw secret value in ``found`` replaced, wherever it occurs."""
    # Longest first, so a secret containing another is replaced whole. Very short strings
    # (booleans spelled out, single characters) would wreck unrelated text and leak nothing.
    raw = sorted((value for value in found if len(value) >= 6), key=lambda s: (-len(s), s))
    return _scrub(document, raw) if raw else document
