"""What changes: two plans compared, or a ``pulumi preview --json`` read, into one change model."""
