"""A small report model (sections, paragraphs, tables, lists) and its Markdown and HTML renderers.

A report is built once as data and rendered by ``to_markdown`` and ``to_html``, so the two carry
the same headings, text and table cells by construction. Inline text is a sequence of spans
(plain, ``code``, **strong**); the Markdown renderer escapes table cells the way
``reports.markdown`` does, the HTML renderer escapes everything with ``html.escape``.

Usage::

    report = Report("Title", (Section("Part", (Paragraph(text("Hello ", code("x"))),)),))
    to_markdown(report), to_html(report)
"""

from __future__ import annotations

import html
import json
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

from partner_apps.review.reports.markdown import cell

# "strong" is what needs attention (HTML colours it in tables and lists); "label" names a field
# (bold, never coloured: a region's or an app's identity is not an alarm).
SpanKind = Literal["text", "code", "strong", "em", "label"]


@dataclass(frozen=True)
class Span:
    """A run of inline text: plain, code or strong."""

    kind: SpanKind
    text: str


Inline = tuple[Span, ...]
InlineLike = Inline | Span | str


def _spans(part: InlineLike) -> Inline:
    if isinstance(part, str):
        return (Span("text", part),) if part else ()
    if isinstance(part, Span):
        return (part,)
    return part


def text(*parts: InlineLike) -> Inline:
    """Inline text from strings (plain), spans and other inline text."""
    return tuple(span for part in parts for span in _spans(part))


def code(value: str) -> Span:
    """Inline code; an empty value shows as a dash."""
    return Span("code", value) if value else Span("text", "—")


def strong(value: str) -> Span:
    return Span("strong", value)


def label(value: str) -> Span:
    """A field's name before its value (``Region:``): bold, but not styled as an alarm."""
    return Span("label", value)


def em(value: str) -> Span:
    """Emphasis (a term being explained)."""
    return Span("em", value)


def plain(inline: InlineLike) -> str:
    """The text without markup (what a reader sees)."""
    return "".join(span.text for span in _spans(inline))


@dataclass(frozen=True)
class Paragraph:
    content: Inline


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Inline, ...], ...]


@dataclass(frozen=True)
class ListItem:
    """A list item; ``detail`` (several lines) follows it preformatted; ``children`` are the
    items of a list nested under it."""

    content: Inline
    detail: str = ""
    children: tuple[Inline, ...] = ()


@dataclass(frozen=True)
class BulletList:
    items: tuple[ListItem, ...]


@dataclass(frozen=True)
class Quote:
    """A call-out (``> ...``)."""

    content: Inline


@dataclass(frozen=True)
class CodeBlock:
    """Preformatted text (a Mermaid diagram, say), shown as is."""

    language: str
    text: str


@dataclass(frozen=True)
class Details:
    """Blocks folded under a summary line (``<details>`` in both renderers)."""

    summary: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Figure:
    """A picture (inline SVG from ``reports/figures.py``) with its caption. The HTML shows it; the
    Markdown leaves it out (a job summary sanitises inline SVG away), the table it pictures
    stays in both."""

    svg: str
    caption: str


@dataclass(frozen=True)
class Section:
    """A heading and what follows it; sections nest (level 2, 3, ...)."""

    title: str | Inline  # a string is plain text (Markdown code marks in it show as code)
    blocks: tuple[Block, ...]
    level: int = 2


Block = Paragraph | Table | BulletList | Quote | CodeBlock | Details | Figure | Section


@dataclass(frozen=True)
class Report:
    title: str | Inline
    blocks: tuple[Block, ...] = field(default=())
    # The HTML page lists the top-level sections, as links, after the report's first block (its
    # verdict): a long page (the audit) is read by jumping to a part.
    contents: bool = False


def make_table(headers: Sequence[str], rows: Iterable[Sequence[InlineLike]]) -> Table:
    """A table from rows of strings, spans or inline text."""
    return Table(tuple(headers), tuple(tuple(text(c) for c in row) for row in rows))


def bullets(items: Iterable[InlineLike | ListItem]) -> BulletList:
    return BulletList(
        tuple(item if isinstance(item, ListItem) else ListItem(text(item)) for item in items)
    )


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def _md_code(value: str) -> str:
    """A code span that survives backticks in the value (table cells escape ``|`` later)."""
    fence = "``" if "`" in value else "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _md_inline(inline: Inline) -> str:
    parts = []
    for span in inline:
        if span.kind == "code":
            parts.append(_md_code(span.text))
        elif span.kind in ("strong", "label"):
            parts.append(f"**{span.text}**")
        elif span.kind == "em":
            parts.append(f"*{span.text}*")
        else:
            parts.append(span.text)
    # One line: a newline in a value must not end a paragraph, list item or table row.
    return " ".join("".join(parts).splitlines())


def _detail_lines(detail: str) -> list[str]:
    """The lines of a list item's detail without blank ones, keeping their indentation relative
    to each other (a traceback's nesting)."""
    return [line.rstrip() for line in textwrap.dedent(detail).splitlines() if line.strip()]


def _md_detail(detail: str) -> list[str]:
    body = _detail_lines(detail)
    if not body:
        return []
    fence = "````" if any("```" in line for line in body) else "```"
    return ["", f"  {fence}text", *(f"  {line}" for line in body), f"  {fence}"]


def _md_title(title: str | Inline) -> str:
    return title if isinstance(title, str) else _md_inline(title)


def _md_blocks(lines: list[str], blocks: Sequence[Block]) -> list[str]:
    """``lines`` and each block's Markdown after a blank line (a block with none adds none)."""
    for block in blocks:
        rendered = _md_block(block)
        if rendered:
            lines += ["", *rendered]
    return lines


def _md_block(block: Block) -> list[str]:
    if isinstance(block, Figure):
        return []
    if isinstance(block, Paragraph):
        return [_md_inline(block.content)]
    if isinstance(block, Table):
        lines = [
            "| " + " | ".join(block.headers) + " |",
            "|" + "|".join("---" for _ in block.headers) + "|",
        ]
        lines += ["| " + " | ".join(cell(_md_inline(c)) for c in row) + " |" for row in block.rows]
        return lines
    if isinstance(block, BulletList):
        lines = []
        for item in block.items:
            lines += [f"- {_md_inline(item.content)}", *_md_detail(item.detail)]
            lines += [f"  - {_md_inline(child)}" for child in item.children]
        return lines
    if isinstance(block, Quote):
        return [f"> {_md_inline(block.content)}"]
    if isinstance(block, CodeBlock):
        return [f"```{block.language}", *block.text.splitlines(), "```"]
    if isinstance(block, Details):
        lines = _md_blocks([f"<details><summary>{block.summary}</summary>"], block.blocks)
        return [*lines, "", "</details>"]
    return _md_blocks(["#" * block.level + " " + _md_title(block.title)], block.blocks)


def to_markdown(report: Report) -> str:
    """The report as Markdown: blocks separated by blank lines, LF, one trailing newline."""
    lines = [f"# {_md_title(report.title)}"]
    _md_blocks(lines, report.blocks)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

CSS = (
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1f23;max-width:90rem}"
    "table{border-collapse:collapse;margin:0.5rem 0 1.5rem}"
    "th,td{border:1px solid #d0d7de;padding:0.3rem 0.6rem;text-align:left;vertical-align:top}"
    "th{background:#f6f8fa}td strong,li strong{color:#b42318}code{font-size:0.9em}"
    "pre{background:#f6f8fa;padding:0.5rem}"
)


_BACKTICKED = re.compile(r"`([^`]+)`")


def _html_inline(inline: Inline) -> str:
    parts = []
    for span in inline:
        escaped = html.escape(span.text)
        if span.kind == "code":
            parts.append(f"<code>{escaped}</code>")
        elif span.kind == "strong":
            parts.append(f"<strong>{escaped}</strong>")
        elif span.kind == "label":
            parts.append(f"<b>{escaped}</b>")
        elif span.kind == "em":
            parts.append(f"<em>{escaped}</em>")
        else:
            # Plain text may carry Markdown code marks (policy messages do, as the CLI and the
            # Markdown reports show them): render them as code, so both renderers agree.
            parts.append(_BACKTICKED.sub(r"<code>\1</code>", escaped))
    return "".join(parts)


def _title(title: str | Inline) -> Inline:
    return text(title) if isinstance(title, str) else title


def _html_block(block: Block) -> list[str]:
    if isinstance(block, Figure):
        # The SVG is built by reports/figures.py, whose every text is escaped there.
        return [
            f"<figure>{block.svg}<figcaption>{html.escape(block.caption)}</figcaption></figure>"
        ]
    if isinstance(block, Paragraph):
        return [f"<p>{_html_inline(block.content)}</p>"]
    if isinstance(block, Table):
        head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
        lines = ["<table>", f"<thead><tr>{head}</tr></thead>", "<tbody>"]
        lines += [
            "<tr>" + "".join(f"<td>{_html_inline(c)}</td>" for c in row) + "</tr>"
            for row in block.rows
        ]
        return [*lines, "</tbody>", "</table>"]
    if isinstance(block, BulletList):
        lines = ["<ul>"]
        for item in block.items:
            body = "\n".join(_detail_lines(item.detail))
            detail = f"<pre>{html.escape(body)}</pre>" if body else ""
            nested = "".join(f"<li>{_html_inline(child)}</li>" for child in item.children)
            children = f"<ul>{nested}</ul>" if nested else ""
            lines.append(f"<li>{_html_inline(item.content)}{detail}{children}</li>")
        return [*lines, "</ul>"]
    if isinstance(block, Quote):
        return [f"<blockquote>{_html_inline(block.content)}</blockquote>"]
    if isinstance(block, CodeBlock):
        language = html.escape(block.language)
        return [f'<pre><code class="language-{language}">{html.escape(block.text)}</code></pre>']
    if isinstance(block, Details):
        lines = [f"<details><summary>{html.escape(block.summary)}</summary>"]
        for child in block.blocks:
            lines += _html_block(child)
        return [*lines, "</details>"]
    level = min(block.level, 6)
    lines = [f"<section><h{level}>{_html_inline(_title(block.title))}</h{level}>"]
    for child in block.blocks:
        lines += _html_block(child)
    return [*lines, "</section>"]


_SLUG = re.compile(r"[^a-z0-9]+")


def _anchors(blocks: Sequence[Block]) -> dict[int, str]:
    """An id per top-level section (by position), from its title, unique within the page."""
    anchors: dict[int, str] = {}
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        if not isinstance(block, Section):
            continue
        base = _SLUG.sub("-", plain(_title(block.title)).lower()).strip("-") or "section"
        anchor, n = base, 2
        while anchor in seen:
            anchor, n = f"{base}-{n}", n + 1
        seen.add(anchor)
        anchors[index] = anchor
    return anchors


def _contents(blocks: Sequence[Block], anchors: Mapping[int, str]) -> list[str]:
    links = "".join(
        f'<li><a href="#{anchor}">{_html_inline(_title(cast(Section, blocks[index]).title))}</a>'
        "</li>"
        for index, anchor in anchors.items()
    )
    return [f'<nav aria-label="Contents"><p>Contents</p><ul>{links}</ul></nav>']


def to_html(report: Report, css: str = CSS) -> str:
    """The report as one standalone HTML page (no scripts, no external files)."""
    title = html.escape(_BACKTICKED.sub(r"\1", plain(_title(report.title))))
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{title}</title>",
        f"<style>{css}</style></head><body>",
        f"<h1>{_html_inline(_title(report.title))}</h1>",
    ]
    anchors = _anchors(report.blocks) if report.contents else {}
    for index, block in enumerate(report.blocks):
        rendered = _html_block(block)
        if index in anchors:
            rendered[0] = rendered[0].replace("<section>", f'<section id="{anchors[index]}">', 1)
        lines += rendered
        if index == 0 and anchors:
            lines += _contents(report.blocks, anchors)
    return "\n".join([*lines, "</body></html>"]) + "\n"


# --------------------------------------------------------------------------------------------
# JSON: the typed document itself, for tools and golden files
# --------------------------------------------------------------------------------------------

REPORT_JSON_VERSION = 1


def _json_inline(inline: Inline) -> list[str | dict[str, str]]:
    """Inline text as a list: plain text as a string, other spans as ``{kind: text}``."""
    return [span.text if span.kind == "text" else {span.kind: span.text} for span in inline]


def _json_title(title: str | Inline) -> list[str | dict[str, str]]:
    return _json_inline(_title(title))


def _json_block(block: Block) -> dict[str, object]:
    if isinstance(block, Figure):
        return {"figure": {"caption": block.caption, "svg": block.svg}}
    if isinstance(block, Paragraph):
        return {"paragraph": _json_inline(block.content)}
    if isinstance(block, Table):
        return {
            "table": {
                "headers": list(block.headers),
                "rows": [[_json_inline(c) for c in row] for row in block.rows],
            }
        }
    if isinstance(block, BulletList):
        items: list[dict[str, object]] = []
        for item in block.items:
            entry: dict[str, object] = {"content": _json_inline(item.content)}
            if _detail_lines(item.detail):
                entry["detail"] = _detail_lines(item.detail)
            if item.children:
                entry["children"] = [_json_inline(child) for child in item.children]
            items.append(entry)
        return {"list": items}
    if isinstance(block, Quote):
        return {"quote": _json_inline(block.content)}
    if isinstance(block, CodeBlock):
        return {"code": {"language": block.language, "text": block.text}}
    if isinstance(block, Details):
        return {"details": {"summary": block.summary, "blocks": _json_blocks(block.blocks)}}
    return {
        "section": {
            "title": _json_title(block.title),
            "level": block.level,
            "blocks": _json_blocks(block.blocks),
        }
    }


def _json_blocks(blocks: Sequence[Block]) -> list[dict[str, object]]:
    return [_json_block(block) for block in blocks]


def to_json(report: Report) -> str:
    """The report's typed document as JSON (sorted keys, two-space indent, one trailing newline):
    what the Markdown and HTML renderers format, for tools and golden files."""
    document = {
        "reportVersion": REPORT_JSON_VERSION,
        "title": _json_title(report.title),
        "blocks": _json_blocks(report.blocks),
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
