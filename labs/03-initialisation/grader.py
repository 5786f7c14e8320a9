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
from coursekit.grading.torchkit import as_number, over, setup_torch

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
    """Call the student's in-place initialiser on a fresh weight (an nn.Parameter, as in a Linear)
    and return it. No ``args`` calls it with its defaults (nonlinearity 'relu', gain 1)."""
    func = getattr(mod, fname, None)
    if not callable(func):
        raise CheckFailed(f"{STUDENT_FILE} has no function {fname}().")
    w = nn.Parameter(torch.full(SHAPE, float("nan")))
    call = f"{fname}(w{''.join(', ' + repr(a) for a in args)})"
    with _by_hand(mod):
        result = lab.call(func, w, *args, what=call)
    if not torch.isfinite(w).all():
        raise CheckFailed(f"{call} must fill the tensor it is given in place (weight.normal_(...) "
                          "under torch.no_grad()); the tensor still holds its old values.")
    same = result is w or (isinstance(result, torch.Tensor) and result.shape == w.shape
                           and result.data_ptr() == w.data_ptr())  # w.data / w.detach(): same storage
    if not same:
        raise CheckFailed(f"{call} returned {type(result).__name__}; like torch.nn.init, return the "
                          "weight it was given (the same tensor object, filled in place).")
    return w.detach()


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
        got = as_number(lab.call(mod.gain, name, what=f"gain({name!r})"), f"gain({name!r})")
        want = nn.init.calculate_gain(name)
        if over(abs(got - want), 1e-6):
            raise CheckFailed(f"gain({name!r}) returned {got!r}; torch.nn.init.calculate_gain gives {want:.6g}.")
    return "gains match torch.nn.init.calculate_gain"


@check(points=1)
def fans_of_a_weight(lab: LabContext) -> str:
    """fans() reads (fan_in, fan_out) from a Linear weight of shape (out_features, in_features)"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for out_f, in_f in ((100, 400), (7, 3), (256, 256), (1, 64)):
        weight = nn.Linear(in_f, out_f).weight
        got = lab.call(mod.fans, weight, what=f"fans(<weight of nn.Linear({in_f}, {out_f})>)")
        try:
            pair = tuple(int(as_number(v, "fans()")) for v in got)
        except TypeError:
            raise CheckFailed(f"fans() returned {type(got).__name__}; return the pair (fan_in, fan_out).") from None
        if pair != (in_f, out_f):
            swapped = pair == (out_f, in_f)
            raise CheckFailed(f"fans() of nn.Linear({in_f}, {out_f})'s weight (shape {tuple(weight.shape)}) "
                              f"returned {pair}; expected (fan_in, fan_out) = ({in_f}, {out_f})."
                              + (" The two are swapped: the weight is stored as (out_features, "
                                 "in_features)." if swapped else ""))
    return "fan_in = weight.shape[1], fan_out = weight.shape[0]"


def _normal_shape(t: torch.Tensor, call: str) -> None:
    """A normal sample of 40 000 reaches ~4 std; a uniform one stops at sqrt(3) = 1.73 std."""
    if t.abs().max().item() / t.std().item() < 3.0:
        raise CheckFailed(f"{call} draws from a uniform distribution (largest |w| is "
                          f"{t.abs().max().item() / t.std().item():.2f} std); use weight.normal_.")


def _uniform_shape(t: torch.Tensor, bound: float, call: str) -> None:
    top = t.abs().max().item() / bound  # max of 40 000 uniforms: 0.9999...
    if not 0.99 < top <= 1 + 1e-5:
        shape = " (it looks normal: draw with weight.uniform_(-b, b))" if top > 1.5 else ""
        raise CheckFailed(f"{call}: largest |w| {t.abs().max().item():.4f}, the bound is "
                          f"{bound:.4f}{shape}.")


@check(points=3)
def he_by_hand(lab: LabContext) -> str:
    """He normal and He uniform, written by hand, match torch.nn.init.kaiming_*_"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    worst = 0.0
    for seed in lab.seeded():
        # None: called with the default nonlinearity, which is 'relu'
        for nonlinearity in ("relu", "sigmoid", "tanh", "linear", None):
            args = () if nonlinearity is None else (nonlinearity,)
            name = nonlinearity or "relu"
            shown = f"he_normal_(w{''.join(', ' + repr(a) for a in args)})"
            want_std = nn.init.calculate_gain(name) / math.sqrt(SHAPE[1])
            w = _fill(lab, mod, "he_normal_", *args)
            ratio = w.std().item() / want_std
            if over(abs(ratio - 1), STD_TOL):
                default = " (the default nonlinearity is 'relu')" if nonlinearity is None else ""
                raise CheckFailed(f"seed {seed}, {shown} on a {SHAPE} weight: std "
                                  f"{w.std().item():.4f}, torch.nn.init.kaiming_normal_ gives "
                                  f"{want_std:.4f}{default}. " + _diagnose(ratio, "he_normal_", name))
            _normal_shape(w, shown)
            if over(abs(w.mean().item()), 0.05 * want_std):  # solution |mean| <= 0.006 std
                raise CheckFailed(f"{shown}: the weights' mean is {w.mean().item():.2e}, not 0.")
            bound = nn.init.calculate_gain(name) * math.sqrt(3 / SHAPE[1])
            u = _fill(lab, mod, "he_uniform_", *args)
            shown_u = shown.replace("he_normal_", "he_uniform_")
            top = u.abs().max().item() / bound
            if not 0.99 < top <= 1 + 1e-5 or over(abs(u.std().item() / (bound / math.sqrt(3)) - 1), STD_TOL):
                raise CheckFailed(f"seed {seed}, {shown_u}: largest |w| {u.abs().max().item():.4f}, the "
                                  f"bound is gain*sqrt(3/fan_in) = {bound:.4f}. "
                                  + ("It looks normal: draw with weight.uniform_(-b, b). " if top > 1.5 else "")
                                  + _diagnose(top, "he_uniform_", name))
            worst = max(worst, abs(ratio - 1))
    return (f"std within {worst:.1%} of gain/sqrt(fan_in) for relu (the default), sigmoid, tanh "
            "and linear; uniform bounds exact")


@check(points=1)
def xavier_by_hand(lab: LabContext) -> str:
    """Xavier/Glorot normal and uniform, written by hand, use fan-in + fan-out and the gain"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    fan_in, fan_out = SHAPE[1], SHAPE[0]
    for seed in lab.seeded():
        for g in (1.0, 5 / 3, math.sqrt(2), None):  # None: the default gain, 1
            args = () if g is None else (g,)
            gain_value = 1.0 if g is None else g
            want = gain_value * math.sqrt(2 / (fan_in + fan_out))
            for name in ("xavier_normal_", "xavier_uniform_"):
                t = _fill(lab, mod, name, *args)
                shown = f"{name}(w{'' if g is None else f', gain={g:.3g}'})"
                ratio = t.std().item() / want
                if over(abs(ratio - 1), STD_TOL):
                    if g is None:
                        hint = " Called without a gain, the gain is 1."
                    elif abs(ratio * gain_value - 1) < STD_TOL and gain_value != 1:
                        hint = " It ignores the gain argument."
                    elif abs(ratio - math.sqrt((fan_in + fan_out) / (2 * fan_in))) < STD_TOL:
                        hint = " That is gain/sqrt(fan_in): Xavier averages fan-in and fan-out."
                    else:
                        hint = " Glorot & Bengio (2010) eq. 16: Var[W] = gain^2 * 2 / (fan_in + fan_out)."
                    raise CheckFailed(f"seed {seed}, {shown}: std {t.std().item():.4f}, "
                                      f"expected {want:.4f}.{hint}")
                if name == "xavier_normal_":
                    _normal_shape(t, shown)
                else:
                    _uniform_shape(t, want * math.sqrt(3), shown)
                if over(abs(t.mean().item()), 0.05 * want):
                    raise CheckFailed(f"{shown}: the weights' mean is {t.mean().item():.2e}, not 0.")
    return "Xavier normal and uniform match gain*sqrt(2/(fan_in+fan_out)), default gain 1, right shapes"


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


def _expected(after: nn.Module | None, fan_in: int, fan_out: int) -> tuple[float, str]:
    """The README's rule: the std init_net must give a Linear followed by ``after``."""
    if isinstance(after, nn.ReLU):
        return math.sqrt(2 / fan_in), "He normal, gain sqrt(2)"
    if isinstance(after, nn.Tanh):
        return 5 / 3 * math.sqrt(2 / (fan_in + fan_out)), "Xavier normal with the tanh gain 5/3"
    if isinstance(after, nn.Sigmoid):
        return 1 / math.sqrt(fan_in), "He normal with nonlinearity='sigmoid' (gain 1)"
    return 1 / math.sqrt(fan_in), "gain 1 ('linear'), He normal"


def _named_std(std: float, fan_in: int, fan_out: int, uniform: bool = True) -> str:
    """What a measured std looks like, when it is a known initialiser (else '')."""
    xavier = math.sqrt(2 / (fan_in + fan_out))
    known = [
        (1 / math.sqrt(3 * fan_in), "PyTorch's default U(+-1/sqrt(fan_in)): the layer was not initialised"
         if uniform else "1/sqrt(3 fan_in) from a normal draw (a gain of 1/sqrt(3), e.g. "
         "kaiming_normal_ with a=sqrt(5)): re-initialised with the wrong gain"),
        (math.sqrt(2 / fan_in), "He with the ReLU gain sqrt(2)"),
        (5 / 3 * xavier, "Xavier with gain 5/3"),
        (xavier, "Xavier with gain 1"),
        (1 / math.sqrt(fan_in), "gain 1 over sqrt(fan_in)"),
        (5 / 3 / math.sqrt(fan_in), "the tanh gain 5/3 over sqrt(fan_in) (He with nonlinearity='tanh')"),
        (math.sqrt(2 / fan_out), "He with the ReLU gain but the fan-out"),
        (1 / math.sqrt(fan_out), "gain 1 over sqrt(fan_out): the fan-out"),
    ]
    for value, what in known:
        if abs(std / value - 1) < 0.05:
            return what
    return ""


def _check_linears(model: nn.Sequential, net: str) -> None:
    """Every Linear of ``model``: std for the activation after it, a normal shape, zero bias.

    Tolerance 7 %, or 5 standard errors of a sample std (1/sqrt(2n)) for small layers: a
    256 -> 1 output layer gets 22 %, still far from the 41 % of a wrong gain."""
    layers = list(model)
    for i, layer in enumerate(layers):
        if not isinstance(layer, nn.Linear):
            continue
        after = layers[i + 1] if i + 1 < len(layers) else None
        fan_out, fan_in = layer.weight.shape
        w = layer.weight.detach().double()
        std = w.std().item()
        tol = max(0.07, 5 / math.sqrt(2 * w.numel()))
        want, rule = _expected(after, fan_in, fan_out)
        where = (f"{net}: layer {i} (Linear {fan_in} -> {fan_out}, followed by "
                 f"{type(after).__name__ if after is not None else 'nothing'})")
        centred = (w - w.mean()) / std
        kurt = (centred ** 4).mean().item()
        if not math.isfinite(std) or over(abs(std / want - 1), tol):
            seen = _named_std(std, fan_in, fan_out, uniform=kurt < 2.4)
            if isinstance(after, nn.Tanh) and seen.startswith("He with the ReLU gain sqrt(2)"):
                seen = ("He init (for ReLU) on a tanh net: tanh is symmetric and squashes, it does not "
                        "zero half its inputs")
            if isinstance(after, nn.Sigmoid) and seen.startswith("Xavier"):
                seen = f"{seen} on a sigmoid layer: the README's rule for a sigmoid is He with gain 1"
            if isinstance(after, nn.Sigmoid) and seen.startswith("He with the ReLU gain sqrt(2)"):
                seen = "a sigmoid output layer with the ReLU gain sqrt(2)"
            raise CheckFailed(f"{where} has weight std {std:.4f}"
                              + (f", which is {seen}" if seen else "")
                              + f"; the README's rule is {rule}: std {want:.4f}.")
        if w.numel() >= 1024 and kurt < 2.4:  # normal 3.0, uniform 1.8 (s.e. sqrt(24/n))
            raise CheckFailed(f"{where}: the weights look uniform (kurtosis {kurt:.2f}; normal 3.0, "
                              "uniform 1.8); init_net uses the normal initialisers.")
        if layer.bias is not None and layer.bias.detach().abs().max().item() != 0.0:
            raise CheckFailed(f"{where}: the bias is not zero; init_net sets every bias to zero.")


def _mixed_net() -> nn.Sequential:
    """Every case of the README's rule in one net, non-square, ending in a bare Linear."""
    return nn.Sequential(nn.Linear(48, 160), nn.ReLU(), nn.Linear(160, 96), nn.Tanh(),
                         nn.Linear(96, 200), nn.ReLU(), nn.Linear(200, 64), nn.Sigmoid(),
                         nn.Linear(64, 24))


@check(points=2)
def init_net_every_layer(lab: LabContext) -> str:
    """init_net picks the rule for the activation after each Linear (ReLU, Tanh, Sigmoid, none)"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for _seed in lab.seeded():
        model = _mixed_net()
        _student_init(lab, mod, model)
        _check_linears(model, "init_net on Linear-ReLU-Linear-Tanh-Linear-ReLU-Linear-Sigmoid-Linear")
    return "He for ReLU, Xavier 5/3 for Tanh, gain 1 for Sigmoid and a bare Linear; normal; zero biases"


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
                              f"{out_std:.2f}/sqrt(fan_in)"
                              + (" (the ReLU gain sqrt(2), or Xavier, which for one output is "
                                 "sqrt(2/(256+1)) = 1.41/sqrt(fan_in) too)" if 1.3 < out_std < 1.5 else "")
                              + "; initialise it with nonlinearity='sigmoid' (gain 1), as "
                              "kaiming_normal_(w, nonlinearity='sigmoid') does.")
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
        _check_linears(model, "init_net on 20 x (Linear 256 + ReLU) + Linear + Sigmoid")
    default = _relu_net()
    torch.manual_seed(lab.seeds[0])
    base = _depth_profile(default, torch.randn(BATCH, 64))
    lab.figure("relu-depth-profile.png", lambda fig: _draw_profiles(fig, profiles, base))
    return f"activation std last/first 10^{act:.2f}, gradient first/last 10^{flow:.2f} (last seed)"


def _draw_profiles(fig: Any, profiles: list[tuple[list[float], list[float]]],
                   base: tuple[list[float], list[float]]) -> None:
    fig.set_size_inches(10, 4.2)
    for k, ylabel in enumerate(("activation std", "gradient norm ||dL/dh||")):
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
        _check_linears(model, "init_net on 20 x (Linear 256 + Tanh)")
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
        stds, _ = _depth_profile(model, torch.randn(BATCH, 64))
        act = math.log10(stds[-1] / stds[0])
        # solution act -0.01..+0.01 and last std 0.65; Xavier gain 1: act -0.50, std 0.16.
        if over(abs(act), 0.25):
            raise CheckFailed(f"seed {seed}: across 20 tanh layers the activation std changes by "
                              f"10^{act:.2f}; with the tanh gain 5/3 it stays within 10^±0.25.")
    return f"tanh weights match Xavier gain 5/3; activation std last/first 10^{act:.2f}, last std {stds[-1]:.2f}"
