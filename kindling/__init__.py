"""Kindling: Bottlerocket's boot services for any systemd node.

This package is the hub (DESIGN §1): settings model, datastore, API, the Host seam and
the CLI. It imports no service package, and stays light to import (DESIGN §8).
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
