"""The plan file: one writer and reader, versioned, and the vocabulary of plans (type tokens,
secret markers, URN names, values as text)."""
