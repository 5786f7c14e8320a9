"""The graders' shared SGD stand-in behaves like torch.optim.SGD for the calls student code makes."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from coursekit.grading.api import CheckFailed  # noqa: E402
from coursekit.grading.torchkit import SGD, as_number, over  # noqa: E402


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
