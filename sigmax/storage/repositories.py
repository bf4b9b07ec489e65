"""The repositories, re-exported from :mod:`sigmax.storage.repos` (one module per area)."""

from sigmax.storage.repos import *  # noqa: F403
from sigmax.storage.repos import __all__  # noqa: F401
