"""plugcheck's engines and everything that reports their results."""

__version__ = "0.1.0"
