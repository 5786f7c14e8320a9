"""Grader of lab 2 (vanishing gradients). Never copied to students.

The student writes ``make_mlp``; everything is measured here, by running the nets the
student builds on fixed seeds (all must pass): the weights' distribution, the share of
saturated sigmoid units, and the gradient flow log10(||dL/dh_1|| / ||dL/dh_20||) of
activation gradients (weight gradients are blind to vanishing with zero biases,
Glorot & Bengio 2010 eq. 14). Calibration, PyTorch 2.13 CPU, 5 seeds, depth 20,
width 256, batch 256 (labs/README.md has the table):

- sigmoid + N(0,1): 0.70-0.71 of the units saturated (PyTorch default init: 0.000)
- sigmoid + default init: flow -16.3..-16.1
- ReLU + default init: flow -7.5..-7.3, activations shrink 10^1.2
- ReLU + He normal: flow -0.09..+0.04, activation ratio -0.21..+0.05
  (Xavier, the nearest wrong init: flow -2.95..-2.82)
"""

from __future__ import annotations

import math
from typing import Any

from coursekit.grading.api import CheckFailed, LabContext, check

FILE = "vanishing.py"
DEPTH, WIDTH, BATCH = 20, 256, 256
SATURATED_AT_LEAST = 0.35   # measured 0.70; default init 0.000
SIGMOID_FLOW_AT_MOST = -10.0  # measured -16.3..-16.1; ReLU + default -7.4, tanh + default -4.5
HEALTHY_FLOW = 1.0          # |flow| and |activation ratio| for ReLU + He: measured <= 0.21; Xavier -2.8


def _build(lab: LabContext, mod: Any, depth: int, width: int, n_in: int, act: str, init: str) -> Any:
    from torch import nn

    model = lab.call(mod.make_mlp, depth, width, n_in, act, init,
                     what=f'make_mlp({depth}, {width}, {n_in}, "{act}", "{init}")')
    if not isinstance(model, nn.Module):
        raise CheckFailed(f"make_mlp() returned {type(model).__name__}, not an nn.Module "
                          "(return nn.Sequential(*layers)).")
    return model


def _leaves(model: Any) -> list[Any]:
    # remove_duplicate=False: one activation instance reused after every Linear is a correct
    # net (ReLU and Sigmoid hold no state), and it must count once per place it is used.
    return [m for _, m in model.named_modules(remove_duplicate=False) if not list(m.children())]


def _linears(model: Any) -> list[Any]:
    from torch import nn

    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def _measure(model: Any, x: Any, seed: int) -> dict[str, Any]:
    """The grader's own measurement: dL/dh norms, activation stds, saturation per layer."""
    import torch
    from torch import nn

    outs: list[tuple[Any, Any]] = []

    def keep(mod: Any, inputs: Any, out: Any) -> None:
        out.retain_grad()
        outs.append((mod, out))

    handles = [m.register_forward_hook(keep) for m in model.modules()
               if isinstance(m, (nn.Sigmoid, nn.ReLU, nn.Tanh))]
    try:
        out = model(x)
        gen = torch.Generator().manual_seed(10_000 + seed)
        readout = torch.randn(out.shape[1], 1, generator=gen) / math.sqrt(out.shape[1])
        (out @ readout).sum().backward()
    finally:
        for h in handles:
            h.remove()
    grads = [o.grad.norm().item() for _, o in outs]
    stds = [o.detach().std().item() for _, o in outs]
    sat = [((2 * o.detach() - 1).abs() > 0.97).float().mean().item() for _, o in outs]

    def log_ratio(a: float, b: float) -> float:
        if not (math.isfinite(a) and math.isfinite(b)) or a <= 0 or b <= 0:
            return math.inf if not math.isfinite(a) or b == 0 else -math.inf
        return math.log10(a / b)

    return {"flow": log_ratio(grads[0], grads[-1]), "act": log_ratio(stds[-1], stds[0]),
            "saturated": sum(sat) / len(sat), "grads": grads, "sat": sat}


def _net(lab: LabContext, mod: Any, seed: int, act: str, init: str,
         shape: tuple[int, int, int] = (DEPTH, WIDTH, WIDTH)) -> dict[str, Any]:
    import torch

    depth, width, n_in = shape
    torch.manual_seed(seed)
    model = _build(lab, mod, depth, width, n_in, act, init)
    x = torch.randn(BATCH, n_in)
    try:
        return _measure(model, x, seed)
    except CheckFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - the student's net would not run: a verdict
        raise CheckFailed(f'the net make_mlp({depth}, {width}, {n_in}, "{act}", "{init}") '
                          f"does not run: {type(exc).__name__}: {exc}") from None


# (depth, width, in_features): square and non-square, one layer, an odd depth
LAYER_CONFIGS = ((4, 64, 32), (1, 48, 100), (7, 40, 24))


@check(points=1)
def layers(lab: LabContext) -> str:
    """make_mlp() stacks depth x (Linear -> activation) with the right sizes"""
    from coursekit.grading.torchkit import setup_torch

    setup_torch()
    from torch import nn

    mod = lab.load(FILE)
    cases = [(c, a, "default") for c in LAYER_CONFIGS for a in ("sigmoid", "relu")]
    cases += [(LAYER_CONFIGS[0], a, i) for a in ("sigmoid", "relu") for i in ("normal", "he")]
    for (depth, width, n_in), act, init in cases:
        cls = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}[act]
        call = f'make_mlp({depth}, {width}, {n_in}, "{act}", "{init}")'
        model = _build(lab, mod, depth, width, n_in, act, init)
        leaves = _leaves(model)
        kinds = [type(m).__name__ for m in leaves]
        want = ["Linear", cls.__name__] * depth
        if kinds != want:
            missing_last = kinds == want[:-1]
            raise CheckFailed(f"{call} has layers {kinds}; expected {want}: one "
                              f"{cls.__name__} after every Linear"
                              + (" - the last activation is missing." if missing_last
                                 else ", the last one too."))
        linears = [m for m in leaves if isinstance(m, nn.Linear)]
        if len({id(m) for m in linears}) != len(linears):
            raise CheckFailed("one nn.Linear object is used for several layers, so they share one "
                              "weight matrix; create a new nn.Linear for every layer (inside the loop).")
        sizes = [(m.in_features, m.out_features) for m in linears]
        want_sizes = [(n_in, width)] + [(width, width)] * (depth - 1)
        if sizes != want_sizes:
            raise CheckFailed(f"{call}: Linear sizes {sizes}; the first layer takes "
                              f"in_features={n_in}, the others width={width} (expected {want_sizes}).")
        if any(m.bias is None for m in linears):
            raise CheckFailed(f"{call}: a Linear has no bias; keep nn.Linear's bias (the README's "
                              "inits set it to zero, they do not remove it).")
    return "Linear -> activation, depth times (depths 1, 4, 7; square and non-square)"


def _weight_report(w: Any) -> tuple[float, float, float]:
    """std, mean, and kurtosis (normal 3.0, uniform 1.8) of a weight matrix."""
    w = w.detach().double().flatten()
    mean, std = w.mean().item(), w.std().item()
    kurt = (((w - mean) / std) ** 4).mean().item()
    return std, mean, kurt


@check(points=1)
def default_init(lab: LabContext) -> str:
    """init="default" leaves PyTorch's own initialisation in place, biases included"""
    from coursekit.grading.torchkit import setup_torch

    setup_torch()
    mod = lab.load(FILE)
    for seed in lab.seeded():
        for act in ("sigmoid", "relu"):
            model = _build(lab, mod, 3, 256, 64, act, "default")
            for k, lin in enumerate(_linears(model)):
                bound = 1 / math.sqrt(lin.in_features)  # nn.Linear: U(+-1/sqrt(fan_in)) for both
                std, _, kurt = _weight_report(lin.weight)
                top = lin.weight.detach().abs().max().item()
                if not (top <= bound * (1 + 1e-6) and abs(std * math.sqrt(3) / bound - 1) < 0.05
                        and kurt < 2.4):
                    raise CheckFailed(f'seed {seed}, make_mlp(3, 256, 64, "{act}", "default"), layer '
                                      f"{k + 1}: weight std {std:.4f}, largest |w| {top:.4f}; PyTorch's "
                                      f"default is U(+-1/sqrt(fan_in)) = U(+-{bound:.4f}). \"default\" "
                                      "must leave nn.Linear's own initialisation alone.")
                b = lin.bias.detach()
                if b.abs().max().item() == 0.0 or b.abs().max().item() > bound * (1 + 1e-6):
                    raise CheckFailed(f'make_mlp(3, 256, 64, "{act}", "default"), layer {k + 1}: the '
                                      "biases were changed (zeroed?); \"default\" keeps PyTorch's own "
                                      f"biases, U(+-1/sqrt(fan_in)) = U(+-{bound:.4f}). Only \"normal\" "
                                      "and \"he\" set them to zero.")
    return "weights and biases keep nn.Linear's U(+-1/sqrt(fan_in))"


@check(points=2)
def normal_init(lab: LabContext) -> str:
    """init="normal" draws the weights from N(0, 1) and zeroes the biases"""
    from coursekit.grading.torchkit import setup_torch

    setup_torch()
    mod = lab.load(FILE)
    for seed in lab.seeded():
        for act in ("sigmoid", "relu"):
            model = _build(lab, mod, 3, 256, 64, act, "normal")
            for k, lin in enumerate(_linears(model)):
                std, mean, kurt = _weight_report(lin.weight)
                fan_in = lin.in_features
                if abs(std - 1 / math.sqrt(3 * fan_in)) < 0.1 / math.sqrt(3 * fan_in):
                    if kurt < 2.4:  # uniform, like nn.Linear's own draw
                        raise CheckFailed(f"layer {k + 1}: weight std {std:.4f} = 1/sqrt(3*fan_in), "
                                          "uniform: PyTorch's default, the weights were not "
                                          "re-initialised. Use nn.init.normal_(linear.weight, 0.0, 1.0).")
                    raise CheckFailed(f"layer {k + 1}: weight std {std:.4f} = 1/sqrt(3*fan_in) from a "
                                      "normal draw: re-initialised, but with the scale of PyTorch's "
                                      "default (kaiming_normal_ with a=sqrt(5)?). init=\"normal\" "
                                      "means N(0, 1): nn.init.normal_(linear.weight, 0.0, 1.0).")
                if not 0.95 <= std <= 1.05 or abs(mean) > 0.05:
                    raise CheckFailed(f'seed {seed}, make_mlp(3, 256, 64, "{act}", "normal"), layer '
                                      f"{k + 1}: weights have mean {mean:.3f} and std {std:.4f}; "
                                      "N(0, 1) means mean 0 and std 1.")
                if kurt < 2.4:
                    raise CheckFailed(f"layer {k + 1}: the weights look uniform (kurtosis {kurt:.2f}; "
                                      "normal 3.0, uniform 1.8). Draw them from a normal "
                                      "distribution: nn.init.normal_.")
                if lin.bias is not None and lin.bias.detach().abs().max().item() != 0.0:
                    raise CheckFailed(f'make_mlp(3, 256, 64, "{act}", "normal"), layer {k + 1}: the '
                                      "biases are not zero; set them with nn.init.zeros_(linear.bias).")
    return "weights ~ N(0, 1), biases 0 (sigmoid and relu nets)"


@check(points=2)
def sigmoid_normal_saturates(lab: LabContext) -> str:
    """cause 1, N(0,1) weights: a deep sigmoid net saturates (measured)"""
    from coursekit.grading.torchkit import setup_torch

    setup_torch()
    shares = []
    for seed in lab.seeded():
        m = _net(lab, lab.load(FILE), seed, "sigmoid", "normal")
        if not m["saturated"] >= SATURATED_AT_LEAST:
            raise CheckFailed(f"seed {seed}: only {m['saturated']:.2f} of the sigmoid units are "
                              f"saturated (expected at least {SATURATED_AT_LEAST}); with N(0, 1) "
                              "weights each pre-activation sums 256 terms of variance ~0.5, so "
                              "most should be near 0 or 1. Check init=\"normal\".")
        shares.append(m["saturated"])
    return (f"{min(shares):.2f}..{max(shares):.2f} of the units saturated (|2h - 1| > 0.97): "
            "their derivative sigma' < 0.015, so almost no gradient reaches their weights")


@check(points=1)
def sigmoid_vanishes(lab: LabContext) -> str:
    """cause 2, the sigmoid: even with PyTorch's default init the gradient vanishes (measured)"""
    from coursekit.grading.torchkit import setup_torch

    setup_torch()
    flows = []
    for seed in lab.seeded():
        m = _net(lab, lab.load(FILE), seed, "sigmoid", "default")
        if not m["flow"] <= SIGMOID_FLOW_AT_MOST:
            raise CheckFailed(f"seed {seed}: gradient flow {m['flow']:+.2f} in a 20-layer sigmoid "
                              f"net with default init; expected at most {SIGMOID_FLOW_AT_MOST}. "
                              "Is the activation nn.Sigmoid?")
        flows.append(m["flow"])
    return (f"flow {min(flows):+.1f}..{max(flows):+.1f}: sigma' <= 0.25 at every layer, so the "
            f"gradient reaching layer 1 is 10^{-max(flows):.0f} times weaker than at layer 20")


@check(points=2)
def he_init(lab: LabContext) -> str:
    """init="he" is He normal for ReLU: std sqrt(2 / fan_in), zero biases"""
    from coursekit.grading.torchkit import setup_torch

    setup_torch()
    mod = lab.load(FILE)
    for seed, act in ((s, a) for s in lab.seeded() for a in ("relu", "sigmoid")):
        model = _build(lab, mod, 3, 256, 64, act, "he")
        for k, lin in enumerate(_linears(model)):
            std, mean, kurt = _weight_report(lin.weight)
            fan_in, fan_out = lin.in_features, lin.out_features
            he = math.sqrt(2 / fan_in)
            default = ("PyTorch's default, uniform (the weights were not re-initialised)" if kurt < 2.4
                       else "1/sqrt(3 * fan_in) from a normal draw: re-initialised, but with gain "
                       "1/sqrt(3), e.g. kaiming_normal_ with a=sqrt(5) (nn.Linear's own a); He for "
                       "ReLU has a=0, nonlinearity='relu'")
            named = {
                default: 1 / math.sqrt(3 * fan_in),
                "sqrt(2 / fan_out): mode='fan_out'; use mode='fan_in'": math.sqrt(2 / fan_out),
                "sqrt(1 / fan_in): gain 1, so nonlinearity was not 'relu' (or it is Xavier/LeCun)":
                    math.sqrt(1 / fan_in),
                "Xavier/Glorot, sqrt(2 / (fan_in + fan_out)): that is for tanh/sigmoid, ReLU "
                "needs He": math.sqrt(2 / (fan_in + fan_out)),
                "1: N(0, 1), the cause of the problem": 1.0,
            }
            if abs(std - he) > 0.1 * he:
                for what, value in named.items():
                    if abs(std - value) < 0.05 * value:
                        raise CheckFailed(f'make_mlp(3, 256, 64, "{act}", "he"), layer {k + 1} '
                                          f"({fan_in} -> {fan_out}): weight std "
                                          f"{std:.4f} is {what}. He normal has std "
                                          f"sqrt(2 / fan_in) = {he:.4f}.")
                raise CheckFailed(f'seed {seed}, make_mlp(3, 256, 64, "{act}", "he"), layer {k + 1}: '
                                  f"weight std {std:.4f}; He normal "
                                  f"has std sqrt(2 / fan_in) = {he:.4f}.")
            if kurt < 2.4:
                raise CheckFailed(f"layer {k + 1}: the weights are uniform (kurtosis {kurt:.2f}; "
                                  "normal 3.0, uniform 1.8): kaiming_uniform_; this lab asks for "
                                  "kaiming_normal_.")
            if abs(mean) > 0.1 * he or (lin.bias is not None
                                        and lin.bias.detach().abs().max().item() != 0.0):
                raise CheckFailed(f"layer {k + 1}: weight mean {mean:.4f} or non-zero biases; He "
                                  "init has mean 0 and the biases are set to zero.")
    return "std sqrt(2 / fan_in), normal, zero biases"


@check(points=2)
def relu_he_flows(lab: LabContext) -> str:
    """the fix, ReLU + He: the gradient reaches layer 1 undiminished (measured)"""
    from coursekit.grading.torchkit import setup_torch

    setup_torch()
    _draw_first_seed(lab)  # before judging: a student whose fix fails sees why in the figure
    he_flows, acts = [], []
    # the README's 20 x 256 net, and a shallower, narrower one with a wider input
    for seed, shape in ((s, c) for s in lab.seeded() for c in ((DEPTH, WIDTH, WIDTH), (12, 160, 320))):
        m = _net(lab, lab.load(FILE), seed, "relu", "he", shape)
        if not (abs(m["flow"]) <= HEALTHY_FLOW and abs(m["act"]) <= HEALTHY_FLOW):
            hint = ("vanishing: is it He init?" if m["flow"] < -HEALTHY_FLOW
                    else "exploding: the weights are too large" if m["flow"] > HEALTHY_FLOW
                    else "the activations shrink or grow layer by layer")
            raise CheckFailed(f"seed {seed}: the ReLU + He net make_mlp{shape} has gradient flow {m['flow']:+.2f} and "
                              f"activation ratio {m['act']:+.2f} (log10, last/first); both "
                              f"should be within +-{HEALTHY_FLOW:g}: {hint} "
                              "(see figures/vanishing.png)")
        if shape == (DEPTH, WIDTH, WIDTH):
            he_flows.append(m["flow"])
            acts.append(m["act"])
    return (f"flow {min(he_flows):+.2f}..{max(he_flows):+.2f}, activation ratio "
            f"{min(acts):+.2f}..{max(acts):+.2f} (sigmoid + default: about -16). "
            "Figure: figures/vanishing.png")


def _draw_first_seed(lab: LabContext) -> None:
    """Measure the four nets on the first seed and draw them (a net that does not build is left out)."""
    curves: dict[str, list[float]] = {}
    sats: dict[str, list[float]] = {}
    seed = next(lab.seeded())
    for act, init, label in (("relu", "he", "ReLU + He (the fix)"),
                             ("sigmoid", "normal", "sigmoid + N(0,1)"),
                             ("sigmoid", "default", "sigmoid + default init"),
                             ("relu", "default", "ReLU + default init")):
        try:
            measured = _net(lab, lab.load(FILE), seed, act, init)
        except CheckFailed:
            continue
        curves[label] = measured["grads"]
        if act == "sigmoid":
            sats[label] = measured["sat"]
    if curves:
        lab.figure("vanishing.png", lambda fig: _draw(fig, curves, sats))


def _draw(fig: Any, curves: dict[str, list[float]], sats: dict[str, list[float]]) -> None:
    fig.set_size_inches(12, 4.5)
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    for label, share in sats.items():
        ax2.plot(range(1, len(share) + 1), share, marker="o", markersize=3, label=label)
    ax2.set_xlabel("hidden layer")
    ax2.set_ylabel("share of saturated units, |2h - 1| > 0.97 (fraction)")
    ax2.set_ylim(-0.02, 1.0)
    ax2.set_title("Cause 1: N(0,1) weights saturate the sigmoid")
    ax2.legend()
    ax2.grid(True, alpha=0.3)
    for label, grads in curves.items():
        ax.semilogy(range(1, len(grads) + 1), [max(g, 1e-30) for g in grads], marker="o",
                    markersize=3, label=label)
    ax.set_xlabel("hidden layer (1 = nearest the input)")
    ax.set_ylabel("||dL/dh|| (log scale)")
    ax.set_title("Gradient reaching each layer, 20-layer MLP, width 256 (seed 0)")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
