"""Policy pack directory; a package so the repository root imports ``policies.partner_policies``.

The pack itself runs from this directory (``__main__.py``), where the policies are the top-level
package ``partner_policies``.
"""
