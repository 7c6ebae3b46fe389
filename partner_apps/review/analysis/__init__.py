"""Views of one plan (apps, permissions, vaults, credentials) that hold values, not text."""
