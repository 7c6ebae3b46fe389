"""The offline recorder: the Pulumi program run in-process under mocks, its resources and the
policy pack's verdicts recorded as a plan (``partner-apps preview``; no CLI, no cloud)."""
