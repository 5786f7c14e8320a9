"""The grader API in-process: figures never break grading, student errors are verdicts,
grader bugs are errors, seeds flush denormals."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from coursekit.grading.api import CheckFailed, LabContext, StudentCodeError, run_checks
from tests.prereqs import need_module


def _ctx(tmp_path: Path, reports: list[str] | None = None) -> LabContext:
    sink = reports if reports is not None else []
    return LabContext(student_dir=tmp_path, figures_dir=tmp_path / "figures", report=sink.append)


def test_a_figure_that_cannot_be_drawn_returns_none_and_reports(tmp_path: Path) -> None:
    need_module("matplotlib")
    reports: list[str] = []

    def broken(fig: object) -> None:
        raise ValueError("bad data")

    assert _ctx(tmp_path, reports).figure("x.png", broken) is None
    assert "x.png could not be drawn: ValueError: bad data" in reports[0]
    assert not (tmp_path / "figures" / "x.png").exists()


def test_without_matplotlib_figures_are_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    reports: list[str] = []
    assert _ctx(tmp_path, reports).figure("x.png", lambda fig: None) is None
    assert reports and "could not be drawn" in reports[0]


def test_figure_is_written(tmp_path: Path) -> None:
    need_module("matplotlib")
    path = _ctx(tmp_path).figure("y.png", lambda fig: fig.add_subplot().plot([1, 2]))
    assert path is not None and path.read_bytes()[:4] == b"\x89PNG"


def test_load_and_call_turn_student_failures_into_verdicts(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("def f():\n    return 1 / 0\n\ndef g():\n    raise NotImplementedError\n")
    ctx = _ctx(tmp_path)
    mod = ctx.load("m.py")
    assert ctx.load("m.py") is mod, "imported once per run"
    with pytest.raises(StudentCodeError, match=r"f\(\) raised ZeroDivisionError.*m.py line 2"):
        ctx.call(mod.f)
    with pytest.raises(StudentCodeError, match="not implemented yet"):
        ctx.call(mod.g)
    with pytest.raises(StudentCodeError, match="missing"):
        ctx.load("absent.py")


def test_run_checks_classifies_verdicts_and_grader_bugs(tmp_path: Path) -> None:
    student = tmp_path / "student"
    student.mkdir()
    (student / "m.py").write_text("import sys\n\ndef quit():\n    sys.exit(2)\n\ndef boom():\n    raise KeyError('k')\n")
    grader = tmp_path / "grader.py"
    grader.write_text(
        "from coursekit.grading.api import CheckFailed, check\n"
        "@check(points=2)\ndef ok(lab):\n    return 'fine'\n"
        "@check()\ndef fails(lab):\n    raise CheckFailed('not yet')\n"
        "@check()\ndef student_exit(lab):\n    lab.load('m.py').quit()\n"
        "@check()\ndef student_raises(lab):\n    lab.load('m.py').boom()\n"
        "@check()\ndef grader_bug(lab):\n    return {}['missing']\n")
    results = {r.name: r for r in run_checks(grader, _ctx(student))}
    assert results["ok"].passed and results["ok"].points == 2
    assert not results["fails"].passed and results["fails"].message == "not yet"
    assert "sys.exit" in results["student_exit"].message and not results["student_exit"].error
    assert "KeyError" in results["student_raises"].message and not results["student_raises"].error
    assert results["grader_bug"].error and "grader itself failed" in results["grader_bug"].message
    assert [r.name for r in results.values()] == ["ok", "fails", "student_exit", "student_raises",
                                                   "grader_bug"]
    assert issubclass(StudentCodeError, CheckFailed)


def test_seeded_seeds_and_flushes_denormals(tmp_path: Path) -> None:
    torch = need_module("torch")
    ctx = _ctx(tmp_path)
    draws = []
    for _seed in ctx.seeded():
        draws.append(torch.rand(1).item())
    again = []
    for _seed in ctx.seeded():
        again.append(torch.rand(1).item())
    assert draws == again and len(set(draws)) == 3
    assert torch.tensor([1e-40]).item() == 0.0, "denormals flushed"
    torch.set_flush_denormal(False)


def test_grading_runtime_imports_with_the_stdlib_alone(tmp_path: Path) -> None:
    """The worker's private copy must import with no site-packages at all (-I -S)."""
    import subprocess

    from coursekit.lab.checking import _runtime_copy

    runtime = _runtime_copy(tmp_path / "rt")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "import coursekit.grading.api, coursekit.grading.worker; "
            "print(sorted(m for m in ('torch', 'click', 'psutil', 'matplotlib') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(runtime)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert not (runtime / "coursekit" / "cli").exists(), "only the grading package is copied"


def test_errors_name_the_students_line_even_inside_library_code(tmp_path: Path) -> None:
    # A course folder that happens to be called "coursekit" must not hide the student's frames.
    student = tmp_path / "coursekit" / "lab01"
    student.mkdir(parents=True)
    (student / "m.py").write_text("import json\n\ndef f():\n    return json.loads('{')\n")
    ctx = _ctx(student)
    with pytest.raises(StudentCodeError, match=r"JSONDecodeError.*\(at m\.py line 4\)"):
        ctx.call(ctx.load("m.py").f)
