"""Turning a failed tool run into a message a student can act on (pure).

Each failure names the step, quotes the tool's own key error line and says what to do;
network trouble is told apart from a real "no" (a solver conflict, a missing wheel), because
only the first is worth retrying.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from coursekit.constants import ENV_DISK_GB
from coursekit.proc import ToolResult

_NETWORK = (
    "timed out",
    "timeout",
    "connection",
    "temporary failure in name resolution",
    "name or service not known",
    "network is unreachable",
    "remote end closed",
    "incompleteread",
    "connection reset",
    "ssl",
    "proxy",
    "http error 5",
    "could not fetch url",
    "max retries exceeded",
    "failed to establish",
    "error sending request",
    "dns error",
    "unexpected eof",
    "read error",
)
# A gateway status on its own ("HTTP 503 SERVICE UNAVAILABLE"), not a size such as pip's
# "Downloading torch-...whl (503.2 MB)" or a number that merely contains 502.
_GATEWAY = re.compile(r"(?<![\w.])50[234](?![\w.,])")
_DISK = ("no space left on device", "errno 28", "disk quota exceeded", "not enough space")
_SOLVER = (
    "could not solve",
    "cannot solve",
    "unsatisfiable",
    "no candidates were found",
    "packagesnotfounderror",
    "nothing provides",
)
_PIP_CONFLICT = ("resolutionimpossible", "conflicting dependencies", "cannot install")
_NO_DIST = ("no matching distribution", "could not find a version that satisfies")
# pip's HashMismatch ("THESE PACKAGES DO NOT MATCH THE HASHES ... Expected sha256 ... Got ...",
# also when the index gives #sha256= in the link), conda's and rattler's checksum errors.
_HASH = (
    "do not match the hashes",
    "hash mismatch",
    "hashes do not match",
    "sha256 mismatch",
    "checksum mismatch",
    "md5 mismatch",
    "expected sha256",
    "does not match the expected",
)


@dataclass(frozen=True)
class Failure:
    """Why a step failed: ``kind`` is network, disk, hash, solver, conflict, no-wheel, timeout or
    tool."""

    kind: str
    message: str
    fix: str
    tool_line: str | None

    @property
    def transient(self) -> bool:
        """Worth another attempt (the network may come back)."""
        return self.kind in ("network", "timeout")


def _has(text: str, markers: tuple[str, ...]) -> bool:
    return any(m in text for m in markers)


def classify(
    step_title: str, result: ToolResult, *, source: str = "", disk_gb: int = ENV_DISK_GB["gpu"]
) -> Failure:
    """Explain why ``result`` (a run of step ``step_title``) failed."""
    line = result.key_error_line()
    text = f"{result.stdout}\n{result.stderr}".lower()
    again = "Run `coursekit setup` again: finished steps are kept."
    if not result.found:
        return Failure(
            "tool",
            f"{step_title}: could not start {result.argv[0]}",
            "Check that the program exists (`coursekit doctor`).",
            line,
        )
    if result.timed_out:
        return Failure(
            "timeout",
            f"{step_title} took too long and was stopped",
            f"Check your connection; {again}",
            line,
        )
    if _has(text, _HASH):
        return Failure(
            "hash",
            f"{step_title} failed: a downloaded package does not match the "
            f"checksum {source or 'the index'} publishes, so the download or the "
            "mirror is corrupt or has been tampered with (nothing was installed from it)",
            "Run `coursekit setup` again (pip then downloads afresh; if it fails the same "
            "way, run `python -m pip cache purge` first or use --no-cache-dir), and check "
            "the mirror given with --index-url/--channel or in pip's config (`coursekit "
            "doctor` shows it); tell your instructor if a class mirror is affected.",
            line,
        )
    if _has(text, _DISK):
        return Failure(
            "disk",
            f"{step_title} failed: the disk is full",
            f"Free at least {disk_gb} GB (what the course env needs; empty the pip cache "
            "with `python -m pip cache purge`, `conda clean --all`), then "
            f"{again[0].lower()}{again[1:]}",
            line,
        )
    if _has(text, _PIP_CONFLICT) and "pip" in " ".join(result.argv):
        return Failure(
            "conflict",
            f"{step_title} failed: a package needs another torch than the "
            "one planned (pip refused to replace it)",
            "Update coursekit (its pins may "
            "be older than the course packages), or ask your instructor which "
            "versions to use.",
            line,
        )
    if _has(text, _SOLVER) or "conflict" in text:
        return Failure(
            "solver",
            f"{step_title} failed: no compatible set of packages",
            "Check --channel (a mirror may lack packages), then run `coursekit doctor`.",
            line,
        )
    if _has(text, _NO_DIST) and not _has(text, ("could not fetch url", "connection")):
        return Failure(
            "no-wheel",
            f"{step_title} failed: {source or 'the index'} does not have the planned package",
            "See `coursekit setup --dry-run` for the planned "
            "versions, or give another source with --index-url.",
            line,
        )
    if _has(text, _NETWORK) or _GATEWAY.search(text):
        return Failure(
            "network",
            f"{step_title} failed: a network problem",
            f"Check your internet connection or proxy (HTTPS_PROXY); {again}",
            line,
        )
    return Failure(
        "tool",
        f"{step_title} failed (exit code {result.returncode})",
        "Run `coursekit setup --debug` and show the output to your instructor.",
        line,
    )
