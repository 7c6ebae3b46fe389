"""The review product's commands that read changes and write reports (``partner-apps diff``,
``partner-apps preview-json``): each a ``build_parser(prog)`` and a ``run(namespace)`` that
``partner_apps/cli`` declares in its one tree. They sit above ``changes`` (the model) and
``reports`` (the words), so neither of those imports the other."""
