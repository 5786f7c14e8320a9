"""Rendering of ``coursekit matrix check``: the drift report as text or JSON."""

from __future__ import annotations

from typing import Any

from coursekit.jsondata import to_jsonable
from coursekit.render import Console
from coursekit.setup.plan.matrixcheck import CheckReport, summary_counts

SCHEMA = 1


def check_data(report: CheckReport) -> dict[str, Any]:
    """The JSON contract of ``coursekit matrix check --json`` (schema 1)."""
    return {
        "kind": "coursekit-matrix-check",
        "schema": SCHEMA,
        "index": report.index,
        "ok": report.ok,
        "pages_read": report.pages_read,
        "newest_on_index": report.newest_on_index,
        "newest_in_matrix": report.newest_in_matrix,
        "counts": summary_counts(report.drifts),
        "drifts": to_jsonable(list(report.drifts)),
    }


def render_check(console: Console, report: CheckReport, *, as_json: bool) -> None:
    if as_json:
        console.json(check_data(report))
        return
    console.print(f"Index: {report.index} ({report.pages_read} pages read)")
    console.print(
        f"Newest torch: {report.newest_on_index or 'none found'} on the index, "
        f"{report.newest_in_matrix} in envs/torch-matrix.toml"
    )
    if report.ok:
        console.print(console.style("No drift: the matrix matches the index.", "green"))
        return
    for drift in report.drifts:
        console.print(f"  {console.style(drift.kind, 'yellow')}  [{drift.release}] {drift.message}")
    counts = ", ".join(f"{n} {kind}" for kind, n in summary_counts(report.drifts).items())
    console.print(
        console.style(
            f"Drift: {counts}. Update envs/torch-matrix.toml (with sources) and run the tests.",
            "bold",
        )
    )
