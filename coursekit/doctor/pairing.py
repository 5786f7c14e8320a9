"""Which torchvision and torchaudio release lines belong to a torch release line (pure).

Rows come from the published compatibility tables, back to torch 1.4:

- torchvision: the "Installation" table of the pytorch/vision README (torch 1.4 <-> 0.5 ...
  1.13 <-> 0.14; 2.0 <-> 0.15 ... 2.N <-> 0.(N+15)), pytorch.org/get-started/previous-versions
  and the PyTorch wiki page "PyTorch Versions" (github.com/pytorch/pytorch/wiki/PyTorch-Versions);
  2.12-2.14 from envs/torch-matrix.toml (pytorch/vision README; googlecolab/colabtools#6053, #6093).
- torchaudio: the "Compatibility Matrix" of docs.pytorch.org/audio/2.11.0/installation.html
  (torch 1.N <-> torchaudio 0.N for 1.4-1.13, e.g. 1.13.1 <-> 0.13.1 and 1.7.1 <-> 0.7.2;
  2.0.0 <-> 2.0.1, 2.0.1 <-> 2.0.2; 2.N <-> 2.N up to 2.10) and pytorch/audio#4212: torchaudio
  2.11 is built on torch's stable ABI and "supports PyTorch 2.11 and all later versions"
  (no later torchaudio was released, pytorch/audio#3902).

The tables pair release *lines*: a patch-level difference inside a line is not called a
mismatch (pip keeps the pins of one line together; no false error). A torch line outside
the tables (before 1.4, or newer than the newest row) gives ``None``: "unknown", never a
mismatch.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from packaging.version import InvalidVersion, Version

Line = tuple[int, int]

VISION: Final[dict[Line, Line]] = {
    **{(1, n): (0, n + 1) for n in range(4, 14)},  # 1.4 <-> 0.5 ... 1.13 <-> 0.14
    **{(2, n): (0, n + 15) for n in range(15)},  # 2.0 <-> 0.15 ... 2.14 <-> 0.29
}
"""torch line -> torchvision line (pytorch/vision README compatibility table)."""

AUDIO: Final[dict[Line, Line]] = {
    **{(1, n): (0, n) for n in range(4, 14)},  # 1.4 <-> 0.4 ... 1.13 <-> 0.13
    **{(2, n): (2, n) for n in range(12)},  # 2.0 <-> 2.0.x ... 2.11 <-> 2.11
}
"""torch line -> torchaudio line (torchaudio compatibility matrix)."""

AUDIO_STABLE_ABI: Final[Line] = (2, 11)
"""torchaudio 2.11 serves torch 2.11 and every later torch (pytorch/audio#4212)."""


@lru_cache(maxsize=1024)
def line(version: str | None) -> Line | None:
    """``"1.13.1+cu117"`` -> ``(1, 13)``; None when it is not a version (pure: remembered per
    string, class triage asks for the same versions in many reports)."""
    if not version:
        return None
    try:
        release = Version(version).release
    except InvalidVersion:
        return None
    return (release[0], release[1]) if len(release) >= 2 else None


def expected(package: str, torch_version: str | None) -> tuple[Line, ...] | None:
    """The release lines of ``package`` that pair with ``torch_version``; None: unknown."""
    t = line(torch_version)
    if t is None:
        return None
    if package == "torchvision":
        return (VISION[t],) if t in VISION else None
    if package == "torchaudio":
        if t in AUDIO:
            return (AUDIO[t],)
        return (AUDIO_STABLE_ABI,) if t > AUDIO_STABLE_ABI else None
    return None


def matches(package: str, installed: str | None, torch_version: str | None) -> bool | None:
    """True/False when the tables know the pair, None when they do not (say "unknown")."""
    want, have = expected(package, torch_version), line(installed)
    if want is None or have is None:
        return None
    return have in want


def torch_line_for(package: str, installed: str | None) -> str | None:
    """The torch line a ``package`` version was built for ("1.13"), or None when unknown."""
    have = line(installed)
    table = VISION if package == "torchvision" else AUDIO
    lines = [t for t, c in table.items() if c == have]
    if package == "torchaudio" and have == AUDIO_STABLE_ABI:
        return "2.11 or later"
    return ".".join(map(str, lines[0])) if len(lines) == 1 else None
