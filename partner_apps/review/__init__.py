"""The review product: the plan file (``plan``), views of a plan (``analysis``), changes between
plans or from ``pulumi preview --json`` (``changes``), typed reports and their renderers
(``reports``), and the audit across regions (``audit``)."""
