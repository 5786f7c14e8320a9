"""A category whose problem another finding explains shows `[-]` with the reason, never `[✓]`."""

from __future__ import annotations

import io

from coursekit.doctor.diagnose import diagnose_all
from coursekit.doctor.facts import Facts, from_data
from coursekit.doctor.report import make_report
from coursekit.render import Console
from coursekit.render.doctor import render_text
from tests.doctor.fixtures import finding_data, finding_facts, healthy, merge


def _lines(facts: Facts) -> list[str]:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8")
    render_text(Console(out=stream, color=False), make_report(facts))
    stream.flush()
    return raw.getvalue().decode("utf-8").splitlines()


def _torch_line(facts: Facts) -> str:
    return next(line for line in _lines(facts) if "] PyTorch" in line)


def test_torch_missing_behind_python_no_torch_wheel_is_not_a_green_tick() -> None:
    facts = finding_facts("python-no-torch-wheel")
    findings, hidden = diagnose_all(facts)
    assert "torch-missing" not in {f.id for f in findings}  # hidden by design (catalogue `unless`)
    assert [(h.finding.id, h.by) for h in hidden] == [("torch-missing", ("python-no-torch-wheel",))]
    assert _torch_line(facts) == (
        "[-] PyTorch (import torch: missing; blocked by python-no-torch-wheel under Platform)")
    assert "[✗] Platform (" in "\n".join(_lines(facts))


def test_python_37_env_too() -> None:
    data = merge(finding_data("python-no-torch-wheel"),
                 {"env": {"python_version": "3.7.16"}, "probe": {"data": {"python": {"version": "3.7.16"}}}})
    assert _torch_line(from_data(Facts, data)).startswith("[-] PyTorch (import torch: missing; blocked by ")


def test_an_unexplained_missing_torch_is_still_an_error() -> None:
    line = _torch_line(finding_facts("torch-missing"))
    assert line.startswith("[✗] PyTorch (import torch: missing")


def test_a_healthy_torch_keeps_its_tick() -> None:
    assert _torch_line(healthy("cpu_linux")) == "[✓] PyTorch (2.13.0+cpu, CPU build)"
