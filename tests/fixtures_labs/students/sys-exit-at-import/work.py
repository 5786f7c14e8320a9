"""Calls sys.exit while being imported (a script left at module level)."""
import sys

sys.exit(3)
