"""The report model and its two renderers (partner_apps/review/reports/model.py)."""

from __future__ import annotations

from partner_apps.review.reports.model import (
    ListItem,
    Paragraph,
    Report,
    Section,
    bullets,
    code,
    make_table,
    plain,
    strong,
    text,
    to_html,
    to_markdown,
)


def _report() -> Report:
    return Report(
        "Title <1>",
        (
            Paragraph(text("Plain ", code("x|y"), " and ", strong("bold"), ".")),
            Section(
                "Part & parcel",
                (
                    make_table(("A", "B"), [["a|b", code("`tick`")], [strong("no"), ""]]),
                    Section("Sub", (bullets(["one", ListItem(text("two"), "line 1\nline 2")]),), 3),
                ),
            ),
        ),
    )


def test_markdown_renders_headings_tables_lists_and_escapes_cells() -> None:
    markdown = to_markdown(_report())
    assert markdown.startswith("# Title <1>\n\nPlain `x|y` and **bold**.\n\n## Part & parcel\n")
    assert "| A | B |\n|---|---|\n| a\\|b | `` `tick` `` |\n| **no** |  |" in markdown
    assert "### Sub\n\n- one\n- two\n\n  ```text\n  line 1\n  line 2\n  ```\n" in markdown
    assert markdown.endswith("```\n")


def test_html_escapes_every_text_and_nests_sections() -> None:
    page = to_html(_report())
    assert "<h1>Title &lt;1&gt;</h1>" in page
    assert "<section><h2>Part &amp; parcel</h2>" in page
    assert "<td>a|b</td><td><code>`tick`</code></td>" in page
    assert "<td><strong>no</strong></td><td></td>" in page
    assert "<li>two<pre>line 1\nline 2</pre></li>" in page
    assert "<section><h3>Sub</h3>" in page
    assert page.count("<section>") == page.count("</section>") == 2


def test_a_newline_in_a_value_does_not_break_the_markdown_structure() -> None:
    markdown = to_markdown(Report("T", (Paragraph(text("one\n## not a heading")),)))
    assert "\n## not a heading" not in markdown
    assert plain(text("a", code("b"), strong("c"))) == "abc"
    assert plain(text(code(""))) == "—"
