"""Components of the CSP partner-managed apps program."""
