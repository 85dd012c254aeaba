"""Pingan (平安): an open-source smart public-safety platform."""

__version__ = "0.1.0"
