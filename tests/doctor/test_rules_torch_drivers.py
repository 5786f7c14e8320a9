"""rules_torch edge cases pinned by mutation testing (issue 18): see bench/mutation.py."""

from __future__ import annotations
