"""A command module whose import fails as a kit module's does without ``spendcast[loadtest]``."""

raise ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib")
