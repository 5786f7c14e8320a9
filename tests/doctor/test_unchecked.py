"""The doctor never shows [✓] for what it did not check (issue 10, item 17): without a course
env the env's categories (kernels included) are [-] not checked, and a torch folder without its
files (no __init__.py: an empty namespace package) is an error, not `[✓] PyTorch (, CPU build)`."""

from __future__ import annotations

import io

from coursekit.doctor.facts import Facts, from_data
from coursekit.doctor.report import make_report
from coursekit.render import Console
from coursekit.render.doctor import render_text
from tests.doctor.fixtures import finding_data, healthy_data, merge


def _text(facts: Facts) -> str:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8")
    render_text(Console(out=stream, color=False), make_report(facts))
    stream.flush()
    return raw.getvalue().decode("utf-8")


def test_without_an_env_no_env_category_is_ticked() -> None:
    facts = from_data(Facts, finding_data("env-missing"))
    text = _text(facts)
    for title in ("PyTorch", "torchvision, torchaudio, NumPy, Lightning", "Jupyter kernels",
                  "pip configuration"):
        line = next(line for line in text.splitlines() if title in line and line.startswith("["))
        assert line.startswith("[-]"), line
    assert "[✓] Jupyter kernels" not in text


def test_a_torch_without_its_files_is_an_error() -> None:
    data = merge(healthy_data("cpu_linux"),
                 {"probe": {"data": {"torch": {"status": "ok", "version": "", "file": None}}}})
    report = make_report(from_data(Facts, data))
    assert "torch-import-failed" in {f.id for f in report.findings}
    text = _text(from_data(Facts, data))
    assert "[✗] PyTorch" in text and "(, CPU build)" not in text
