"""Grader for lab 7: residual blocks, zero-initialised or scaled branches, a 20-block net that trains.

Everything is measured here by running the student's modules on fixed seeds; the thresholds
carry the margins measured with the reference solution and each typical mistake (PyTorch
2.13.0 CPU, seeds 0-5) in a comment beside them.
"""

from __future__ import annotations

import copy
import math
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from coursekit.grading.api import CheckFailed, LabContext, check
from coursekit.grading.torchkit import SGD, over, setup_torch

STUDENT_FILE = "residual.py"
DEPTH, WIDTH, IN, CLASSES = 20, 64, 16, 4
STEPS, BATCH, LR, MOMENTUM = 60, 128, 0.05, 0.9
# Training loss on the 4096 examples after 60 steps, seeds 0-7: residual_net(..., zero_init=False)
# (1/sqrt(20)-scaled branches) 0.19-0.30; the plain net with He init 1.23-1.43 (chance ln 4 =
# 1.386); unscaled He branches: NaN. Margin 2.2x above / 1.9x below. Zero-initialised branches
# start slower (0.37-0.76 after 60 steps, 0.18-0.37 after 100), so the training check uses the
# scaled variant; zero-init is checked at initialisation (identity, gradient flow) instead.
LOSS_MAX = 0.65
# Gradient flow log10(||dL/dh_block1|| / ||dL/dh_block20||), seeds 0-7 (the README's figures):
# zero-init -0.15, scaled +0.06..+0.15; unscaled He branches +2.6..+3.3; plain default init -15;
# plain He -0.6..+0.1.
FLOW_MAX = 1.0


def make_data(seed: int, n: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """The starter's make_data: 4 classes from a random linear teacher."""
    g = torch.Generator().manual_seed(1000 + seed)
    teacher = torch.randn(IN, CLASSES, generator=g)
    x = torch.randn(n, IN, generator=g)
    return x, (x @ teacher).argmax(dim=1)


def _block(lab: LabContext, mod: ModuleType, *args: Any, **kwargs: Any) -> tuple[nn.Module, nn.Linear, nn.Linear]:
    """The student's block and its README-named layers block.fc1 and block.fc2 (by name, not by
    creation order: defining fc2 first is fine)."""
    shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    block = lab.call(mod.ResidualBlock, *args, what=f"ResidualBlock({shown})", **kwargs)
    if not isinstance(block, nn.Module):
        raise CheckFailed(f"ResidualBlock({shown}) must be an nn.Module.")
    width = args[0]
    layers = []
    for name in ("fc1", "fc2"):
        layer = getattr(block, name, None)
        if not isinstance(layer, nn.Linear):
            raise CheckFailed(f"ResidualBlock({shown}) must have an nn.Linear attribute named {name} (the README's "
                              f"branch is fc2(relu(fc1(x)))); {name} is {type(layer).__name__}.")
        if (layer.in_features, layer.out_features) != (width, width) or layer.bias is None:
            raise CheckFailed(f"ResidualBlock({shown}).{name} must be nn.Linear({width}, {width}) with a bias; it is "
                              f"Linear({layer.in_features}, {layer.out_features}, bias={layer.bias is not None}).")
        layers.append(layer)
    return block, layers[0], layers[1]


# (width, zero_init, scale): the README's case, a zero-initialised block given a scale (the scale
# applies in every mode), and the default scale of 1
_FORMULA_CASES: tuple[tuple[int, bool, float | None], ...] = ((64, False, 0.5), (24, True, 0.3), (40, False, None))


@check(points=2)
def block_adds_the_skip_path(lab: LabContext) -> str:
    """ResidualBlock computes relu(x + scale * fc2(relu(fc1(x))))"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for seed in lab.seeded():
        for width, zero_init, scale in _FORMULA_CASES:
            kwargs: dict[str, Any] = {"zero_init": zero_init} if scale is None else {"zero_init": zero_init,
                                                                                      "scale": scale}
            _one_formula(lab, mod, seed, width, kwargs, 1.0 if scale is None else scale)
    return "relu(x + scale * fc2(relu(fc1(x)))) to 1e-5 (scales 0.5, 0.3 with zero_init, default 1)"


def _one_formula(lab: LabContext, mod: ModuleType, seed: int, width: int, kwargs: dict[str, Any],
                 scale: float) -> None:
    block, fc1, fc2 = _block(lab, mod, width, **kwargs)
    shown = "ResidualBlock(" + ", ".join([str(width), *(f"{k}={v!r}" for k, v in kwargs.items())]) + ")"
    with torch.no_grad():  # weights of our choosing, so the formula is tested, not the init
        for layer in (fc1, fc2):
            layer.weight.normal_(0, 0.2)
            layer.bias.normal_(0, 0.1)
        x = torch.randn(32, width).relu()
        branch = fc2(F.relu(fc1(x)))
        want = F.relu(x + scale * branch)
        got = lab.call(block, x, what=f"{shown}(x)")
    if not isinstance(got, torch.Tensor) or got.shape != want.shape:
        raise CheckFailed(f"{shown}(x) must return a tensor of shape {tuple(want.shape)}.")
    if (got - want).abs().max().item() <= 1e-5:
        _check_gradients(lab, block, fc1, fc2, x, scale, shown)
        return
    variants = {
        "the skip path is missing: the block returns relu(branch) without x. Add the input back: "
        "relu(x + scale * branch) — that identity path is what carries the gradient": F.relu(scale * branch),
        "the scale is ignored: the block must multiply the branch by scale (relu(x + scale * branch)), "
        "with zero_init too": F.relu(x + branch),
        "the final ReLU is missing: the block is relu(x + scale * branch)": x + scale * branch,
        "the scale multiplies the sum: it multiplies the branch only, relu(x + scale * branch)":
            F.relu(scale * (x + branch)),
        "fc1 and fc2 are swapped: the branch is fc2(relu(fc1(x)))": F.relu(x + scale * fc1(F.relu(fc2(x)))),
        "the ReLU between fc1 and fc2 is missing: the branch is fc2(relu(fc1(x)))": F.relu(x + scale * fc2(fc1(x))),
    }
    why = next((msg for msg, out in variants.items() if (got - out).abs().max().item() <= 1e-5),
               "expected relu(x + scale * fc2(relu(fc1(x)))).")
    raise CheckFailed(f"seed {seed}: {shown} differs from the formula by {(got - want).abs().max().item():.3g}: {why}")


def _check_gradients(lab: LabContext, block: nn.Module, fc1: nn.Linear, fc2: nn.Linear, x: torch.Tensor,
                     scale: float, shown: str) -> None:
    """The gradient must flow as the formula says: into x along both paths and into fc1 and fc2
    (a .detach() in the branch gives the right output and a broken backward pass)."""
    r = torch.randn(x.shape, generator=torch.Generator().manual_seed(11))
    xs = [x.detach().clone().requires_grad_(True) for _ in range(2)]
    params = [fc1.weight, fc1.bias, fc2.weight, fc2.bias]
    out = lab.call(block, xs[0], what=f"{shown}(x)")
    got = torch.autograd.grad((out * r).sum(), [xs[0], *params], allow_unused=True)
    ref = F.relu(xs[1] + scale * F.linear(F.relu(F.linear(xs[1], fc1.weight, fc1.bias)), fc2.weight, fc2.bias))
    want = torch.autograd.grad((ref * r).sum(), [xs[1], *params])
    names = ["the input x", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    for name, g, w in zip(names, got, want):
        if g is None or over((g - w).abs().max().item(), 1e-4 * (1 + w.abs().max().item())):
            raise CheckFailed(f"{shown}: the output is right but the gradient reaching {name} is not the formula's"
                              f"{' (none at all)' if g is None else ''}: a .detach() (or .data) in the block cuts "
                              "the backward pass; relu(x + scale * fc2(relu(fc1(x)))) must be differentiable "
                              "all the way.")


def _he_ratio(layer: nn.Linear) -> float:
    """The weight's std over He's sqrt(2 / fan_in): 1.0 for He normal or uniform."""
    return layer.weight.detach().std().item() * math.sqrt(layer.in_features / 2)


def _check_init(seed: int, what: str, fc1: nn.Linear, fc2: nn.Linear, zero_init: bool) -> None:
    """fc1: He init and zero bias in both modes; fc2: zero (weight and bias) with zero_init, He otherwise."""
    he1 = _he_ratio(fc1)  # solution 0.98-1.02 at width 64; default nn.Linear init 0.41
    if not 0.8 < he1 < 1.25:
        zero = " (if fc1 were zero too, fc1 and fc2 would both get a zero gradient and the branch could never " \
               "start learning)" if he1 == 0 else ""
        raise CheckFailed(f"seed {seed}: {what}: fc1's weight std is {he1:.2f} x sqrt(2/fan_in); only fc2 is zeroed, "
                          f"fc1 keeps He init{zero}.")
    if fc1.bias.detach().abs().max().item() != 0:
        raise CheckFailed(f"{what}: fc1's bias must start at zero (He init on fc1, zero bias).")
    if zero_init:
        if fc2.weight.detach().abs().max().item() != 0 or fc2.bias.detach().abs().max().item() != 0:
            raise CheckFailed(f"{what}: zero_init must set the branch's last Linear (fc2 weight and bias) to zero so "
                              "the block starts as the identity.")
    else:
        he2 = _he_ratio(fc2)
        if not 0.8 < he2 < 1.25:
            raise CheckFailed(f"seed {seed}: {what}: fc2's weight std is {he2:.2f} x sqrt(2/fan_in); without zero_init "
                              "fc2 gets He init too (the scale keeps the sum of the branches bounded).")


@check(points=1)
def zero_init_block_is_identity(lab: LabContext) -> str:
    """With zero_init, every block starts as the identity and fc1 still has He init"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for seed in lab.seeded():
        for width in (WIDTH, 24):
            block, fc1, fc2 = _block(lab, mod, width)
            x = torch.randn(256, width).relu()  # a block's input comes out of a ReLU
            with torch.no_grad():
                out = _expect_tensor(lab.call(block, x, what=f"ResidualBlock({width})(x)"), tuple(x.shape),
                                     f"ResidualBlock({width})(x)")
            if over((out - x).abs().max().item(), 1e-6):
                raise CheckFailed(f"seed {seed}: ResidualBlock({width}) (zero_init=True by default) changes its input by "
                                  f"up to {(out - x).abs().max().item():.3g} at initialisation; zero_init must set the "
                                  "branch's last Linear (fc2 weight and bias) to zero so the block starts as the "
                                  "identity.")
            _check_init(seed, f"ResidualBlock({width})", fc1, fc2, zero_init=True)
            _, fc1, fc2 = _block(lab, mod, width, zero_init=False, scale=0.5)
            _check_init(seed, f"ResidualBlock({width}, zero_init=False, scale=0.5)", fc1, fc2, zero_init=False)
    return "ResidualBlock(64) and (24) return their input unchanged; fc1 He with zero bias; fc2 He without zero_init"


def _measured_scale(lab: LabContext, block: nn.Module) -> float:
    """The factor a block applies to its branch, measured: on a copy with weights of our choosing,
    (out - x) = scale * branch wherever out > 0."""
    probe = copy.deepcopy(block)
    fc1, fc2 = getattr(probe, "fc1"), getattr(probe, "fc2")
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for layer in (fc1, fc2):
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=g) * 0.2)
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=g) * 0.1)
        x = torch.randn(64, fc1.in_features, generator=g).relu()
        branch = fc2(F.relu(fc1(x)))
        out = lab.call(probe, x, what="a ResidualBlock of residual_net(...)(x)")
        live = out > 0
        return ((out - x)[live] * branch[live]).sum().item() / max(branch[live].pow(2).sum().item(), 1e-30)


# Another configuration than the graded depth-20 net: other depth, width, inputs and classes
_OTHER_NET = (5, 24, 7, 3)


def _check_net_structure(lab: LabContext, mod: ModuleType, zero_init: bool) -> None:
    """residual_net(5, 24, 7, 3): stem Linear(in, width) with He init + ReLU, 5 blocks with the README's
    scale and init, and Linear(width, n_classes) whose output is the net's (no activation after)."""
    depth, width, n_in, n_classes = _OTHER_NET
    what = f"residual_net({depth}, {width}, {n_in}, {n_classes}, zero_init={zero_init})"
    net = lab.call(mod.residual_net, depth, width, n_in, n_classes, zero_init=zero_init, what=what)
    if not isinstance(net, nn.Module):
        raise CheckFailed(f"{what} must return an nn.Module, got {type(net).__name__}.")
    blocks = [m for _, m in net.named_modules(remove_duplicate=False) if isinstance(m, mod.ResidualBlock)]
    distinct = len({id(b) for b in blocks})
    if len(blocks) != depth or distinct != depth:
        repeated = (f" (one block object used {len(blocks)} times: `[ResidualBlock(...)] * depth` repeats one "
                    "object, so every block shares its weights; create each block in a loop)"
                    if distinct == 1 < len(blocks) else "")
        raise CheckFailed(f"{what} should hold {depth} distinct ResidualBlocks; it holds {distinct}{repeated}.")
    inside = {id(m) for b in blocks for m in b.modules()}
    outer = [m for m in net.modules() if isinstance(m, nn.Linear) and id(m) not in inside]
    if len(outer) != 2:
        raise CheckFailed(f"{what}: besides the blocks the net has {len(outer)} Linear layers; expected two, the stem "
                          f"Linear({n_in}, {width}) and the output Linear({width}, {n_classes}).")
    stem, head = sorted(outer, key=lambda m: (m.in_features != n_in, m.out_features == n_classes))
    if (stem.in_features, stem.out_features) != (n_in, width) or (head.in_features, head.out_features) != (width, n_classes):
        raise CheckFailed(f"{what}: the stem must be Linear({n_in}, {width}) and the output Linear({width}, {n_classes}); "
                          f"found Linear({stem.in_features}, {stem.out_features}) and "
                          f"Linear({head.in_features}, {head.out_features}).")
    he = _he_ratio(stem)
    if not 0.75 < he < 1.3 or stem.bias is None or stem.bias.detach().abs().max().item() != 0:
        raise CheckFailed(f"{what}: the stem Linear needs He init (std {he:.2f} x sqrt(2/fan_in)) and a zero bias.")
    want_scale = 1.0 if zero_init else 1 / math.sqrt(depth)
    for i, block in enumerate(blocks):
        _check_init(0, f"{what}, block {i + 1}", block.fc1, block.fc2, zero_init)
        got = _measured_scale(lab, block)
        if not abs(got - want_scale) <= 1e-3 * want_scale:
            raise CheckFailed(f"{what}: block {i + 1} scales its branch by {got:.4g}; with zero_init={zero_init} the "
                              f"README's scale is {'1' if zero_init else f'1/sqrt(depth) = {want_scale:.4g}'}.")
    seen: dict[str, torch.Tensor] = {}
    hooks = [blocks[0].register_forward_pre_hook(lambda m, i: seen.setdefault("first", i[0].detach())),
             blocks[-1].register_forward_hook(lambda m, i, o: seen.setdefault("last", o.detach())),
             stem.register_forward_hook(lambda m, i, o: seen.setdefault("stem", o.detach()))]
    x = torch.randn(16, n_in, generator=torch.Generator().manual_seed(3))
    try:
        with torch.no_grad():
            out = _expect_tensor(lab.call(net, x, what=f"{what}(x)"), (16, n_classes), f"{what}(x)")
    finally:
        for h in hooks:
            h.remove()
    if "first" in seen and "stem" in seen and over((seen["first"] - seen["stem"].relu()).abs().max().item(), 1e-6):
        raise CheckFailed(f"{what}: the first block's input must be relu(stem(x)): a ReLU after the stem Linear.")
    if "last" in seen:
        with torch.no_grad():
            logits = head(seen["last"])
        if over((out - logits).abs().max().item(), 1e-5):
            raise CheckFailed(f"{what}: the net's output is not the last Linear's: end with Linear({width}, {n_classes}) "
                              "and no activation after it (the loss takes logits).")


def _flow(lab: LabContext, mod: ModuleType, net: nn.Module, x: torch.Tensor) -> tuple[float, list[float]]:
    """log10(||dL/dh|| at the first block's output / at the last block's), random read-out."""
    hs: list[torch.Tensor] = []

    def keep(_m: nn.Module, _i: Any, out: torch.Tensor) -> None:
        out.retain_grad()
        hs.append(out)

    hooks = [m.register_forward_hook(keep) for m in net.modules() if isinstance(m, mod.ResidualBlock)]
    if len(hooks) != DEPTH:
        for h in hooks:
            h.remove()
        used = sum(isinstance(m, mod.ResidualBlock) for _, m in net.named_modules(remove_duplicate=False))
        repeated = (f" (one block object used {used} times: `[ResidualBlock(...)] * depth` repeats one "
                    "object, so every block shares its weights; create each block in a loop)"
                    if used > len(hooks) else "")
        raise CheckFailed(f"residual_net({DEPTH}, ...) should hold {DEPTH} ResidualBlocks; it holds "
                          f"{len(hooks)}{repeated}.")
    try:
        out = lab.call(net, x, what="residual_net(...)(x)")
        (out * torch.randn(out.shape[1:])).sum().backward()
    finally:
        for h in hooks:
            h.remove()
    norms = [h.grad.norm().item() if h.grad is not None else 0.0 for h in hs]
    if not all(math.isfinite(n) for n in norms):
        return math.inf, norms
    return math.log10(max(norms[0], 1e-38) / max(norms[-1], 1e-38)), norms


def _net(lab: LabContext, mod: ModuleType, zero_init: bool) -> nn.Module:
    what = f"residual_net({DEPTH}, {WIDTH}, {IN}, {CLASSES}, zero_init={zero_init})"
    net = lab.call(mod.residual_net, DEPTH, WIDTH, IN, CLASSES, zero_init=zero_init, what=what)
    if not isinstance(net, nn.Module):
        raise CheckFailed(f"{what} must return an nn.Module, got {type(net).__name__}.")
    _expect_tensor(lab.call(net, torch.randn(4, IN), what=f"{what}(x)"), (4, CLASSES), f"{what}(x)")
    return net


def _expect_tensor(out: Any, shape: tuple[int, ...], what: str) -> torch.Tensor:
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != shape or not out.is_floating_point():
        got = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
        raise CheckFailed(f"{what} must return a float tensor of shape {shape}; got {got}.")
    return out


@check(points=2)
def gradient_reaches_the_first_block(lab: LabContext) -> str:
    """The gradient reaches the first of 20 blocks, with zero-initialised or scaled branches"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    profiles: dict[str, list[float]] = {}
    for zero_init in (True, False):
        _check_net_structure(lab, mod, zero_init)
    for seed in lab.seeded():
        x = torch.randn(256, IN)
        for zero_init in (True, False):
            flow, norms = _flow(lab, mod, _net(lab, mod, zero_init), x)
            profiles.setdefault(f"residual, zero_init={zero_init}", norms)
            if not abs(flow) <= FLOW_MAX:
                why = ("the branches are added unscaled: each adds about as much variance as the skip path "
                       "carries, so the signal and the gradient grow with every block (10^+2.6...+3.3 over 20 "
                       "blocks). Scale each branch by 1/sqrt(depth) when it is not zero-initialised."
                       if flow > FLOW_MAX else "the gradient fades before reaching the first block.")
                raise CheckFailed(f"seed {seed}: residual_net(..., zero_init={zero_init}): the gradient changes by "
                                  f"10^{flow:.2f} from the last block to the first (allowed 10^±{FLOW_MAX:g}); {why}")
    lab.figure("gradient-per-block.png", lambda fig: _draw_profiles(fig, profiles))
    return f"gradient first/last block 10^{flow:.2f} (scaled branches), zero-init near 10^0"


def _draw_profiles(fig: Any, profiles: dict[str, list[float]]) -> None:
    torch.manual_seed(0)  # the problem, for comparison: the same depth without skip paths
    for name, he in (("plain, default init", False), ("plain, He init", True)):
        layers: list[nn.Module] = [nn.Linear(IN, WIDTH), nn.ReLU()]
        for _ in range(2 * DEPTH):
            layers += [nn.Linear(WIDTH, WIDTH), nn.ReLU()]
        if he:
            for layer in layers:
                if isinstance(layer, nn.Linear):
                    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                    nn.init.zeros_(layer.bias)
        net = nn.Sequential(*layers, nn.Linear(WIDTH, CLASSES))
        hs: list[torch.Tensor] = []
        relus = [m for m in net if isinstance(m, nn.ReLU)][2::2]  # the output of every 2-layer block
        hooks = [m.register_forward_hook(lambda _m, _i, o: (o.retain_grad(), hs.append(o)) and None) for m in relus]
        out = net(torch.randn(256, IN))
        (out * torch.randn(CLASSES)).sum().backward()
        for h in hooks:
            h.remove()
        profiles[name] = [h.grad.norm().item() for h in hs]
    ax = fig.add_subplot(1, 1, 1)
    for name, norms in profiles.items():
        ax.semilogy(range(1, len(norms) + 1), [max(n, 1e-30) for n in norms], marker="o", label=name)
    ax.set_xlabel("block")
    ax.set_ylabel("||dL/dh|| at the block's output (log scale)")
    ax.set_title("20 blocks of two 64-wide Linear + ReLU, at initialisation")
    ax.legend()


@check(points=3)
def residual_net_trains(lab: LabContext) -> str:
    """The 20-block residual net (scaled branches) trains where the plain one barely moves"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for seed in lab.seeded():
        x, y = make_data(seed)
        net = _net(lab, mod, zero_init=False)
        opt = SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
        for _ in range(STEPS):
            idx = torch.randint(0, len(x), (BATCH,))
            loss = F.cross_entropy(lab.call(net, x[idx], what="residual_net(...)(x)"), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            final = F.cross_entropy(net(x), y).item()
        if not final <= LOSS_MAX:
            raise CheckFailed(f"seed {seed}: after {STEPS} steps (SGD {LR}, momentum {MOMENTUM}, batch {BATCH}) the "
                              f"loss is {final:.3f}; the residual net must reach {LOSS_MAX} (chance 1.386, the "
                              "plain net 1.23-1.43).")
    return f"loss {final:.3f} after {STEPS} steps with scaled branches (the plain He net stays at 1.23-1.43)"
