"""Typed report documents and their Markdown, HTML and JSON renderers; all wording lives here."""
