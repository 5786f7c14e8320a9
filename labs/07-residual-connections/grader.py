"""Grader for lab 7: residual blocks, zero-initialised or scaled branches, a 20-block net that trains.

Everything is measured here by running the student's modules on fixed seeds; the thresholds
carry the margins measured with the reference solution and each typical mistake (PyTorch
2.13.0 CPU, seeds 0-5) in a comment beside them.
"""

from __future__ import annotations

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
# Gradient flow log10(||dL/dh_block1|| / ||dL/dh_block20||): zero-init -0.2..-0.1, scaled
# +0.0..+0.2; unscaled He branches +3.0..+3.4; plain default init -15; plain He -0.6..+0.1.
FLOW_MAX = 1.0


def make_data(seed: int, n: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """The starter's make_data: 4 classes from a random linear teacher."""
    g = torch.Generator().manual_seed(1000 + seed)
    teacher = torch.randn(IN, CLASSES, generator=g)
    x = torch.randn(n, IN, generator=g)
    return x, (x @ teacher).argmax(dim=1)


def _block(lab: LabContext, mod: ModuleType, *args: Any, **kwargs: Any) -> tuple[nn.Module, nn.Linear, nn.Linear]:
    shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    block = lab.call(mod.ResidualBlock, *args, what=f"ResidualBlock({shown})", **kwargs)
    if not isinstance(block, nn.Module):
        raise CheckFailed(f"ResidualBlock({shown}) must be an nn.Module.")
    linears = [m for m in block.modules() if isinstance(m, nn.Linear)]
    if len(linears) != 2:
        raise CheckFailed(f"ResidualBlock({shown}) should hold two nn.Linear layers (fc1, fc2); found {len(linears)}.")
    return block, linears[0], linears[1]


@check(points=2)
def block_adds_the_skip_path(lab: LabContext) -> str:
    """ResidualBlock computes relu(x + scale * fc2(relu(fc1(x))))"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for seed in lab.seeded():
        block, fc1, fc2 = _block(lab, mod, WIDTH, zero_init=False, scale=0.5)
        with torch.no_grad():  # weights of our choosing, so the formula is tested, not the init
            for layer in (fc1, fc2):
                layer.weight.normal_(0, 0.2)
                layer.bias.normal_(0, 0.1)
            x = torch.randn(32, WIDTH).relu()
            branch = fc2(F.relu(fc1(x)))
            want = F.relu(x + 0.5 * branch)
            got = lab.call(block, x, what="ResidualBlock(...)(x)")
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            raise CheckFailed(f"ResidualBlock(...)(x) must return a tensor of shape {tuple(want.shape)}.")
        if (got - want).abs().max().item() <= 1e-5:
            continue
        variants = {
            "the skip path is missing: the block returns relu(branch) without x. Add the input back: "
            "relu(x + scale * branch) — that identity path is what carries the gradient": F.relu(0.5 * branch),
            "the scale is ignored: the block must multiply the branch by scale (relu(x + scale * branch))":
                F.relu(x + branch),
            "the final ReLU is missing: the block is relu(x + scale * branch)": x + 0.5 * branch,
        }
        why = next((msg for msg, out in variants.items() if (got - out).abs().max().item() <= 1e-5),
                   "expected relu(x + scale * fc2(relu(fc1(x)))).")
        raise CheckFailed(f"seed {seed}: ResidualBlock(64, zero_init=False, scale=0.5) differs from the formula "
                          f"by {(got - want).abs().max().item():.3g}: {why}")
    return "relu(x + scale * fc2(relu(fc1(x)))) to 1e-5"


@check(points=1)
def zero_init_block_is_identity(lab: LabContext) -> str:
    """With zero_init, every block starts as the identity and fc1 still has He init"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for seed in lab.seeded():
        block, fc1, fc2 = _block(lab, mod, WIDTH)
        x = torch.randn(256, WIDTH).relu()  # a block's input comes out of a ReLU
        with torch.no_grad():
            out = _expect_tensor(lab.call(block, x, what="ResidualBlock(64)(x)"), tuple(x.shape), "ResidualBlock(64)(x)")
        if over((out - x).abs().max().item(), 1e-6):
            raise CheckFailed(f"seed {seed}: ResidualBlock(64) (zero_init=True by default) changes its input by up "
                              f"to {(out - x).abs().max().item():.3g} at initialisation; zero_init must set the "
                              "branch's last Linear (fc2 weight and bias) to zero so the block starts as the identity.")
        std = fc1.weight.std().item() * math.sqrt(WIDTH / 2)  # 1.0 for He; solution 0.98-1.02
        if not 0.8 < std < 1.25:
            raise CheckFailed(f"seed {seed}: fc1's weight std is {std:.2f} x sqrt(2/fan_in); only fc2 is zeroed, "
                              "fc1 keeps He init (if fc1 were zero too, fc1 and fc2 would both get a zero "
                              "gradient and the branch could never start learning).")
    return "ResidualBlock(64) returns its input unchanged; fc1 has He init"


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
    for seed in lab.seeded():
        x = torch.randn(256, IN)
        for zero_init in (True, False):
            flow, norms = _flow(lab, mod, _net(lab, mod, zero_init), x)
            profiles.setdefault(f"residual, zero_init={zero_init}", norms)
            if not abs(flow) <= FLOW_MAX:
                why = ("the branches are added unscaled: each adds about as much variance as the skip path "
                       "carries, so the signal and the gradient grow with every block (10^+3 over 20 "
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
