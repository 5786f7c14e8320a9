"""The graders' shared SGD stand-in behaves like torch.optim.SGD for the calls student code makes."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from coursekit.grading.api import CheckFailed  # noqa: E402
from coursekit.grading.torchkit import (  # noqa: E402
    SGD,
    StepRecord,
    as_float,
    as_number,
    clipped_update_error,
    over,
)


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))


@pytest.mark.torch
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("set_to_none", [True, False])
def test_sgd_matches_torch_optim_sgd(momentum: float, set_to_none: bool) -> None:
    x, y = torch.randn(8, 4), torch.randn(8, 1)
    ours, theirs = _model(), _model()
    opt_ours = SGD(ours.parameters(), lr=0.1, momentum=momentum)
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=momentum)
    for step in range(3):
        for model, opt in ((ours, opt_ours), (theirs, opt_theirs)):
            opt.zero_grad(set_to_none=set_to_none)  # student code may pass it (lab 8 failed on it)

            def closure(model: torch.nn.Module = model) -> torch.Tensor:
                loss = torch.nn.functional.mse_loss(model(x), y)
                loss.backward()
                return loss

            if step == 2:
                assert opt.step(closure) is not None  # step(closure) returns the loss, like torch
            else:
                closure()
                opt.step()
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    assert opt_ours.param_groups[0]["params"] == list(ours.parameters())


def test_over_treats_nan_as_over() -> None:
    assert over(float("nan"), 1.0) and over(2.0, 1.0) and not over(1.0, 1.0)


def _clip_case(kind: str) -> tuple[StepRecord, list[torch.Tensor], list[torch.Tensor]]:
    """One recorded update of gradient (3, 4) + (0, 12) (global norm 13) at max_norm 1."""
    fresh = [torch.tensor([3.0, 4.0]), torch.tensor([0.0, 12.0])]
    leftover = [torch.tensor([1.0, 1.0]), torch.tensor([1.0, 1.0])]
    used = {
        "right": [g / (13 + 1e-6) for g in fresh],
        "unclipped": fresh,
        "stale": [(g + o) / (torch.cat([a + b for a, b in zip(fresh, leftover)]).norm() + 1e-6)
                  for g, o in zip(fresh, leftover)],
        "per-parameter": [fresh[0] / 5, fresh[1] / 12],
        "value": [g.clamp(-1, 1) for g in fresh],
        "norm-2": [2 * g / 13 for g in fresh],
    }[kind]
    events = ["backward", "update"] if kind == "unclipped" else ["backward", "clip-norm", "update"]
    return StepRecord(events=events, grads=[used]), fresh, leftover if kind == "stale" else [
        torch.zeros(2), torch.zeros(2)]


@pytest.mark.torch
@pytest.mark.parametrize(("kind", "phrase"), [
    ("right", None), ("unclipped", "no clipping"), ("stale", "previous step's"),
    ("per-parameter", "each parameter clipped separately"), ("value", "value clipping"),
    ("norm-2", "it must be 1"),
])
def test_clipped_update_is_judged_where_the_parameters_change(kind: str, phrase: str | None) -> None:
    rec, fresh, leftover = _clip_case(kind)
    why = clipped_update_error(rec, fresh, leftover, 1.0)
    assert (why is None) if phrase is None else (why is not None and phrase in why), why


@pytest.mark.torch
def test_before_update_sees_the_gradients_a_closure_left() -> None:
    model = _model()
    opt = SGD(model.parameters(), lr=0.1)
    seen: list[float] = []
    opt.before_update = lambda: seen.append(sum(float(p.grad.abs().sum()) for p in model.parameters()))

    def closure() -> torch.Tensor:
        loss = model(torch.ones(2, 4)).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert len(seen) == 1 and seen[0] > 0  # called after the closure ran, before the update


@pytest.mark.torch
@pytest.mark.parametrize(("value", "want"), [
    (2.5, 2.5), (3, 3.0), (torch.tensor(1.5), 1.5), (torch.tensor([0.25]), 0.25),
    (torch.tensor(2.0, requires_grad=True) * 1, 2.0), (True, None), (None, None), ([1.0], None),
    (torch.tensor([1.0, 2.0]), None),
])
def test_as_float_is_the_one_number_rule(value: object, want: float | None) -> None:
    assert as_float(value) == want


@pytest.mark.torch
def test_one_rule_for_numbers() -> None:
    """Every lab reads a student's number the same way: a float/int or a one-element tensor."""
    assert as_number(0.25, "f()") == 0.25 and as_number(3, "f()") == 3.0
    assert as_number(torch.tensor(0.5), "f()") == 0.5
    assert as_number(torch.tensor([[0.5]], requires_grad=True), "f()") == 0.5
    for bad, words in ((None, "NoneType"), (True, "bool"), ("0.5", "str"),
                       (torch.zeros(3), "shape (3,)"), (torch.tensor(True), "torch.bool")):
        with pytest.raises(CheckFailed, match="return one number") as info:
            as_number(bad, "f()")
        assert words in info.value.message
