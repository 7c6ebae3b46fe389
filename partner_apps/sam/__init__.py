"""The Secure Application Model token of each region stack: consent, refresh, status."""
