"""Content tests for labs 3-8: the starter fails, the solution passes on two sets of seeds,
and every typical mistake fails the check it is meant to fail, with a message naming it.

Graders run in-process through ``coursekit.grading.api.run_checks`` against a temporary copy
of each student folder (as ``coursekit lab N --check`` would hand it to the worker).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coursekit.grading.api import (
    CheckFailed,
    CheckResult,
    LabContext,
    collect_checks,
    load_grader,
    run_checks,
)
from tests.labhelpers import mistake_folder

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

LABS = Path(__file__).resolve().parent.parent / "labs"

# lab folder -> mistake folder -> (the check that must fail, a phrase its message must contain)
MISTAKES: dict[str, dict[str, tuple[str, str]]] = {
    "03-initialisation": {
        "variance-1-over-n": ("he_by_hand", "variance 1/fan_in where He init needs 2/fan_in"),
        "fan-out": ("he_by_hand", "used the fan-out"),
        "he-on-tanh": ("tanh_net_xavier", "He init (for ReLU) on a tanh net"),
        "tanh-gain-1": ("tanh_net_xavier", "Xavier with gain 1"),
        "calls-torch-init": ("he_by_hand", "by hand"),
    },
    "04-activations": {
        "elu-without-minus-one": ("leaky_relu_and_elu_by_hand", "alpha * (exp(x) - 1)"),
        "elu-nan-gradient": ("leaky_relu_and_elu_by_hand", "non-finite gradient"),
        "sigmoid-one-sided": ("measures_saturation_and_dead_units", "only the top end"),
        "dead-per-entry": ("measures_saturation_and_dead_units", "on ANY probe"),
        "relu-dies": ("healthy_mlp_has_no_dead_units", "Dying ReLUs"),
        "sigmoid-vanishes": ("healthy_mlp_passes_the_gradient", "sigmoid's slope is at most 1/4"),
        "default-init": ("healthy_mlp_passes_the_gradient", "PyTorch's default init"),
        "shared-linear": ("healthy_mlp_passes_the_gradient", "share one weight matrix"),
    },
    "05-batch-norm": {
        "bn-after-activation": ("bn_between_linear_and_activation", "You normalise after the activation"),
        "wrong-feature-size": ("bn_between_linear_and_activation", "wrong feature size"),
        "no-eval": ("predict_uses_eval_mode", "Forgot eval() at test time"),
        "no-train-mode": ("train_step_uses_train_mode", "Call model.train()"),
        "shared-block": ("deep_sigmoid_trains_with_bn", "used for several layers"),
    },
    "06-gradient-clipping": {
        "clip-before-backward": ("train_step_clips_and_trains", "clipping before backward"),
        "clip-after-step": ("train_step_clips_and_trains", "clipping after step"),
        "value-instead-of-norm": ("train_step_clips_and_trains", "value clipping where norm clipping is asked"),
        "per-parameter-norm": ("clip_by_global_norm_by_hand", "clipped each parameter separately"),
        "returns-clipped-norm": ("clip_by_global_norm_by_hand", "return the norm before clipping"),
        "keras-clipnorm-global": ("keras_semantics", "clips each variable's gradient separately"),
    },
    "07-residual-connections": {
        "no-skip": ("block_adds_the_skip_path", "the skip path is missing"),
        "scale-ignored": ("block_adds_the_skip_path", "the scale is ignored"),
        "no-zero-init": ("zero_init_block_is_identity", "zero_init must set the branch's last Linear"),
        "zero-both-linears": ("zero_init_block_is_identity", "only fc2 is zeroed"),
        "repeated-block": ("gradient_reaches_the_first_block", "one block object used 20 times"),
    },
    "08-rnn-long-sequences": {
        "reach-reversed": ("measures_gradient_reach", "you computed last/first"),
        "forget-bias-both": ("lstm_forget_bias", "you set both bias_ih and bias_hh"),
        "forget-bias-input-gate": ("lstm_forget_bias", "changed the input gate of layer 0, not the forget gate"),
        "forget-bias-1": ("long_memory_reaches_back", "The forget-gate bias is 1"),
        "tanh-rnn": ("long_memory_reaches_back", "Use ReLU units with W_hh = I"),
        "clip-after-step": ("train_step_clips_recurrent_gradients", "train_step clips after step"),
    },
}
# Checks a mistake must fail besides the named one, where the behaviour shows it too.
ALSO_FAILS: dict[tuple[str, str], dict[str, str]] = {
    ("03-initialisation", "variance-1-over-n"): {"relu_net_keeps_scale": "variance 1/fan_in where He needs 2/fan_in"},
    ("05-batch-norm", "wrong-feature-size"): {"deep_sigmoid_trains_with_bn": "wrong feature size"},
    ("07-residual-connections", "no-zero-init"): {"gradient_reaches_the_first_block": "the branches are added unscaled"},
    ("07-residual-connections", "no-skip"): {"residual_net_trains": "the residual net must reach"},
    ("08-rnn-long-sequences", "forget-bias-input-gate"): {"long_memory_reaches_back": "The forget-gate bias is"},
}

SECOND_SEEDS = (3, 4, 5)


@pytest.fixture(autouse=True)
def _restore_torch_threads() -> Iterator[None]:
    """Graders use one torch thread (small nets); give the test process its setting back."""
    try:
        import torch
    except ImportError:  # the lab.toml tests run without torch
        yield
        return
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _layout(lab: str, variant: Path, student: Path) -> None:
    """starter/ or solution/ as they are; a mistake is the solution with its diff applied."""
    if variant.parent.name == "mistakes":
        mistake_folder(LABS / lab, variant, student)
    else:
        shutil.copytree(variant, student)


def _grade(lab: str, variant: Path, tmp_path: Path, seeds: tuple[int, ...] = (0, 1, 2)) -> dict[str, CheckResult]:
    student = tmp_path / "student"
    _layout(lab, variant, student)
    ctx = LabContext(student_dir=student, figures_dir=tmp_path / "figures", seeds=seeds)
    results = run_checks(LABS / lab / "grader.py", ctx)
    assert results, f"{lab}: the grader defines no checks"
    errors = [f"{r.name}: {r.message}" for r in results if r.error]
    assert not errors, f"{lab}: the grader itself failed: {errors}"
    return {r.name: r for r in results}


def _summary(results: dict[str, CheckResult]) -> str:
    return "\n".join(f"{'PASS' if r.passed else 'FAIL'} {r.name}: {r.message}" for r in results.values())


@pytest.mark.parametrize("lab", sorted(MISTAKES))
def test_lab_toml_describes_the_lab(lab: str) -> None:
    meta = tomllib.loads((LABS / lab / "lab.toml").read_text(encoding="utf-8"))
    number, slug = lab.split("-", 1)
    assert meta["format_version"] == 1
    assert meta["number"] == int(number) and meta["slug"] == slug
    assert meta["title"] and meta["version"] >= 1
    assert 0 < meta["timeout_s"] <= 120 and meta["memory_mb"] >= 512
    assert len(meta["hints"]) >= 3
    assert (LABS / lab / "README.md").is_file()
    assert f"coursekit lab {int(number)} --check" in (LABS / lab / "README.md").read_text(encoding="utf-8")
    for name in meta["student_files"]:
        starter = (LABS / lab / "starter" / name).read_text(encoding="utf-8")
        assert "TODO" in starter and "raise NotImplementedError" in starter
        assert (LABS / lab / "solution" / name).is_file()
        for mistake in MISTAKES[lab]:
            folder = LABS / lab / "mistakes" / mistake
            assert (folder / name).is_file() or (folder / f"{name}.diff").is_file()


@pytest.mark.parametrize("lab", sorted(MISTAKES))
def test_every_mistake_folder_is_tested(lab: str) -> None:
    folders = {p.name for p in (LABS / lab / "mistakes").iterdir() if p.is_dir()}
    assert folders == set(MISTAKES[lab])


@pytest.mark.torch
@pytest.mark.parametrize("lab", sorted(MISTAKES))
def test_starter_does_not_pass(lab: str, tmp_path: Path) -> None:
    results = _grade(lab, LABS / lab / "starter", tmp_path)
    assert not any(r.passed for r in results.values()), _summary(results)
    assert sum(r.points for r in results.values()) < sum(r.max_points for r in results.values())
    # every check stops at a TODO, not at something the starter got wrong by accident
    assert all("notimplementederror" in r.message.lower().replace(" ", "") or "not implemented" in r.message.lower()
               for r in results.values()), _summary(results)


@pytest.mark.torch
@pytest.mark.parametrize("seeds", [(0, 1, 2), SECOND_SEEDS], ids=["seeds-0-1-2", "seeds-3-4-5"])
@pytest.mark.parametrize("lab", sorted(MISTAKES))
def test_solution_passes_every_check(lab: str, seeds: tuple[int, ...], tmp_path: Path) -> None:
    results = _grade(lab, LABS / lab / "solution", tmp_path, seeds)
    assert all(r.passed for r in results.values()), _summary(results)
    assert list((tmp_path / "figures").glob("*.png")), "the solution's check draws no figure"


def _failures(lab: str, variant: Path, tmp_path: Path, names: set[str]) -> dict[str, str | None]:
    """Run only the named checks (the whole grader runs in the starter/solution tests); return
    each check's failure message, or None when it passed."""
    student = tmp_path / "student"
    _layout(lab, variant, student)
    ctx = LabContext(student_dir=student, figures_dir=tmp_path / "figures")
    specs = {spec.name: spec for spec in collect_checks(load_grader(LABS / lab / "grader.py"))}
    assert names <= set(specs), f"no checks named {names - set(specs)}"
    out: dict[str, str | None] = {}
    for name in names:
        try:
            specs[name].func(ctx)
            out[name] = None
        except CheckFailed as exc:  # StudentCodeError included
            out[name] = exc.message
    return out


@pytest.mark.torch
@pytest.mark.parametrize(
    ("lab", "mistake"), [(lab, m) for lab in sorted(MISTAKES) for m in sorted(MISTAKES[lab])])
def test_mistake_fails_with_a_message_naming_it(lab: str, mistake: str, tmp_path: Path) -> None:
    expected = {MISTAKES[lab][mistake][0]: MISTAKES[lab][mistake][1], **ALSO_FAILS.get((lab, mistake), {})}
    failures = _failures(lab, LABS / lab / "mistakes" / mistake, tmp_path, set(expected))
    for name, phrase in expected.items():
        assert failures[name] is not None, f"{lab}/{mistake}: check {name} passed"
        assert phrase in failures[name], f"{lab}/{mistake}: {name} failed with: {failures[name]}"
