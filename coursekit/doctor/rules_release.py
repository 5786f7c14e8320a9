"""The rule over the release check's fact (:mod:`coursekit.doctor.releasecheck`): the PyTorch
index has a stable torch newer than every release coursekit's data knows.

Pure, like every rule: it compares the two versions the report recorded (the index's newest
final release and the newest the collecting coursekit knew), so ``--from`` on a TA's machine
gives the same finding the student's doctor gave, whatever the TA's own coursekit knows.
"""

from __future__ import annotations

from packaging.version import Version

from coursekit.doctor.versions import as_version
from coursekit.doctor.view import Finding, Rule, View, finding

ANSWERED = ("checked", "cached")


def _release(text: str | None) -> Version | None:
    """A final release's number (``2.15.0``; a post release as its base); None for anything
    else: a pre-release, dev or local version, or no version (a hand-edited report)."""
    v = as_version(text) if text else None
    if v is None or v.is_prerelease or v.is_devrelease or v.local:
        return None
    return Version(v.base_version)


def torch_newer_release(v: View) -> list[Finding]:
    """The index lists a stable torch newer than the newest release in the matrix."""
    rc = v.f.release_check
    if rc is None or rc.status not in ANSWERED:
        return []
    newest, known = _release(rc.index_newest), _release(rc.matrix_newest)
    if newest is None or known is None or newest <= known:
        return []
    when = f" (read {rc.checked_at[:10]})" if rc.checked_at else ""
    return [
        finding(
            "torch-newer-release",
            f"torch {newest} is out; coursekit's PyTorch data stops at {known}",
            f"The PyTorch index {rc.index} lists torch {newest} as a stable release{when}. "
            f"coursekit plans only the releases its data (envs/torch-matrix.toml) knows, up to "
            f"{known}: those still work for the labs.",
            "Nothing to do for the labs. Maintainers: run `coursekit matrix check`, then add the "
            "release to envs/torch-matrix.toml with its sources",
        )
    ]


BY_CATEGORY: dict[str, tuple[Rule, ...]] = {"platform": (torch_newer_release,)}
"""The only list of this module's rules, by the category of their findings."""
