"""The worker's tamper check (issue 17): torch rebinds some of its own functions when a lazily
loaded submodule is imported (``torch._dynamo`` wraps ``torch.manual_seed``; building a
``torch.optim`` optimizer, ``torch.func.grad``, ``jacrev``, checkpointing or ``torch.compile``
import it). A correct solution that does any of that inside a graded function must pass in every
lab; a student's own patch of a guarded name must still be caught, and the message must name
what was replaced and by what.

The lab cases run the real worker (``grade()`` with this interpreter's torch), because the
tamper check lives only there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from coursekit.grading import worker
from coursekit.lab.checking import GradeReport, Status, grade
from coursekit.lab.manifest import LabSpec, discover_labs
from tests.labhelpers import FIXTURE_COURSE, REPO
from tests.prereqs import need_module

need_module("torch")

LABS = {spec.number: spec for spec in discover_labs(REPO / "labs")}
FIXTURE = discover_labs(FIXTURE_COURSE)[0]

# Appended to every student file of a lab's reference solution: each public function defined
# in the file first does, on its first call (so inside a graded check), everything a correct
# solution may plausibly do with torch's optimizers and autograd/functorch APIs. torch's RNG
# state is forked so the extra work does not change what the grader measures.
EXERCISE = '''

import functools as _ck_functools
import inspect as _ck_inspect

import torch as _ck_torch


def _ck_exercise():
    t = _ck_torch
    with t.random.fork_rng(devices=[]):
        # no nn.Linear: building one calls torch.nn.init, which lab 3's by-hand checks refuse
        weight = t.nn.Parameter(t.full((2, 3), 0.1))
        bias = t.nn.Parameter(t.zeros(2))

        def lin(x):
            return x @ weight.T + bias

        x = t.ones(4, 3)
        for make in (lambda p: t.optim.SGD(p, lr=0.01, momentum=0.9),
                     lambda p: t.optim.Adam(p, lr=1e-3)):
            opt = make([weight, bias])
            opt.zero_grad()
            lin(x).pow(2).sum().backward()
            opt.step()
        w = t.linspace(-1.0, 1.0, 3)
        t.func.grad(lambda v: (v * v).sum())(w)
        t.func.vmap(t.sin)(x)
        t.func.jacrev(t.sin)(w)
        t.autograd.functional.jacobian(t.sin, w)
        wr = w.clone().requires_grad_()
        t.autograd.grad((wr * wr).sum(), wr)
        with t.no_grad():
            lin(x)
        with t.inference_mode():
            lin(x)


def _ck_wrap(func):
    calls = []

    @_ck_functools.wraps(func)
    def wrapper(*args, **kwargs):
        if not calls:
            calls.append(1)
            _ck_exercise()
        return func(*args, **kwargs)
    return wrapper


for _ck_name, _ck_value in list(globals().items()):
    if (_ck_inspect.isfunction(_ck_value) and _ck_value.__module__ == __name__
            and not _ck_name.startswith("_")):
        globals()[_ck_name] = _ck_wrap(_ck_value)
'''


def _summary(report: GradeReport) -> str:
    return f"{report.status} {report.problem}\n" + "\n".join(
        f"{'PASS' if c.passed else 'FAIL'} {c.name}: {c.message}" for c in report.checks)


def _solution_with(spec: LabSpec, dest: Path, extra: str) -> Path:
    shutil.copytree(spec.solution_dir, dest)
    for name in spec.student_files:
        path = dest / name
        path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return dest


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.realtool
@pytest.mark.parametrize("number", sorted(LABS))
def test_solution_using_optimizers_and_functorch_inside_graded_functions_passes(
        number: int, tmp_path: Path) -> None:
    spec = LABS[number]
    folder = _solution_with(spec, tmp_path / spec.folder_name, EXERCISE)
    report = grade(spec, folder, sys.executable)
    assert report.status is Status.PASSED, _summary(report)
    assert "monkey-patching" not in _summary(report)


# Real patches by student code, each done inside a graded function (so after the snapshot):
# the lab must not pass and the message names the name and its replacement.
PATCHES = {
    "torch.manual_seed": ("torch.manual_seed = lambda seed: None", "torch.manual_seed", "<lambda>"),
    # wrapped with functools.wraps: looks like the original by name, but is not torch's
    "wraps-manual-seed": (
        ("import functools\n"
        "_real = torch.manual_seed\n"
        "@functools.wraps(_real)\n"
        "def fake_seed(seed):\n"
        "    return _real(0)\n"
        "torch.manual_seed = fake_seed"),
        "torch.manual_seed", "fake_seed"),
    # torch's own wrapper, but around the student's fake: still a patch
    "disable-dynamo-around-fake": (
        ("def quiet(*a, **k):\n    return None\n"
        "torch.nn.init.kaiming_normal_ = torch._disable_dynamo(quiet)"),
        "torch.nn.init.kaiming_normal_", "quiet"),
    "isfinite": ("torch.isfinite = lambda t: torch.ones_like(t, dtype=torch.bool)",
                 "torch.isfinite", "<lambda>"),
    "tensor-method": ("torch.Tensor.norm = lambda self, *a, **k: torch.tensor(1.0)",
                      "torch.Tensor.norm", "<lambda>"),
    "math-isfinite": ("import math\nmath.isfinite = lambda v: True", "math.isfinite", "<lambda>"),
    "builtins-abs": ("import builtins\nbuiltins.abs = lambda v: 0", "builtins.abs", "<lambda>"),
    "deleted": ("del torch.nn.functional.relu", "torch.nn.functional.relu", "deleted"),
}


def _patched_fixture(tmp_path: Path, patch: str) -> Path:
    folder = tmp_path / "lab01-fixture"
    folder.mkdir()
    source = (FIXTURE_COURSE / "01-fixture" / "solution" / "work.py").read_text(encoding="utf-8")
    body = textwrap.indent(patch, "    ")
    (folder / "work.py").write_text(
        source + "\n\nimport torch\n\n_real_answer = answer\n\n\ndef answer():\n"
        f"{body}\n    return _real_answer()\n", encoding="utf-8")
    return folder


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.realtool
@pytest.mark.parametrize("case", sorted(PATCHES))
def test_a_real_patch_inside_a_check_is_caught_and_named(case: str, tmp_path: Path) -> None:
    patch, name, by = PATCHES[case]
    report = grade(FIXTURE, _patched_fixture(tmp_path, patch), sys.executable)
    assert report.status is Status.NOT_YET, _summary(report)
    messages = _summary(report)
    assert f"replaced {name}" in messages or f"deleted {name}" in messages, messages
    assert by in messages, messages


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.realtool
def test_fixture_solution_that_imports_dynamo_in_a_check_passes(tmp_path: Path) -> None:
    report = grade(FIXTURE, _patched_fixture(tmp_path, "torch.optim.SGD([torch.zeros(1, "
                                             "requires_grad=True)], lr=0.1).step()"),
                   sys.executable)
    assert report.status is Status.PASSED, _summary(report)


# ---- the survey: which guarded names does torch itself rebind on its lazy imports? ----

# Every guarded name torch is known to rebind when a lazily-loaded submodule is imported, and
# the submodule that does it. torch 2.13: torch/_dynamo/__init__.py wraps torch.manual_seed in
# torch._disable_dynamo. A new entry here needs a look at how the tamper check treats it.
KNOWN_REBINDS = {"torch.manual_seed"}

_SCAN = r'''
import importlib, json, pkgutil, sys, types, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[1])
from coursekit.grading import api, worker
import torch
grader = types.ModuleType("grader")
snap = worker._snapshot(worker._guarded_namespaces(api, grader))
names = [m.name for m in pkgutil.walk_packages(torch.__path__, "torch.", onerror=lambda n: None)
         if m.name.split(".")[1] in {"_dynamo", "func", "optim", "autograd", "compiler", "_functorch",
                                     "fx", "export", "_export", "utils", "nn", "jit", "amp",
                                     "distributions", "linalg", "special", "fft", "onnx",
                                     "_inductor", "profiler", "sparse", "nested", "masked"}
         and ".test" not in m.name and "_internal" not in m.name]
imported = 0
for name in names:
    try:
        importlib.import_module(name)
        imported += 1
    except BaseException:
        continue
raw = [(f"{n}.{k}") for n, obj, before in snap for k, v in before.items()
       if k not in worker._VOLATILE and vars(obj).get(k) is not v]
print(json.dumps({"imported": imported, "rebound": raw, "flagged": worker._tampered(snap)}))
'''


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.realtool
def test_scan_torch_rebinds_only_known_guarded_names_on_lazy_imports(tmp_path: Path) -> None:
    """Fails when a new torch starts rebinding another guarded name on import (so the tamper
    check would accuse correct code), and checks the worker accepts each known rebind."""
    out = subprocess.run([sys.executable, "-I", "-c", _SCAN, str(REPO)], capture_output=True,
                         text=True, timeout=600, cwd=tmp_path, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["imported"] > 200, result  # the scan really imported torch's submodules
    assert set(result["rebound"]) <= KNOWN_REBINDS, (
        "torch now rebinds more guarded names on import; check how the tamper check treats them: "
        f"{sorted(set(result['rebound']) - KNOWN_REBINDS)}")
    assert result["flagged"] == [], result


def test_tamper_message_names_the_replacement() -> None:
    import types

    ns = types.ModuleType("fake_ns")
    ns.f = len  # type: ignore[attr-defined]
    snap = worker._snapshot([("fake_ns", ns)])

    def fake_len(x: object) -> int:
        return 0

    ns.f = fake_len  # type: ignore[attr-defined]
    assert worker._tampered(snap) == [
        (f"replaced fake_ns.f with {__name__}.test_tamper_message_names_the_replacement"
        ".<locals>.fake_len")]
    del ns.f  # type: ignore[attr-defined]
    assert worker._tampered(snap) == ["deleted fake_ns.f"]
    ns.f = 3  # type: ignore[attr-defined]
    assert worker._tampered(snap) == ["replaced fake_ns.f with an object of type builtins.int"]


def test_only_torch_own_wrapper_of_the_original_is_accepted() -> None:
    """The rule in isolation, with torch's real wrapper (torch._disable_dynamo)."""
    import functools
    import types

    import torch

    ns = types.ModuleType("fake_ns")
    original = torch.random.manual_seed
    ns.seed = original  # type: ignore[attr-defined]
    snap = worker._snapshot([("fake_ns", ns)])
    ns.seed = torch._disable_dynamo(original)  # type: ignore[attr-defined]
    assert worker._tampered(snap) == []  # what torch._dynamo does to torch.manual_seed

    def fake(seed: int) -> None:
        return None

    ns.seed = torch._disable_dynamo(fake)  # type: ignore[attr-defined]
    assert worker._tampered(snap)[0].startswith("replaced fake_ns.seed with ")
    ns.seed = functools.wraps(original)(fake)  # type: ignore[attr-defined]
    changed = worker._tampered(snap)
    assert changed and "fake in test_grading_tamper.py" in changed[0], changed
    ns.seed = functools.wraps(original)(lambda seed: original(seed))  # type: ignore[attr-defined]
    assert worker._tampered(snap), "a student's wrapper (code outside torch) is not torch's own"
