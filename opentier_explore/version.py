"""The kit's version (one definition: the package and the seeding record read it here)."""

__version__ = "0.1.0"
