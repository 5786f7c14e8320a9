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


# --- issue 18: behaviours the mutation run left unpinned (bench/mutation.py grading_api) ----------

def test_check_registers_name_points_and_title() -> None:
    from coursekit.grading.api import check, collect_checks

    mod = type(sys)("grader_x")

    @check()
    def first_one(lab: object) -> None:
        """Title line.

        More text."""

    @check(points=3, name="renamed")
    def second_check(lab: object) -> None:
        pass

    mod.first_one, mod.second_check = first_one, second_check  # type: ignore[attr-defined]
    one, two = collect_checks(mod)
    assert (one.name, one.points, one.title) == ("first_one", 1, "Title line.")
    assert (two.name, two.points, two.title) == ("renamed", 3, "second check")


def test_load_puts_the_students_folder_first_while_importing_and_removes_it(tmp_path: Path) -> None:
    (tmp_path / "helper_i18.py").write_text("VALUE = 7\n")
    (tmp_path / "m.py").write_text(
        "import sys\nimport helper_i18\nFIRST = sys.path[0]\nV = helper_i18.VALUE\n")
    before = list(sys.path)
    try:
        mod = _ctx(tmp_path).load("m.py")
        assert mod.FIRST == str(tmp_path) and mod.V == 7
        assert sys.path == before
    finally:
        sys.modules.pop("helper_i18", None)
        sys.path[:] = before


def test_load_takes_out_its_own_path_entry_only(tmp_path: Path) -> None:
    # The student's import put another entry in front: coursekit's own entry still goes,
    # that one stays.
    (tmp_path / "m.py").write_text("import sys\nsys.path.insert(0, '/i18-elsewhere')\n")
    before = list(sys.path)
    try:
        _ctx(tmp_path).load("m.py")
        assert sys.path == ["/i18-elsewhere", *before]
    finally:
        sys.path[:] = before


def test_loaded_module_is_registered_so_its_objects_pickle(tmp_path: Path) -> None:
    import pickle

    (tmp_path / "json.py").write_text(
        "class Point:\n    def __init__(self, x):\n        self.x = x\n")
    import json as real_json

    mod = _ctx(tmp_path).load("json.py")
    try:
        assert sys.modules["json"] is real_json, "a student's json.py does not replace the stdlib's"
        assert pickle.loads(pickle.dumps(mod.Point(3))).x == 3
    finally:
        sys.modules.pop(mod.__name__, None)


@pytest.mark.parametrize(("source", "match"), [
    ("x = 1\ndef f(:\n", r"^m\.py line 2: syntax error: "),
    ("import sys\nsys.exit(4)\n",
     r"^m\.py called sys\.exit\(4\) while being imported; put script code under"),
    ("x = 1\nraise ValueError('bad')\n",
     r"^importing m\.py raised ValueError: bad \(at m\.py line 2\)$"),
])
def test_import_failures_name_the_file_and_line(tmp_path: Path, source: str, match: str) -> None:
    (tmp_path / "m.py").write_text(source)
    with pytest.raises(StudentCodeError, match=match):
        _ctx(tmp_path).load("m.py")


def test_a_file_python_cannot_import_is_a_verdict(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(StudentCodeError, match=r"^notes\.txt cannot be imported\.$"):
        _ctx(tmp_path).load("notes.txt")


def test_call_passes_arguments_and_names_sys_exit(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "import sys\ndef add(a, b=0):\n    return a + b\ndef q():\n    sys.exit(5)\n")
    ctx = _ctx(tmp_path)
    mod = ctx.load("m.py")
    assert ctx.call(mod.add, 2, b=3) == 5
    with pytest.raises(StudentCodeError, match=r"^q\(\) called sys\.exit\(5\)\.$"):
        ctx.call(mod.q)
    with pytest.raises(StudentCodeError, match=r"^your add raised TypeError"):
        ctx.call(mod.add, what="your add")


def test_seeded_seeds_python_random_too(tmp_path: Path) -> None:
    need_module("torch")
    import random

    ctx = _ctx(tmp_path)
    first = [random.random() for _ in ctx.seeded()]
    second = [random.random() for _ in ctx.seeded()]
    assert first == second and len(set(first)) == 3
    import torch

    torch.set_flush_denormal(False)


def _png_info(data: bytes) -> tuple[int, int, int | None]:
    """(width, height, dots per metre from the pHYs chunk) of a PNG."""
    import struct

    width, height = struct.unpack(">II", data[16:24])
    at = data.find(b"pHYs")
    ppm = struct.unpack(">I", data[at + 4:at + 8])[0] if at >= 0 else None
    return width, height, ppm


def test_figure_size_resolution_and_folders(tmp_path: Path) -> None:
    need_module("matplotlib")
    import matplotlib.pyplot as plt

    seen: list[object] = []

    def draw(fig: object) -> None:
        seen.append(fig)
        seen.append(tuple(fig.get_size_inches()))  # type: ignore[attr-defined]
        fig.add_subplot().plot([1, 2, 3], [0, 1, 0])  # type: ignore[attr-defined]
        plt.figure()  # a draw that opens another figure must not make coursekit close the wrong one

    ctx = LabContext(student_dir=tmp_path, figures_dir=tmp_path / "out" / "figures")
    before = set(plt.get_fignums())
    try:
        path = ctx.figure("a.png", draw)
        assert path == tmp_path / "out" / "figures" / "a.png"
        assert seen[1] == (7.0, 4.5)
        assert not plt.fignum_exists(seen[0].number)  # type: ignore[attr-defined]
        width, height, ppm = _png_info(path.read_bytes())
        assert ppm is not None and round(ppm * 0.0254) == 110
        assert width < 7 * 110 and height < 4.5 * 110, "cropped to the drawing (tight bbox)"
        again = ctx.figure("b.png", lambda fig: fig.add_subplot().plot([1, 2]))
        assert again is not None  # the folder exists by now
    finally:
        for num in set(plt.get_fignums()) - before:
            plt.close(num)


def test_integer_ticks_only_when_every_data_series_is_whole(tmp_path: Path) -> None:
    need_module("matplotlib")
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from coursekit.grading.api import integer_ticks

    def ticks(xs: list[float]) -> list[float]:
        fig = plt.figure()
        try:
            ax = fig.add_subplot()
            ax.plot(xs, [0.0] * len(xs))
            ax.axhline(0.5)  # drawn in axes coordinates: its x data (0, 1) is not a series
            integer_ticks(fig)
            fig.canvas.draw()
            lo, hi = ax.get_xlim()
            return [t for t in ax.get_xticks() if lo <= t <= hi]
        finally:
            plt.close(fig)

    assert all(float(t).is_integer() for t in ticks([1, 2, 3]))
    # integer=True would give 1, 2, 3 here
    assert not all(float(t).is_integer() for t in ticks([0.5, 3.5]))


def test_describe_exception_without_a_student_frame_adds_nothing() -> None:
    from coursekit.grading.api import describe_exception

    assert describe_exception(ValueError("x")) == "ValueError: x"


def test_describe_exception_picks_the_students_file(tmp_path: Path) -> None:
    from coursekit.grading.api import describe_exception

    (tmp_path / "a.py").write_text("def f(g):\n    return g()\n")
    (tmp_path / "b.py").write_text("def g():\n    raise KeyError('k')\n")
    ctx = _ctx(tmp_path)
    a, b = ctx.load("a.py"), ctx.load("b.py")
    try:
        a.f(b.g)
    except KeyError as exc:
        assert describe_exception(exc, student_file=tmp_path / "a.py").endswith("(at a.py line 2)")
        assert describe_exception(exc, student_file=tmp_path / "b.py").endswith("(at b.py line 2)")
        assert describe_exception(exc, student_file=tmp_path / "c.py") == "KeyError: 'k'"


def test_load_grader_failures_are_grader_errors(tmp_path: Path) -> None:
    from coursekit.grading.api import GraderError, load_grader

    (tmp_path / "grader.txt").write_text("x = 1\n")
    with pytest.raises(GraderError, match=r"^cannot load grader .*grader\.txt$"):
        load_grader(tmp_path / "grader.txt")
    (tmp_path / "grader.py").write_text("import no_such_module_i18\n")
    with pytest.raises(GraderError, match=r"grader\.py failed to import: ModuleNotFoundError: "):
        load_grader(tmp_path / "grader.py")


def test_run_check_every_outcome_in_full(tmp_path: Path) -> None:
    import time

    from coursekit.grading.api import CheckSpec, GraderError, run_check

    student = tmp_path / "student"
    student.mkdir()
    (student / "m.py").write_text(
        "import argparse\n\ndef parse():\n    argparse.ArgumentParser().parse_args(['--nope'])\n\n"
        "def boom():\n    raise KeyError('k')\n")
    reports: list[str] = []
    ctx = _ctx(student, reports)

    def raise_(exc: BaseException) -> None:
        raise exc

    def grader_bug(lab: LabContext) -> None:
        return {}["missing"]  # type: ignore[no-any-return]

    funcs = {
        "silent": lambda lab: None,
        "says": lambda lab: "fine",
        "fails": lambda lab: raise_(CheckFailed("not yet")),
        "cannot": lambda lab: raise_(GraderError("no GPU")),
        "exits": lambda lab: lab.load("m.py").parse(),
        "raises": lambda lab: lab.load("m.py").boom(),
        "bug": grader_bug,
    }
    results = {}
    for name, func in funcs.items():
        spec = CheckSpec(name, 2, f"title {name}", func)
        t0 = time.monotonic()
        results[name] = run_check(spec, ctx)
        assert 0 <= results[name].duration_s <= time.monotonic() - t0
    assert reports[0] == "checking: title silent"
    got = {n: (r.passed, r.error, r.points, r.max_points, r.title) for n, r in results.items()}
    assert got == {"silent": (True, False, 2, 2, "title silent"),
                   "says": (True, False, 2, 2, "title says"),
                   "fails": (False, False, 0, 2, "title fails"),
                   "cannot": (False, True, 0, 2, "title cannot"),
                   "exits": (False, False, 0, 2, "title exits"),
                   "raises": (False, False, 0, 2, "title raises"),
                   "bug": (False, True, 0, 2, "title bug")}
    assert results["silent"].message == "ok" and results["says"].message == "fine"
    assert results["cannot"].message == "the grader could not run this check: no GPU"
    # argparse raised SystemExit in the standard library: the student's line is named
    assert results["exits"].message.startswith(
        "your code called sys.exit: SystemExit: 2 (at m.py line 4)")
    assert results["raises"].message == "your code raised KeyError: 'k' (at m.py line 7)"
    assert results["bug"].message.startswith(
        "the grader itself failed: KeyError: 'missing' (at test_grading_api.py line")
