"""Reusable stand-ins for real tools: conda/mamba/micromamba over py-rattler, a local conda
channel, a local PyTorch-style pip index with fake wheels. Fixtures in ``fixtures.py``."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

_CONDATOOL = Path(__file__).with_name("condatool.py")


def install_condatool(bin_dir: Path, kind: str = "conda") -> Path:
    """Write the stand-in as ``bin_dir/<kind>`` (``conda``, ``mamba`` or ``micromamba``),
    run by this interpreter (which has py-rattler)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / kind
    exe.write_text(f"#!{sys.executable}\n" + _CONDATOOL.read_text(encoding="utf-8"),
                   encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return exe
