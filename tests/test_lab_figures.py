"""Issue 13 item 9: every lab figure, drawn from the reference solution, has a title, labelled
axes (the y axis with its unit or scale in parentheses), whole-number ticks where the x values
are layers, blocks or steps, and series that stay visible: none hidden under another."""

from __future__ import annotations

import math
from typing import Any

import pytest

from coursekit.lab.manifest import LabSpec, discover_labs
from tests.labhelpers import grade_in_process, student_folder, summary

from tests.prereqs import need_module
need_module("matplotlib")
pytestmark = [pytest.mark.torch, pytest.mark.slow]

LABS = [s for s in discover_labs() if "lab.figure(" in s.grader_path.read_text(encoding="utf-8")]


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[Any]]:
    """Every lab's figures (the matplotlib Figure objects), drawn once with the solution."""
    need_module("torch")
    from matplotlib.figure import Figure

    figures: dict[int, list[Any]] = {}
    real = Figure.savefig
    current: list[Any] = []

    def keep(self: Any, *args: Any, **kwargs: Any) -> Any:
        current.append(self)
        return real(self, *args, **kwargs)

    Figure.savefig = keep  # type: ignore[method-assign]
    try:
        for spec in LABS:
            current.clear()
            folder = student_folder(spec, tmp_path_factory.mktemp(spec.slug), spec.solution_dir)
            results = grade_in_process(spec, folder, seeds=(0, 1, 2))
            assert all(r.passed for r in results), summary(results)
            figures[spec.number] = list(current)
    finally:
        Figure.savefig = real  # type: ignore[method-assign]
    return figures


def _axes(drawn: dict[int, list[Any]], spec: LabSpec) -> list[Any]:
    figs = drawn[spec.number]
    assert figs, f"lab {spec.number} drew no figure"
    return [ax for fig in figs for ax in fig.get_axes()]


@pytest.mark.parametrize("spec", LABS, ids=lambda s: s.slug)
def test_titles_and_labelled_axes(drawn: dict[int, list[Any]], spec: LabSpec) -> None:
    for fig in drawn[spec.number]:
        suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
        for ax in fig.get_axes():
            assert ax.get_title() or suptitle, f"lab {spec.number}: an axes without a title"
            assert ax.get_xlabel().strip(), f"lab {spec.number}: x axis without a label"
            ylabel = ax.get_ylabel()
            assert "(" in ylabel and ")" in ylabel, (
                f"lab {spec.number}: y label {ylabel!r} names no unit or scale in parentheses")


@pytest.mark.parametrize("spec", LABS, ids=lambda s: s.slug)
def test_whole_number_ticks_for_layers_blocks_and_steps(drawn: dict[int, list[Any]],
                                                        spec: LabSpec) -> None:
    for ax in _axes(drawn, spec):
        lines = [ln for ln in ax.get_lines() if ln.get_transform() == ax.transData]
        if not lines or not all(float(x).is_integer() for ln in lines for x in ln.get_xdata()):
            continue
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert ticks and all(float(t).is_integer() for t in ticks), (
            f"lab {spec.number}, {ax.get_xlabel()!r}: ticks {ticks}")


def _points(line: Any) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in zip(line.get_xdata(), line.get_ydata())]


def _same(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> bool:
    return len(a) == len(b) and all(
        math.isclose(xa, xb) and math.isclose(ya, yb, rel_tol=1e-3, abs_tol=1e-9)
        for (xa, ya), (xb, yb) in zip(a, b))


def _marked(line: Any) -> bool:
    return line.get_marker() not in (None, "None", "none", "", " ")


def _style(line: Any) -> tuple[Any, ...]:
    return (line.get_marker(), line.get_linestyle(), line.get_markersize())


@pytest.mark.parametrize("spec", LABS, ids=lambda s: s.slug)
def test_no_series_hides_another(drawn: dict[int, list[Any]], spec: LabSpec) -> None:
    for ax in _axes(drawn, spec):
        data = [ln for ln in ax.get_lines() if ln.get_transform() == ax.transData]
        hlines = [ln for ln in ax.get_lines() if ln not in data and len(set(ln.get_ydata())) == 1]
        for i, a in enumerate(data):
            for b in data[i + 1:]:
                if _same(_points(a), _points(b)):  # drawn on top of each other
                    assert _style(a) != _style(b) and (_marked(a) or _marked(b)), (
                        f"lab {spec.number}: {a.get_label()!r} and {b.get_label()!r} coincide "
                        "and look the same: one hides the other")
            for h in hlines:
                level = float(h.get_ydata()[0])
                ys = [y for _, y in _points(a)]
                if ys and all(math.isclose(y, level, rel_tol=1e-3) for y in ys[len(ys) // 2:]):
                    assert _marked(a) and a.get_zorder() > h.get_zorder(), (
                        f"lab {spec.number}: {a.get_label()!r} runs along {h.get_label()!r} "
                        "and disappears under it")


def test_lab4_seeds_are_told_apart(drawn: dict[int, list[Any]]) -> None:
    lab4 = next(s for s in LABS if s.number == 4)
    seeds = [ln for ax in _axes(drawn, lab4) for ln in ax.get_lines() if "seed" in ln.get_label()]
    assert len(seeds) == 3
    assert len({_style(ln) for ln in seeds}) == 3 and len({ln.get_color() for ln in seeds}) == 3
