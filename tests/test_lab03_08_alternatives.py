"""Correct answers written differently from the reference solution must pass too: the graders
measure behaviour, not the reference's code shape. Each alternative is the solution with one
function rewritten (a string replacement, so the reference stays the single source)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from coursekit.grading.api import LabContext, run_checks
from tests.prereqs import need_module

LABS = Path(__file__).resolve().parent.parent / "labs"

# (lab, student file, [(text in the solution, replacement)], why it is still right)
ALTERNATIVES: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    # One activation instance reused after every Linear (ReLU/Sigmoid hold no state): the
    # graders once counted modules with .modules(), which lists a shared module once.
    "shared-activation-module": ("02-vanishing-gradients", "vanishing.py", [
        ("    layers: list[nn.Module] = []\n", "    layers: list[nn.Module] = []\n    act = ACTIVATION[activation]()\n"),
        ("layers += [linear, ACTIVATION[activation]()]", "layers += [linear, act]")]),
    "shared-sigmoid-module": ("05-batch-norm", "batchnorm.py", [
        ("    n_in = in_features\n", "    n_in = in_features\n    sig = nn.Sigmoid()\n"),
        ("bn_block(n_in, width, nn.Sigmoid())", "bn_block(n_in, width, sig)"),
        ("[nn.Linear(n_in, width), nn.Sigmoid()]", "[nn.Linear(n_in, width), sig]")]),
    "he-via-init-normal": ("03-initialisation", "init.py", [(
        "    with torch.no_grad():\n        return weight.normal_(0.0, std)\n\n\ndef he_uniform_",
        "    return nn.init.normal_(weight, 0.0, std)  # by hand: std computed here\n\n\ndef he_uniform_")]),
    "init-net-with-torch-init": ("03-initialisation", "init.py", [(
        '            he_normal_(layer.weight, "relu")\n        elif isinstance(after, nn.Tanh):',
        '            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")\n        elif isinstance(after, nn.Tanh):')]),
    "leaky-via-relu-and-elu-net": ("04-activations", "activations.py", [
        ("    return torch.where(x > 0, x, negative_slope * x)",
         "    return torch.nn.functional.relu(x) - negative_slope * torch.nn.functional.relu(-x)"),
        ('        nn.init.kaiming_normal_(linear.weight, a=0.01, nonlinearity="leaky_relu")',
         '        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")'),
        ('        layers += [linear, make_activation("leaky_relu")]', "        layers += [linear, nn.ELU()]")]),
    "predict-restores-mode": ("05-batch-norm", "batchnorm.py", [(
        "    model.eval()  # BatchNorm: use the running mean/variance, leave them unchanged\n"
        "    with torch.no_grad():\n        return model(x)",
        "    was_training = model.training\n    model.eval()\n    try:\n        with torch.no_grad():\n"
        "            return model(x)\n    finally:\n        model.train(was_training)")]),
    "own-clipper-in-train-step": ("06-gradient-clipping", "clipping.py", [(
        "    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)  # ...clip them...",
        "    clip_by_global_norm_(model.parameters(), max_norm)")]),
    "branch-as-sequential": ("07-residual-connections", "residual.py", [
        ("        branch = self.fc2(F.relu(self.fc1(x)))", "        branch = self.branch(x)"),
        ("        nn.init.zeros_(self.fc2.bias)\n", "        nn.init.zeros_(self.fc2.bias)\n"
         "        self.branch = nn.Sequential(self.fc1, nn.ReLU(), self.fc2)\n")]),
    # torch's own optimizers accept it; the graders' SGD stand-in once did not (TypeError).
    "zero-grad-set-to-none": ("08-rnn-long-sequences", "long_rnn.py", [(
        "    optimizer.zero_grad()\n", "    optimizer.zero_grad(set_to_none=True)\n")]),
    "forget-bias-in-bias-hh": ("08-rnn-long-sequences", "long_rnn.py", [(
        '            getattr(lstm, f"bias_ih_l{layer}")[h:2 * h].fill_(value)\n'
        '            getattr(lstm, f"bias_hh_l{layer}")[h:2 * h].zero_()',
        '            getattr(lstm, f"bias_hh_l{layer}")[h:2 * h].fill_(value)\n'
        '            getattr(lstm, f"bias_ih_l{layer}")[h:2 * h].zero_()')]),
}


@pytest.fixture(autouse=True)
def _restore_torch_threads() -> Iterator[None]:
    torch = need_module("torch")
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_alternative_correct_answer_passes(name: str, tmp_path: Path) -> None:
    lab, filename, edits = ALTERNATIVES[name]
    student = tmp_path / "student"
    shutil.copytree(LABS / lab / "solution", student)
    text = (student / filename).read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, f"{name}: the solution no longer contains {old!r}"
        text = text.replace(old, new)
    (student / filename).write_text(text, encoding="utf-8")
    results = run_checks(LABS / lab / "grader.py", LabContext(student_dir=student, figures_dir=tmp_path / "fig"))
    failed = [f"{r.name}: {r.message}" for r in results if not r.passed]
    assert not failed, f"{name}: {failed}"
