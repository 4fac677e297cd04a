"""Pinbase: a self-hosted IoT cloud compatible with Blynk's public APIs.

Pinbase is an independent project; it is not affiliated with Blynk.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
