"""Grader for lab 4: saturating and dying activations, measured, and a net that avoids both.

Everything is measured here by running the student's functions and modules on fixed seeds;
the thresholds carry the margins measured with the reference solution and each typical
mistake (PyTorch 2.13.0 CPU, seeds 0-5) in a comment beside them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from coursekit.grading.api import CheckFailed, LabContext, check
from coursekit.grading.torchkit import over, setup_torch

STUDENT_FILE = "activations.py"
DEPTH, WIDTH, IN = 10, 128, 32
DEAD_SLOPE = 1e-3  # a unit is dead when its slope is <= 1e-3 on every probe
_REFUSED = ("elu", "leaky_relu", "selu", "celu")  # F.relu is a fair building block


def _grid() -> torch.Tensor:
    """Inputs from -10 to 10, a few normal draws, exactly 0, and 100 (exp overflows there)."""
    return torch.cat([torch.linspace(-10, 10, 2001), 3 * torch.randn(500),
                      torch.tensor([0.0, -1e-3, 1e-3, 100.0, -100.0])])


@contextlib.contextmanager
def _by_hand(mod: ModuleType) -> Iterator[None]:
    """Make torch.nn.functional's ELU/LeakyReLU refuse to run while the hand-written ones are tested."""

    def refuse(name: str) -> Callable[..., Any]:
        def _refused(*args: Any, **kwargs: Any) -> Any:
            raise CheckFailed(f"write leaky_relu and elu by hand (torch.where, torch.exp): your code called "
                              f"torch.nn.functional.{name}; compare with it in `python activations.py` only.")
        return _refused

    saved = {name: getattr(F, name) for name in _REFUSED}
    aliased = {k: v for k, v in vars(mod).items() if any(v is f for f in saved.values())}
    try:
        for name in _REFUSED:
            setattr(F, name, refuse(name))
        for k, v in aliased.items():
            setattr(mod, k, refuse(v.__name__))
        yield
    finally:
        for name, f in saved.items():
            setattr(F, name, f)
        for k, v in aliased.items():
            setattr(mod, k, v)


def _value_and_slope(func: Callable[[torch.Tensor], Any], x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.detach().clone().requires_grad_(True)
    y = func(x)
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        raise CheckFailed(f"the function must return a tensor of the input's shape, got {type(y).__name__}.")
    y.sum().backward()
    return y.detach(), x.grad.detach()


@check(points=2)
def leaky_relu_and_elu_by_hand(lab: LabContext) -> str:
    """leaky_relu and elu, written by hand, match torch.nn.functional in value and slope"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for seed in lab.seeded():
        x = _grid()
        cases = [("leaky_relu", mod.leaky_relu, s, lambda t, s=s: F.leaky_relu(t, s)) for s in (0.01, 0.2)]
        cases += [("elu", mod.elu, a, lambda t, a=a: F.elu(t, a)) for a in (1.0, 0.5)]
        for name, func, arg, ref in cases:
            with _by_hand(mod):
                y, dy = lab.call(_value_and_slope, lambda t: func(t, arg), x, what=f"{name}(x, {arg})")
            y_ref, dy_ref = _value_and_slope(ref, x)
            if not torch.isfinite(dy).all():
                bad = x[~torch.isfinite(dy)][0].item()
                raise CheckFailed(f"{name}(x, {arg}) has a non-finite gradient at x = {bad:g}: torch.where "
                                  "computes both branches, and exp(100) overflows to inf (0 * inf = NaN in "
                                  "the backward pass). Clamp x to <= 0 inside the exp branch.")
            # At exactly x = 0 any slope between the two one-sided ones is a valid (sub)gradient.
            slope_gap = torch.where(x == 0, torch.zeros_like(dy), (dy - dy_ref).abs())
            err, err_slope = (y - y_ref).abs().max().item(), slope_gap.max().item()
            if over(err, 1e-5) or over(err_slope, 1e-5):
                i = int((y - y_ref).abs().nan_to_num(nan=1e9).argmax()) if over(err, 1e-5) else int(slope_gap.argmax())
                why = ""
                if name == "elu" and abs(y[2001 + 500 + 1].item() - arg) < 0.01:  # x = -0.001
                    why = (" Near 0 from below it gives ~alpha, not ~0: ELU is alpha * (exp(x) - 1) for "
                           "x <= 0 (the -1 makes it continuous at 0).")
                raise CheckFailed(f"{name}(x, {arg}) at x = {x[i].item():g}: value {y[i].item():.6g} "
                                  f"(torch: {y_ref[i].item():.6g}), slope {dy[i].item():.6g} "
                                  f"(torch: {dy_ref[i].item():.6g}).{why}")
    return "values and slopes match F.leaky_relu and F.elu to 1e-5, finite everywhere"


@check(points=1)
def make_activation_names(lab: LabContext) -> str:
    """make_activation builds sigmoid, tanh, relu, leaky_relu (0.01) and elu (alpha 1)"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    refs = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": F.relu,
            "leaky_relu": lambda t: F.leaky_relu(t, 0.01), "elu": lambda t: F.elu(t, 1.0)}
    x = torch.linspace(-6, 6, 1201)
    for name, ref in refs.items():
        act = lab.call(mod.make_activation, name, what=f"make_activation({name!r})")
        if not isinstance(act, nn.Module):
            raise CheckFailed(f"make_activation({name!r}) must return an nn.Module, got {type(act).__name__}.")
        with torch.no_grad():
            y = lab.call(act, x, what=f"make_activation({name!r})(x)")
        if not isinstance(y, torch.Tensor) or y.shape != x.shape or over((y - ref(x)).abs().max().item(), 1e-5):
            raise CheckFailed(f"make_activation({name!r}) does not compute {name} (compared on -6..6).")
    return "all five activations compute the right function"


def _pre_and_post(model: nn.Sequential, x: torch.Tensor) -> list[tuple[nn.Module, torch.Tensor, torch.Tensor]]:
    found = []
    with torch.no_grad():
        for layer in model:
            z, x = x, layer(x)
            if not isinstance(layer, nn.Linear):
                found.append((layer, z, x))
    return found


def _stack(sizes: list[int], act: Callable[[], nn.Module]) -> nn.Sequential:
    return nn.Sequential(*[m for a, b in zip(sizes, sizes[1:]) for m in (nn.Linear(a, b), act())])


def _slopes(act: nn.Module, z: torch.Tensor) -> torch.Tensor:
    z = z.detach().clone().requires_grad_(True)
    act(z).sum().backward()
    return z.grad.abs()


@check(points=2)
def measures_saturation_and_dead_units(lab: LabContext) -> str:
    """saturated_share and dead_share measure what the grader measures"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for seed in lab.seeded():
        for kind, act in (("tanh", nn.Tanh), ("sigmoid", nn.Sigmoid)):
            net = _stack([30, 200, 200, 200, 200, 200], act)
            for layer in net:
                if isinstance(layer, nn.Linear):
                    nn.init.normal_(layer.weight)  # N(0, 1): saturates (mean share over 5 layers: tanh 0.84, sigmoid 0.61)
            for i, (_, _, h) in enumerate(_pre_and_post(net, torch.randn(512, 30))):
                mine = ((h if kind == "tanh" else 2 * h - 1).abs() > 0.97).float().mean().item()
                got = lab.call(mod.saturated_share, h.clone(), kind, what=f"saturated_share(h, {kind!r})")
                if not isinstance(got, (int, float)) or over(abs(float(got) - mine), 1e-6):
                    why = ""
                    if kind == "sigmoid" and isinstance(got, (int, float)) and abs(got - (h > 0.97).float().mean().item()) < 1e-6:
                        why = (" You counted only the top end: sigmoid's outputs lie in (0, 1), so it saturates "
                               "near 0 and near 1; use |2h - 1| > 0.97 (sigmoid(z) = (1 + tanh(z/2)) / 2).")
                    raise CheckFailed(f"seed {seed}: saturated_share(h, {kind!r}) on layer {i + 1} of a "
                                      f"{kind} net with N(0,1) weights returned {got!r}; the share is {mine:.4f}.{why}")
        for name, act in (("relu", nn.ReLU), ("leaky_relu", lambda: nn.LeakyReLU(0.01)), ("elu", nn.ELU)):
            net = _stack([IN, WIDTH, WIDTH, WIDTH, WIDTH], act)
            with torch.no_grad():
                for layer in net:
                    if isinstance(layer, nn.Linear):
                        layer.bias.fill_(-1.0)
            for i, (a, z, _) in enumerate(_pre_and_post(net, torch.randn(2048, IN))):
                slope = _slopes(a, z)
                mine = (slope <= DEAD_SLOPE).all(dim=0).float().mean().item()
                got = lab.call(mod.dead_share, a, z.clone(), what=f"dead_share({name}, z)")
                if not isinstance(got, (int, float)) or over(abs(float(got) - mine), 1e-6):
                    why = ""
                    if isinstance(got, (int, float)) and abs(got - (slope <= DEAD_SLOPE).float().mean().item()) < 1e-6:
                        why = (" You counted zero-slope entries one probe at a time: a unit is dead only when it "
                               "passes no gradient on ANY probe (all over dim 0).")
                    raise CheckFailed(f"seed {seed}: dead_share on layer {i + 1} of a {name} net with biases -1 "
                                      f"returned {got!r}; the share is {mine:.4f}.{why}")
    return "saturated and dead shares match on tanh, sigmoid, relu, leaky_relu and elu nets"


def _student_net(lab: LabContext, mod: ModuleType) -> nn.Sequential:
    net = lab.call(mod.healthy_mlp, DEPTH, WIDTH, IN, what=f"healthy_mlp({DEPTH}, {WIDTH}, {IN})")
    if not isinstance(net, nn.Sequential) or sum(isinstance(m, nn.Linear) for m in net) != DEPTH:
        raise CheckFailed(f"healthy_mlp({DEPTH}, {WIDTH}, {IN}) must return an nn.Sequential of {DEPTH} "
                          "(Linear -> activation) pairs.")
    linears = [m for m in net if isinstance(m, nn.Linear)]
    if len({id(m) for m in linears}) != len(linears):  # `[nn.Linear(w, w), act] * depth`
        raise CheckFailed("healthy_mlp uses one nn.Linear object for several layers, so they share one weight "
                          "matrix; create a new nn.Linear for every layer (inside the loop).")
    x = torch.randn(4, IN, requires_grad=True)
    for i, layer in enumerate(net):  # every layer returns a float tensor still connected to autograd
        x = lab.call(layer, x, what=f"layer {i} ({type(layer).__name__}) of healthy_mlp")
        if not isinstance(x, torch.Tensor) or tuple(x.shape) != (4, WIDTH) or not x.requires_grad:
            got = f"a tensor of shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise CheckFailed(f"layer {i} ({type(layer).__name__}) of healthy_mlp returned {got}"
                              + (" with no gradient" if isinstance(x, torch.Tensor) and tuple(x.shape) == (4, WIDTH) else "")
                              + f"; every layer must return a (batch, {WIDTH}) tensor that autograd can go through.")
    return net


def _flow(net: nn.Sequential, x: torch.Tensor) -> tuple[float, list[torch.Tensor]]:
    """log10(||dL/dh_first|| / ||dL/dh_last||) over the activation outputs, random read-out."""
    hs: list[torch.Tensor] = []

    def keep(_m: nn.Module, _i: Any, out: torch.Tensor) -> None:
        out.retain_grad()
        hs.append(out)

    hooks = [m.register_forward_hook(keep) for m in net if not isinstance(m, nn.Linear)]
    try:
        out = net(x)
        (out * torch.randn(out.shape[1:])).sum().backward()
    finally:
        for h in hooks:
            h.remove()
    first, last = hs[0].grad.norm().item(), hs[-1].grad.norm().item()
    return math.log10(max(first, 1e-38) / max(last, 1e-38)), hs


def _is_bounded(act: nn.Module) -> bool:
    with torch.no_grad():
        y = act(torch.tensor([[-50.0, 50.0]]))
    return bool(y.abs().max().item() < 10)


@check(points=3)
def healthy_mlp_passes_the_gradient(lab: LabContext) -> str:
    """healthy_mlp: 10 layers that neither vanish (sigmoid) nor saturate"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for seed in lab.seeded():
        net = _student_net(lab, mod)
        flow, hs = lab.call(_flow, net, torch.randn(256, IN), what="healthy_mlp's forward and backward pass")
        acts = [m for m in net if not isinstance(m, nn.Linear)]
        bounded = [a for a in acts if lab.call(_is_bounded, a, what=f"{type(a).__name__}(x)")]
        sat = 0.0
        if bounded:  # saturated entry: slope below 6 % of the activation's largest slope
            pre = lab.call(_pre_and_post, net, torch.randn(256, IN), what="healthy_mlp's forward pass")
            peak = max(lab.call(_slopes, bounded[0], torch.linspace(-4, 4, 801), what="the activation's slope").max().item(), 1e-12)
            sat = sum((lab.call(_slopes, a, z, what="the activation's slope") < 0.06 * peak).float().mean().item()
                      for a, z, _ in pre) / len(pre)
        # Measured flow (seeds 0-5): solution (LeakyReLU + He) -0.03..0.00, ELU + He +0.30..+0.41;
        # sigmoid with default init -7.6, LeakyReLU/ReLU with default init -3.5, ELU default -2.3.
        if over(abs(flow), 1.0):
            w = [m.weight for m in net if isinstance(m, nn.Linear)][1]
            default_like = abs(w.std().item() * math.sqrt(3 * w.shape[1]) - 1) < 0.1
            if any(isinstance(a, nn.Sigmoid) for a in acts) or (bounded and peak < 0.3):
                why = ("sigmoid's slope is at most 1/4, so every layer divides the gradient by 4 or more: "
                       "choose an activation whose slope is 1 for positive inputs.")
            elif default_like:
                why = ("the weights have PyTorch's default init U(±1/sqrt(fan_in)), variance 1/(3 fan_in): "
                       "each ReLU-like layer divides the gradient's variance by 6; use He init.")
            else:
                why = "keep the scale with He init for ReLU-like activations (lab 3)."
            raise CheckFailed(f"seed {seed}: the gradient dL/dh changes by 10^{flow:.2f} from the last to the "
                              f"first of {DEPTH} layers (allowed: 10^±1); {why}")
        # tanh with gain 5/3 0.05, tanh/sigmoid N(0, 1) 0.83/0.56; ReLU family: not bounded.
        if over(sat, 0.01):
            raise CheckFailed(f"seed {seed}: {sat:.1%} of the activations are saturated (slope under 6 % "
                              "of its peak); a bounded activation squashes large inputs: use one of the "
                              "ReLU family, or keep it in its linear range.")
    return f"gradient first/last 10^{flow:.2f}, saturated share {sat:.3f}"


@check(points=3)
def healthy_mlp_has_no_dead_units(lab: LabContext) -> str:
    """healthy_mlp keeps every unit alive even when a bad update pushes every bias to -1"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    per_seed = []
    for seed in lab.seeded():
        net = _student_net(lab, mod)
        with torch.no_grad():
            for layer in net:
                if isinstance(layer, nn.Linear) and layer.bias is not None:
                    layer.bias.fill_(-1.0)
        pre = lab.call(_pre_and_post, net, torch.randn(2048, IN), what="healthy_mlp's forward pass")
        dead = [(lab.call(_slopes, a, z, what="the activation's slope") <= DEAD_SLOPE).all(dim=0).float().mean().item()
                for a, z, _ in pre]
        share = sum(dead) / len(dead)
        per_seed.append(dead)
        # Measured (seeds 0-5): ReLU + He 0.72, ReLU default 0.90; LeakyReLU and ELU 0.000.
        if over(share, 0.05):
            relu = any(isinstance(m, nn.ReLU) for m in net)
            why = ("Dying ReLUs: a unit whose input is negative everywhere gets no gradient and never recovers; "
                   "LeakyReLU or ELU keep a small slope for negative inputs." if relu else
                   "A unit whose slope is ~0 for every input gets no gradient and never recovers; choose an "
                   "activation with a slope for negative inputs (LeakyReLU, ELU).")
            raise CheckFailed(f"seed {seed}: with every bias at -1, {share:.0%} of the units are dead (slope <= 1e-3 "
                              f"on all 2048 probes; per layer {', '.join(f'{d:.2f}' for d in dead)}). {why}")
    torch.manual_seed(lab.seeds[0])  # the same stress on plain ReLU + He init, for the figure
    relu = _stack([IN] + [WIDTH] * DEPTH, nn.ReLU)
    with torch.no_grad():
        for layer in relu:
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                layer.bias.fill_(-1.0)
    base = [(_slopes(a, z) <= DEAD_SLOPE).all(dim=0).float().mean().item()
            for a, z, _ in _pre_and_post(relu, torch.randn(2048, IN))]
    lab.figure("dead-units.png", lambda fig: _draw_dead(fig, per_seed, base))
    return f"dead share {share:.3f} with every bias at -1 (ReLU would be ~0.72)"


def _draw_dead(fig: Any, per_seed: list[list[float]], base: list[float]) -> None:
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(range(1, len(base) + 1), base, "k:", marker="x", label="plain ReLU + He init")
    styles = [("o", "-", 9), ("s", "--", 6), ("^", ":", 4)]  # seeds often coincide: all stay visible
    for i, dead in enumerate(per_seed):
        marker, ls, size = styles[i % len(styles)]
        ax.plot(range(1, len(dead) + 1), dead, marker=marker, ls=ls, ms=size, mfc="none",
                label=f"your healthy_mlp, seed {i}")
    ax.axhline(0.05, color="k", ls="--", label="threshold 0.05")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("hidden layer")
    ax.set_ylabel("share of dead units (fraction; biases pushed to -1)")
    ax.set_title("Dead units per layer after a bad update, your healthy_mlp vs plain ReLU")
    ax.legend()
