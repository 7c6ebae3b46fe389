"""``partner-apps customers plan | apply | verify | export-routing``: per-customer consent of the
partner-managed apps of one region stack (GDAP era: no pre-consent through AdminAgents)."""
