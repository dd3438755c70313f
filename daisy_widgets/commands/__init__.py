"""Sub-commands of the ``daisy`` CLI, one module per command family."""
