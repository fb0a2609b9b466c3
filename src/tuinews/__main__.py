"""``python -m tuinews``."""

from .cli import entry

entry()
