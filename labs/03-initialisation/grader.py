"""Grader for lab 3: initialisation by hand (He/Kaiming, Xavier/Glorot) and across depth.

Every number is measured here by running the student's functions on fixed seeds; the
thresholds carry the margins measured with the reference solution and each typical mistake
(PyTorch 2.13.0 CPU, seeds 0-5) in a comment beside them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import torch
from torch import nn

from coursekit.grading.api import CheckFailed, LabContext, check
from coursekit.grading.torchkit import over, setup_torch

STUDENT_FILE = "init.py"
SHAPE = (100, 400)  # (out_features, in_features): fan_in 400 != fan_out 100 exposes a swapped fan
DEPTH, WIDTH, BATCH = 20, 256, 256
# Sample std of 40 000 draws is within ~0.4 % of the true std (relative s.e. 1/sqrt(2n)).
# Measured |std/expected - 1| with the solution: <= 0.006 over 6 seeds; the mistakes sit at
# 0.29 (variance 1/n: ratio 0.707), 1.0 (fan-out: ratio 2.0), 0.41 (gain sqrt 2 for sigmoid).
STD_TOL = 0.03
_TORCH_INITS = ("kaiming_normal_", "kaiming_uniform_", "xavier_normal_", "xavier_uniform_")


@contextlib.contextmanager
def _by_hand(mod: ModuleType) -> Iterator[None]:
    """Make torch.nn.init's He/Xavier functions refuse to run: the student writes them by hand."""

    def refuse(name: str) -> Callable[..., Any]:
        def _refused(*args: Any, **kwargs: Any) -> Any:
            raise CheckFailed(f"write the initialiser by hand: your code called torch.nn.init.{name}. "
                              "Compute the std (or bound) from the fan-in and draw with weight.normal_ "
                              "or weight.uniform_; compare with torch.nn.init only in `python init.py`.")
        return _refused

    saved = {name: getattr(nn.init, name) for name in _TORCH_INITS}
    saved_mod = {k: v for k, v in vars(mod).items() if any(v is f for f in saved.values())}
    try:
        for name in _TORCH_INITS:
            setattr(nn.init, name, refuse(name))
        for k, v in saved_mod.items():
            setattr(mod, k, refuse(v.__name__))
        yield
    finally:
        for name, f in saved.items():
            setattr(nn.init, name, f)
        for k, v in saved_mod.items():
            setattr(mod, k, v)


def _fill(lab: LabContext, mod: ModuleType, fname: str, *args: Any) -> torch.Tensor:
    """Call the student's in-place initialiser on a fresh tensor and return the tensor."""
    func = getattr(mod, fname, None)
    if not callable(func):
        raise CheckFailed(f"{STUDENT_FILE} has no function {fname}().")
    w = torch.full(SHAPE, float("nan"))
    with _by_hand(mod):
        lab.call(func, w, *args, what=f"{fname}(w, {', '.join(map(repr, args))})")
    if not torch.isfinite(w).all():
        raise CheckFailed(f"{fname}() must fill the tensor it is given in place (weight.normal_(...) "
                          "under torch.no_grad()); the tensor still holds its old values.")
    return w


def _diagnose(ratio: float, fname: str, nonlinearity: str) -> str:
    """Name the typical mistake behind a measured/expected std ratio."""
    fan_in, fan_out = SHAPE[1], SHAPE[0]
    if abs(ratio - math.sqrt(fan_in / fan_out)) < 0.1:
        return (f"{fname} used the fan-out ({fan_out}) where the fan-in ({fan_in}) is meant: a Linear "
                "weight has shape (out_features, in_features), so fan_in = weight.shape[1].")
    if abs(ratio - 1 / math.sqrt(2)) < 0.05 and nonlinearity == "relu":
        return (f"{fname} has variance 1/fan_in where He init needs 2/fan_in for ReLU "
                "(std = sqrt(2) / sqrt(fan_in)): ReLU zeroes half of its inputs and halves the variance.")
    if abs(ratio - math.sqrt(2)) < 0.1 and nonlinearity != "relu":
        return (f"{fname} used the ReLU gain sqrt(2) for nonlinearity='{nonlinearity}': the gain depends "
                f"on the nonlinearity (torch.nn.init.calculate_gain('{nonlinearity}') = "
                f"{nn.init.calculate_gain(nonlinearity):.3g}).")
    return f"{fname}: the std is {ratio:.3f} times what it should be; check the formula."


@check(points=1)
def gains(lab: LabContext) -> str:
    """gain() returns PyTorch's gain for linear, sigmoid, tanh and relu"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for name in ("linear", "sigmoid", "tanh", "relu"):
        got = lab.call(mod.gain, name, what=f"gain({name!r})")
        want = nn.init.calculate_gain(name)
        if not isinstance(got, (int, float)) or over(abs(float(got) - want), 1e-6):
            raise CheckFailed(f"gain({name!r}) returned {got!r}; torch.nn.init.calculate_gain gives {want:.6g}.")
    return "gains match torch.nn.init.calculate_gain"


@check(points=3)
def he_by_hand(lab: LabContext) -> str:
    """He normal and He uniform, written by hand, match torch.nn.init.kaiming_*_"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    worst = 0.0
    for seed in lab.seeded():
        for nonlinearity in ("relu", "sigmoid"):
            want_std = nn.init.calculate_gain(nonlinearity) / math.sqrt(SHAPE[1])
            ref = nn.init.kaiming_normal_(torch.empty(SHAPE), nonlinearity=nonlinearity).std().item()
            w = _fill(lab, mod, "he_normal_", nonlinearity)
            ratio = w.std().item() / want_std
            if over(abs(ratio - 1), STD_TOL):
                raise CheckFailed(f"seed {seed}, he_normal_(w, '{nonlinearity}') on a {SHAPE} weight: std "
                                  f"{w.std().item():.4f}, torch.nn.init.kaiming_normal_ gives {ref:.4f}. "
                                  + _diagnose(ratio, "he_normal_", nonlinearity))
            # A normal sample of 40 000 reaches ~4 std; a uniform one stops at sqrt(3) = 1.73 std.
            if w.abs().max().item() / w.std().item() < 3.0:
                raise CheckFailed("he_normal_ draws from a uniform distribution; use weight.normal_.")
            if over(abs(w.mean().item()), 0.05 * want_std):  # solution |mean| <= 0.006 std
                raise CheckFailed(f"he_normal_: the weights' mean is {w.mean().item():.2e}, not 0.")
            bound = nn.init.calculate_gain(nonlinearity) * math.sqrt(3 / SHAPE[1])
            u = _fill(lab, mod, "he_uniform_", nonlinearity)
            top = u.abs().max().item() / bound  # solution 0.9999...; max of 40 000 uniforms
            if not 0.99 < top <= 1 + 1e-5 or over(abs(u.std().item() / (bound / math.sqrt(3)) - 1), STD_TOL):
                raise CheckFailed(f"seed {seed}, he_uniform_(w, '{nonlinearity}'): largest |w| "
                                  f"{u.abs().max().item():.4f}, the bound is gain*sqrt(3/fan_in) = {bound:.4f}. "
                                  + _diagnose(top, "he_uniform_", nonlinearity))
            worst = max(worst, abs(ratio - 1))
    return f"std within {worst:.1%} of gain/sqrt(fan_in) for relu and sigmoid; uniform bounds exact"


@check(points=1)
def xavier_by_hand(lab: LabContext) -> str:
    """Xavier/Glorot normal and uniform, written by hand, use fan-in + fan-out and the gain"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    fan_in, fan_out = SHAPE[1], SHAPE[0]
    for seed in lab.seeded():
        for g in (1.0, 5 / 3):
            want = g * math.sqrt(2 / (fan_in + fan_out))
            w = _fill(lab, mod, "xavier_normal_", g)
            u = _fill(lab, mod, "xavier_uniform_", g)
            for name, t in (("xavier_normal_", w), ("xavier_uniform_", u)):
                ratio = t.std().item() / want
                if over(abs(ratio - 1), STD_TOL):
                    hint = (" It ignores the gain argument." if abs(ratio * g - 1) < STD_TOL and g != 1 else
                            " Glorot & Bengio (2010) eq. 16: Var[W] = gain^2 * 2 / (fan_in + fan_out).")
                    raise CheckFailed(f"seed {seed}, {name}(w, gain={g:.3g}): std {t.std().item():.4f}, "
                                      f"expected {want:.4f}.{hint}")
    return "Xavier normal and uniform match gain*sqrt(2/(fan_in+fan_out))"


def _relu_net() -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(64, WIDTH), nn.ReLU()]
    for _ in range(DEPTH - 1):
        layers += [nn.Linear(WIDTH, WIDTH), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(WIDTH, 1), nn.Sigmoid())


def _tanh_net(depth: int) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(64, WIDTH), nn.Tanh()]
    for _ in range(depth - 1):
        layers += [nn.Linear(WIDTH, WIDTH), nn.Tanh()]
    return nn.Sequential(*layers)


def _depth_profile(model: nn.Sequential, x: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per hidden activation: std of h and norm of dL/dh, with L a fixed random read-out."""
    hs: list[torch.Tensor] = []

    def keep(_m: nn.Module, _i: Any, out: torch.Tensor) -> None:
        out.retain_grad()
        hs.append(out)

    hooks = [m.register_forward_hook(keep) for m in model if isinstance(m, (nn.ReLU, nn.Tanh))]
    try:
        out = model(x)
        readout = torch.randn(out.shape[1:])
        (out * readout).sum().backward()
    finally:
        for h in hooks:
            h.remove()
    return [h.std().item() for h in hs], [h.grad.norm().item() for h in hs]


def _student_init(lab: LabContext, mod: ModuleType, model: nn.Sequential) -> None:
    result = lab.call(mod.init_net, model, what="init_net(model)")
    if result is not None and result is not model:
        raise CheckFailed("init_net(model) must initialise the model it is given in place (and may return it).")


@check(points=3)
def relu_net_keeps_scale(lab: LabContext) -> str:
    """init_net keeps a 20-layer ReLU net's activations and gradients across depth"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    profiles = []
    for seed in lab.seeded():
        model = _relu_net()
        _student_init(lab, mod, model)
        out_std = model[-2].weight.std().item() * math.sqrt(WIDTH)  # 1.0 for gain 1
        # solution 0.98-1.03 over 6 seeds (256 weights); ReLU gain gives 1.41.
        if not 0.85 < out_std < 1.2:
            raise CheckFailed(f"seed {seed}: the output Linear (followed by a Sigmoid) has std "
                              f"{out_std:.2f}/sqrt(fan_in); initialise it with nonlinearity='sigmoid' "
                              "(gain 1), as kaiming_normal_(w, nonlinearity='sigmoid') does.")
        x = torch.randn(BATCH, 64)
        stds, grads = _depth_profile(model, x)
        act = math.log10(stds[-1] / stds[0])
        flow = math.log10(grads[0] / grads[-1])
        profiles.append((stds, grads))
        # Measured (seeds 0-5): solution act -0.21..+0.05, flow -0.11..+0.02; variance 1/n act
        # -3.1..-2.9, flow -3.0..-2.9; PyTorch default act -1.2, flow -7.4. Threshold 0.5.
        if not (abs(act) <= 0.5 and abs(flow) <= 0.5):
            why = (" That is a factor sqrt(1/2) per layer: variance 1/fan_in where He needs 2/fan_in."
                   if -3.6 < act < -2.4 else " Use He init (gain sqrt(2) over sqrt(fan_in)) for ReLU layers.")
            raise CheckFailed(f"seed {seed}: across 20 ReLU layers the activation std changes by 10^{act:.2f} "
                              f"and the gradient dL/dh by 10^{flow:.2f} (first/last); both must stay "
                              f"within 10^±0.5.{why}")
    default = _relu_net()
    torch.manual_seed(lab.seeds[0])
    base = _depth_profile(default, torch.randn(BATCH, 64))
    lab.figure("relu-depth-profile.png", lambda fig: _draw_profiles(fig, profiles, base))
    return f"activation std last/first 10^{act:.2f}, gradient first/last 10^{flow:.2f} (last seed)"


def _draw_profiles(fig: Any, profiles: list[tuple[list[float], list[float]]],
                   base: tuple[list[float], list[float]]) -> None:
    fig.set_size_inches(10, 4.2)
    for k, ylabel in enumerate(("activation std (log scale)", "gradient norm ||dL/dh|| (log scale)")):
        ax = fig.add_subplot(1, 2, k + 1)
        for i, prof in enumerate(profiles):
            ax.semilogy(range(1, len(prof[k]) + 1), prof[k], marker="o", ms=3, label=f"your init_net, seed {i}")
        ax.semilogy(range(1, len(base[k]) + 1), base[k], "k--", label="PyTorch default init")
        ax.set_xlabel("hidden layer")
        ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    fig.suptitle("20 ReLU layers of 256 at initialisation: forward signal (left), backward gradient (right)")


@check(points=2)
def tanh_net_xavier(lab: LabContext) -> str:
    """init_net gives tanh layers Xavier/Glorot with the tanh gain 5/3, and they stay unsaturated"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for seed in lab.seeded():
        model = _tanh_net(DEPTH)
        _student_init(lab, mod, model)
        linears = [m for m in model if isinstance(m, nn.Linear)]
        for i in (0, 1):  # the 64 -> 256 layer and a 256 -> 256 one
            fan_out, fan_in = linears[i].weight.shape
            std = linears[i].weight.std().item()
            want = 5 / 3 * math.sqrt(2 / (fan_in + fan_out))
            # solution within 1.5 % (16 384 / 65 536 weights); He (sqrt 2 / sqrt fan_in) is
            # 1.34x (layer 0) and 0.85x (layer 1); Xavier gain 1 is 0.60x.
            if over(abs(std / want - 1), 0.07):
                he = math.sqrt(2 / fan_in)
                if abs(std / he - 1) < 0.07:
                    why = ("that is He init (for ReLU) on a tanh net: tanh is symmetric and squashes, it "
                           "does not zero half its inputs; use xavier_normal_(w, gain=gain('tanh')).")
                elif abs(std / (want * 3 / 5) - 1) < 0.07:
                    why = "that is Xavier with gain 1: tanh needs the gain 5/3 (gain('tanh'))."
                else:
                    why = "expected Xavier normal with gain 5/3."
                raise CheckFailed(f"seed {seed}: tanh layer {i} ({fan_in} -> {fan_out}) has weight std {std:.4f}, "
                                  f"Xavier with gain 5/3 gives {want:.4f}; {why}")
        stds, grads = _depth_profile(model, torch.randn(BATCH, 64))
        act = math.log10(stds[-1] / stds[0])
        # solution act -0.01..+0.01 and last std 0.65; Xavier gain 1: act -0.50, std 0.16.
        if over(abs(act), 0.25):
            raise CheckFailed(f"seed {seed}: across 20 tanh layers the activation std changes by "
                              f"10^{act:.2f}; with the tanh gain 5/3 it stays within 10^±0.25.")
    return f"tanh weights match Xavier gain 5/3; activation std last/first 10^{act:.2f}, last std {stds[-1]:.2f}"
