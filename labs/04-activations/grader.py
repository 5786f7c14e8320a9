"""Grader for lab 4: saturating and dying activations, measured, and a net that avoids both.

Everything is measured here by running the student's functions and modules on fixed seeds;
the thresholds carry the margins measured with the reference solution and each typical
mistake (PyTorch 2.13.0 CPU, seeds 0-5) in a comment beside them.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from coursekit.grading.api import CheckFailed, LabContext, check
from coursekit.grading.torchkit import as_number, over, setup_torch

STUDENT_FILE = "activations.py"
DEPTH, WIDTH, IN = 10, 128, 32
DEAD_SLOPE = 1e-3  # a unit is dead when its slope is <= 1e-3 on every probe
FLAT = 1 - 0.97 ** 2  # 0.0591: tanh's slope 1 - h^2 where |h| = 0.97; "saturated" below FLAT * peak
# healthy_mlp's structure is checked on these (depth, width, in_features) as well
SHAPES = ((DEPTH, WIDTH, IN), (3, 48, 100), (6, 200, 16))
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


def _with_arg(func: Callable[..., Any], arg: float, x: torch.Tensor) -> Any:
    return func(x, arg)


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
        cases += [("elu", mod.elu, a, lambda t, a=a: F.elu(t, a)) for a in (1.0, 0.5, 2.0)]
        # None: called with the default (negative_slope=0.01, alpha=1.0)
        cases += [("leaky_relu", mod.leaky_relu, None, lambda t: F.leaky_relu(t, 0.01)),
                  ("elu", mod.elu, None, lambda t: F.elu(t, 1.0))]
        for name, func, arg, ref in cases:
            shown = f"{name}(x)" if arg is None else f"{name}(x, {arg})"
            with _by_hand(mod):
                call = functools.partial(func) if arg is None else functools.partial(_with_arg, func, arg)
                y, dy = lab.call(_value_and_slope, call, x, what=shown)
            y_ref, dy_ref = _value_and_slope(ref, x)
            if not torch.isfinite(dy).all():
                bad = x[~torch.isfinite(dy)][0].item()
                raise CheckFailed(f"{shown} has a non-finite gradient at x = {bad:g}: torch.where "
                                  "computes both branches, and exp(100) overflows to inf (0 * inf = NaN in "
                                  "the backward pass). Clamp x to <= 0 inside the exp branch.")
            # At exactly x = 0 any slope between the two one-sided ones is a valid (sub)gradient.
            slope_gap = torch.where(x == 0, torch.zeros_like(dy), (dy - dy_ref).abs())
            err, err_slope = (y - y_ref).abs().max().item(), slope_gap.max().item()
            if over(err, 1e-5) or over(err_slope, 1e-5):
                i = int((y - y_ref).abs().nan_to_num(nan=1e9).argmax()) if over(err, 1e-5) else int(slope_gap.argmax())
                why = ""
                if name == "elu" and abs(y[2001 + 500 + 1].item() - (arg or 1.0)) < 0.01:  # x = -0.001
                    why = (" Near 0 from below it gives ~alpha, not ~0: ELU is alpha * (exp(x) - 1) for "
                           "x <= 0 (the -1 makes it continuous at 0).")
                raise CheckFailed(f"{shown} at x = {x[i].item():g}: value {y[i].item():.6g} "
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


def _sat_range(h: torch.Tensor, kind: str) -> tuple[float, float]:
    """The saturated share by every form the README teaches, as (lowest, highest): in float32
    |2h - 1| > 0.97 and (h < 0.015 or h > 0.985) can disagree on entries at the boundary."""
    if kind == "tanh":
        forms = [h.abs() > 0.97, h.abs() >= 0.97]
    else:
        forms = [(2 * h - 1).abs() > 0.97, (h < 0.015) | (h > 0.985),
                 (2 * h - 1).abs() >= 0.97, (h <= 0.015) | (h >= 0.985)]
    shares = [f.float().mean().item() for f in forms]
    return min(shares), max(shares)


def _dead_cases() -> Iterator[tuple[str, nn.Module, torch.Tensor]]:
    """(name, activation, pre-activations z): 4-layer nets with every bias at -1 (2048 probes x
    128 units), and one layer with fewer probes than units, ~40 % of them pushed to -12."""
    for name, act in (("relu", nn.ReLU), ("leaky_relu", lambda: nn.LeakyReLU(0.01)), ("elu", nn.ELU)):
        net = _stack([IN, WIDTH, WIDTH, WIDTH, WIDTH], act)
        with torch.no_grad():
            for layer in net:
                if isinstance(layer, nn.Linear):
                    layer.bias.fill_(-1.0)
        for i, (a, z, _) in enumerate(_pre_and_post(net, torch.randn(2048, IN))):
            yield f"layer {i + 1} of a {name} net with biases -1", a, z
    z = torch.randn(64, 300) + torch.where(torch.rand(300) < 0.4, -12.0, 0.0)
    for name, a in (("relu", nn.ReLU()), ("elu", nn.ELU()), ("tanh", nn.Tanh())):
        yield f"one {name} layer, 64 probes x 300 units", a, z
    # ELU units whose largest slope exp(z) lies between 5.5e-4 and 2.5e-3: the 1e-3 threshold
    # of the README decides which of them are dead
    z = -7.5 + 1.5 * torch.rand(300) - 0.3 * torch.rand(64, 300)
    yield "one ELU layer whose slopes are all near the 1e-3 threshold", nn.ELU(), z


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
            outputs = [h for _, _, h in _pre_and_post(net, torch.randn(512, 30))]
            outputs.append(outputs[-1][:100].reshape(4, 25, 200))  # any shape: a share of entries
            for i, h in enumerate(outputs):
                lo, hi = _sat_range(h, kind)
                what = f"saturated_share(h, {kind!r})"
                got = as_number(lab.call(mod.saturated_share, h.clone(), kind, what=what), what)
                if not lo - 1e-6 <= got <= hi + 1e-6:
                    why = ""
                    if kind == "sigmoid" and abs(got - (h > 0.97).float().mean().item()) < 1e-6:
                        why = (" You counted only the top end: sigmoid's outputs lie in (0, 1), so it saturates "
                               "near 0 and near 1; use |2h - 1| > 0.97 (sigmoid(z) = (1 + tanh(z/2)) / 2).")
                    elif kind == "tanh" and abs(got - (h > 0.97).float().mean().item()) < 1e-6:
                        why = " You counted only the top end: tanh saturates near -1 and near +1; use |h| > 0.97."
                    where = f"layer {i + 1}" if i < 5 else f"a 3-D slice {tuple(h.shape)} of layer 5"
                    raise CheckFailed(f"seed {seed}: saturated_share(h, {kind!r}) on {where} of a "
                                      f"{kind} net with N(0,1) weights returned {got:.6g}; the share is {lo:.4f}.{why}")
        for where, a, z in _dead_cases():
            slope = _slopes(a, z)
            mine = (slope <= DEAD_SLOPE).all(dim=0).float().mean().item()
            what = f"dead_share({type(a).__name__}(), z)"
            got = as_number(lab.call(mod.dead_share, a, z.clone(), what=what), what)
            if over(abs(got - mine), 1e-6):
                why = ""
                if abs(got - (slope <= DEAD_SLOPE).float().mean().item()) < 1e-6:
                    why = (" You counted zero-slope entries one probe at a time: a unit is dead only when it "
                           "passes no gradient on ANY probe (all over dim 0).")
                elif 0 < (alt := (slope <= DEAD_SLOPE).all(dim=1).float().mean().item()) < 1 and abs(got - alt) < 1e-6:
                    why = " You looked along the wrong dimension: z is (probes, units), a unit is a column."
                elif abs(got - (z <= 0).all(dim=0).float().mean().item()) < 1e-6:
                    why = (" You tested z <= 0 instead of the slope: LeakyReLU and ELU still pass a gradient "
                           "there; measure the slope with autograd.")
                raise CheckFailed(f"seed {seed}: dead_share on {where} returned {got:.6g}; the share is "
                                  f"{mine:.4f}.{why}")
    return "saturated and dead shares match on tanh, sigmoid, relu, leaky_relu and elu (nets and a wide layer)"


def _run_order(net: nn.Module, x: torch.Tensor) -> list[tuple[nn.Module, torch.Tensor, torch.Tensor]]:
    """(leaf module, its input, its output) in the order the leaves run: works for nested blocks."""
    seen: list[tuple[nn.Module, torch.Tensor, torch.Tensor]] = []
    leaves = [m for m in net.modules() if not list(m.children())]

    def keep(m: nn.Module, inputs: Any, out: Any) -> None:
        seen.append((m, inputs[0] if inputs else None, out))

    hooks = [m.register_forward_hook(keep) for m in leaves]
    try:
        net(x)
    finally:
        for h in hooks:
            h.remove()
    return seen


def _student_net(lab: LabContext, mod: ModuleType, shape: tuple[int, int, int] = (DEPTH, WIDTH, IN)) -> nn.Module:
    depth, width, n_in = shape
    call = f"healthy_mlp({depth}, {width}, {n_in})"
    net = lab.call(mod.healthy_mlp, depth, width, n_in, what=call)
    if not isinstance(net, nn.Module):
        raise CheckFailed(f"{call} returned {type(net).__name__}; return an nn.Module (nn.Sequential).")
    x = torch.randn(4, n_in, requires_grad=True)
    want = [(n_in, width)] + [(width, width)] * (depth - 1)
    try:
        order = lab.call(_run_order, net, x, what=f"{call}'s forward pass")
    except CheckFailed as exc:
        sizes = [(m.in_features, m.out_features) for m in net.modules() if isinstance(m, nn.Linear)]
        if sizes != want:
            raise CheckFailed(f"{exc.message} Its Linear sizes are {sizes}; expected {want} (the first "
                              "takes in_features, the others width).") from None
        raise
    kinds = ["Linear" if isinstance(m, nn.Linear) else "act" for m, _, _ in order]
    if kinds != ["Linear", "act"] * depth:
        names = [type(m).__name__ for m, _, _ in order]
        raise CheckFailed(f"{call} runs {names}; expected {depth} x (Linear -> activation), the last "
                          "Linear followed by its activation too.")
    linears = [m for m, _, _ in order if isinstance(m, nn.Linear)]
    if len({id(m) for m in linears}) != len(linears):  # `[nn.Linear(w, w), act] * depth`
        raise CheckFailed("healthy_mlp uses one nn.Linear object for several layers, so they share one weight "
                          "matrix; create a new nn.Linear for every layer (inside the loop).")
    sizes = [(m.in_features, m.out_features) for m in linears]
    if sizes != want:
        raise CheckFailed(f"{call}: Linear sizes {sizes}; expected {want} (the first takes in_features, "
                          "the others width).")
    for i, (m, _, out) in enumerate(order):  # every layer returns a float tensor connected to autograd
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (4, width) or not out.requires_grad:
            got = f"a tensor of shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
            raise CheckFailed(f"layer {i} ({type(m).__name__}) of {call} returned {got}"
                              + (" with no gradient" if isinstance(out, torch.Tensor) and tuple(out.shape) == (4, width) else "")
                              + f"; every layer must return a (batch, {width}) tensor that autograd can go through.")
    return net


def _acts(net: nn.Module, x: torch.Tensor) -> list[tuple[nn.Module, torch.Tensor, torch.Tensor]]:
    """(activation, z, h) for every activation of a student's net, in run order, without grad."""
    with torch.no_grad():
        return [(m, z, h) for m, z, h in _run_order(net, x) if not isinstance(m, nn.Linear)]


def _flow(net: nn.Module, x: torch.Tensor) -> float:
    """log10(||dL/dh_first|| / ||dL/dh_last||) over the activation outputs, random read-out."""
    hs: list[torch.Tensor] = []

    def keep(_m: nn.Module, _i: Any, out: torch.Tensor) -> None:
        out.retain_grad()
        hs.append(out)

    hooks = [m.register_forward_hook(keep) for m in net.modules()
             if not list(m.children()) and not isinstance(m, nn.Linear)]
    try:
        out = net(x)
        (out * torch.randn(out.shape[1:])).sum().backward()
    finally:
        for h in hooks:
            h.remove()
    first, last = hs[0].grad.norm().item(), hs[-1].grad.norm().item()
    return math.log10(max(first, 1e-38) / max(last, 1e-38))


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
        for shape in SHAPES[1:]:  # the structure on other sizes (the flow below on the README's)
            _student_net(lab, mod, shape)
        net = _student_net(lab, mod)
        flow = lab.call(_flow, net, torch.randn(256, IN), what="healthy_mlp's forward and backward pass")
        pre = lab.call(_acts, net, torch.randn(256, IN), what="healthy_mlp's forward pass")
        acts = [a for a, _, _ in pre]
        bounded = [a for a in acts if lab.call(_is_bounded, a, what=f"{type(a).__name__}(x)")]
        sat, peak = 0.0, 1.0
        if bounded:  # saturated entry: slope below 1 - 0.97^2 = 5.9 % of the activation's peak slope
            peak = max(lab.call(_slopes, bounded[0], torch.linspace(-4, 4, 801), what="the activation's slope").max().item(), 1e-12)
            sat = sum((lab.call(_slopes, a, z, what="the activation's slope") < FLAT * peak).float().mean().item()
                      for a, z, _ in pre) / len(pre)
        # Measured flow (seeds 0-5): solution (LeakyReLU + He) -0.03..0.00, ELU + He +0.30..+0.41;
        # sigmoid with default init -7.6, LeakyReLU/ReLU with default init -3.5, ELU default -2.3.
        if over(abs(flow), 1.0):
            w = [m.weight for m in net.modules() if isinstance(m, nn.Linear)][1]
            wd = w.detach().double().flatten()
            kurt = (((wd - wd.mean()) / wd.std()) ** 4).mean().item()  # normal 3.0, uniform 1.8
            default_like = abs(w.std().item() * math.sqrt(3 * w.shape[1]) - 1) < 0.1
            if any(isinstance(a, nn.Sigmoid) for a in acts) or (bounded and peak < 0.3):
                why = ("sigmoid's slope is at most 1/4, so every layer divides the gradient by 4 or more: "
                       "choose an activation whose slope is 1 for positive inputs.")
            elif default_like and kurt < 2.4:
                why = ("the weights have PyTorch's default init U(±1/sqrt(fan_in)), variance 1/(3 fan_in): "
                       "each ReLU-like layer divides the gradient's variance by 6; use He init.")
            elif default_like:
                why = ("the weights were re-initialised from a normal with variance 1/(3 fan_in) (the gain of "
                       "kaiming_normal_ with a=sqrt(5)): each ReLU-like layer divides the gradient's variance "
                       "by 6; He init for ReLU uses a=0 (gain sqrt(2)).")
            else:
                why = "keep the scale with He init for ReLU-like activations (lab 3)."
            raise CheckFailed(f"seed {seed}: the gradient dL/dh changes by 10^{flow:.2f} from the last to the "
                              f"first of {DEPTH} layers (allowed: 10^±1); {why}")
        # tanh with gain 5/3 0.05, tanh/sigmoid N(0, 1) 0.83/0.56; ReLU family: not bounded.
        if over(sat, 0.01):
            raise CheckFailed(f"seed {seed}: {sat:.1%} of the activations are saturated (slope under "
                              "1 - 0.97^2 = 5.9 % of its peak, i.e. |h| > 0.97 for tanh); a bounded "
                              "activation squashes large inputs: use one of the ReLU family, or keep it "
                              "in its linear range.")
    return f"gradient first/last 10^{flow:.2f}, saturated share {sat:.3f}"


@check(points=3)
def healthy_mlp_has_no_dead_units(lab: LabContext) -> str:
    """healthy_mlp keeps every unit alive even when a bad update pushes every bias to -1"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    per_seed = []
    for seed in lab.seeded():
        for shape in (SHAPES[0], SHAPES[2]):
            n_in = shape[2]
            net = _student_net(lab, mod, shape)
            with torch.no_grad():
                for layer in net.modules():
                    if isinstance(layer, nn.Linear) and layer.bias is not None:
                        layer.bias.fill_(-1.0)
            pre = lab.call(_acts, net, torch.randn(2048, n_in), what="healthy_mlp's forward pass")
            dead = [(lab.call(_slopes, a, z, what="the activation's slope") <= DEAD_SLOPE).all(dim=0).float().mean().item()
                    for a, z, _ in pre]
            share = sum(dead) / len(dead)
            if shape == SHAPES[0]:
                per_seed.append(dead)
            # Measured (seeds 0-5): ReLU + He 0.72, ReLU default 0.90; LeakyReLU and ELU 0.000.
            if over(share, 0.05):
                relu = any(isinstance(m, nn.ReLU) for m in net.modules())
                why = ("Dying ReLUs: a unit whose input is negative everywhere gets no gradient and never recovers; "
                       "LeakyReLU or ELU keep a small slope for negative inputs." if relu else
                       "A unit whose slope is ~0 for every input gets no gradient and never recovers; choose an "
                       "activation with a slope for negative inputs (LeakyReLU, ELU).")
                raise CheckFailed(f"seed {seed}: healthy_mlp{shape} with every bias at -1: {share:.0%} of the units "
                                  f"are dead (slope <= 1e-3 on all 2048 probes; per layer "
                                  f"{', '.join(f'{d:.2f}' for d in dead)}). {why}")
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
    for i, dead in enumerate(per_seed):
        ax.plot(range(1, len(dead) + 1), dead, marker="o", label=f"your healthy_mlp, seed {i}")
    ax.axhline(0.05, color="k", ls="--", label="threshold 0.05")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("layer")
    ax.set_ylabel("share of dead units (biases pushed to -1)")
    ax.legend()
