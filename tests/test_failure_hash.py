"""A wheel whose hash does not match the index (issue 10, item 14): the message says the
download or mirror is corrupt or tampered with and what to do, not 'show --debug to your
instructor'; it is not retried as a network blip."""

from __future__ import annotations

import pytest

from coursekit.proc import ToolResult
from coursekit.setup.run.failures import classify

PIP_HASH = """Collecting torch==2.13.0+cpu
  Downloading https://mirror.example/whl/cpu/torch-2.13.0%2Bcpu-cp312-cp312-linux_x86_64.whl (190.5 MB)
ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. If you have updated the package versions, please update the hashes. Otherwise, examine the package contents carefully; someone may have tampered with them.
    torch==2.13.0+cpu from https://mirror.example/whl/cpu/torch-2.13.0%2Bcpu-cp312-cp312-linux_x86_64.whl#sha256=aaaa:
        Expected sha256 aaaa
             Got        bbbb
"""
RATTLER_HASH = "error: failed to link pytorch: hash mismatch: expected sha256 1234, got 5678"


@pytest.mark.parametrize("stderr", [PIP_HASH, RATTLER_HASH])
def test_hash_mismatch_says_corrupt_or_tampered_and_what_to_do(stderr: str) -> None:
    failure = classify("Install torch", ToolResult(("python", "-m", "pip"), 1, "", stderr),
                       source="https://mirror.example/whl/cpu")
    assert failure.kind == "hash" and not failure.transient
    assert "corrupt or has been tampered with" in failure.message
    assert "--no-cache-dir" in failure.fix and "mirror" in failure.fix
    assert "--debug" not in failure.fix
