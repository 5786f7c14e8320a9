"""Grader for lab 5: batch normalisation placed between Linear and activation, train vs eval.

Everything is measured here by running the student's modules and functions on fixed seeds;
the thresholds carry the margins measured with the reference solution and each typical
mistake (PyTorch 2.13.0 CPU, seeds 0-5) in a comment beside them.
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

STUDENT_FILE = "batchnorm.py"
DEPTH, WIDTH, IN, CLASSES = 10, 64, 16, 4
STEPS, BATCH, LR = 150, 64, 0.1
# Final training loss after 150 steps of 64 (SGD 0.1, momentum 0.9, N(0, 0.1) weights), seeds
# 0-7: with BatchNorm 0.26-0.36 (BN after the activation trains too); without 1.36-1.41 (chance
# is ln 4 = 1.386). Margin: 2.2x above the worst BN run, 1.7x below chance. (Batches of 128
# gave 0.17-0.41 and cost 25 % more.)
LOSS_MAX = 0.8


def make_data(seed: int, n: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """The same 4-class problem as the starter's make_data (labels from a random linear teacher)."""
    g = torch.Generator().manual_seed(1000 + seed)
    teacher = torch.randn(IN, CLASSES, generator=g)
    x = torch.randn(n, IN, generator=g)
    return x, (x @ teacher).argmax(dim=1)


def _small_init_(model: nn.Module) -> nn.Module:
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, 0.0, 0.1)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return model


def _run_order(block: nn.Module, x: torch.Tensor) -> list[nn.Module]:
    """The leaf modules of ``block`` in the order a forward pass runs them."""
    order: list[nn.Module] = []
    hooks = [m.register_forward_hook(lambda m, i, o: order.append(m))
             for m in block.modules() if not list(m.children())]
    try:
        block(x)
    finally:
        for h in hooks:
            h.remove()
    return order


@check(points=2)
def bn_between_linear_and_activation(lab: LabContext) -> str:
    """bn_block runs Linear(bias=False) -> BatchNorm1d(out_features) -> activation"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for seed in lab.seeded():
        act = nn.Sigmoid()
        block = lab.call(mod.bn_block, 32, 64, act, what="bn_block(32, 64, nn.Sigmoid())")
        if not isinstance(block, nn.Module):
            raise CheckFailed(f"bn_block must return an nn.Module, got {type(block).__name__}.")
        bns = [m for m in block.modules() if isinstance(m, nn.BatchNorm1d)]
        linears = [m for m in block.modules() if isinstance(m, nn.Linear)]
        if len(bns) != 1 or len(linears) != 1:
            raise CheckFailed(f"bn_block(32, 64, ...) must hold one nn.Linear and one nn.BatchNorm1d; "
                              f"found {len(linears)} and {len(bns)}.")
        if not any(m is act for m in block.modules()):
            raise CheckFailed("bn_block must use the activation module it is given (the `activation` argument) "
                              "as its last layer.")
        if bns[0].num_features != 64:
            raise CheckFailed(f"wrong feature size: BatchNorm1d({bns[0].num_features}) after a Linear that outputs "
                              "64 features; BatchNorm1d normalises the Linear's out_features, one mean and "
                              "variance per output unit.")
        x = 5 * torch.randn(256, 32) + 3  # far from zero mean / unit variance on purpose
        block.train()
        order = lab.call(_run_order, block, x, what="bn_block(32, 64, nn.Sigmoid())(x)")
        kinds = [type(m).__name__ for m in order if m in (linears[0], bns[0], act)]
        if kinds != ["Linear", "BatchNorm1d", "Sigmoid"]:
            where = (" You normalise after the activation; the lesson places BatchNorm1d after the "
                     "Linear and before the activation, so the nonlinearity sees zero-mean, unit-variance "
                     "inputs (Ioffe & Szegedy 2015, Sec. 3.2)." if kinds == ["Linear", "Sigmoid", "BatchNorm1d"] else "")
            raise CheckFailed(f"the forward pass runs {' -> '.join(kinds)}; expected Linear -> BatchNorm1d -> "
                              f"activation.{where}")
        if linears[0].bias is not None:
            raise CheckFailed("the Linear before BatchNorm1d should have bias=False: BN subtracts each feature's "
                              "batch mean, which cancels the bias; BN's beta is the shift.")
        seen: list[torch.Tensor] = []
        hook = act.register_forward_hook(lambda m, i, o: seen.append(i[0].detach()))
        try:
            block(x)
        finally:
            hook.remove()
        z = seen[0]
        mean_err = z.mean(dim=0).abs().max().item()
        std_err = (z.std(dim=0, unbiased=False) - 1).abs().max().item()
        # solution: mean <= 1e-6, std within 1e-4 (eps 1e-5); an unnormalised input: mean ~3, std ~5.
        if over(mean_err, 1e-3) or over(std_err, 1e-2):
            raise CheckFailed(f"seed {seed}: in train mode the activation's input should have mean 0 and std 1 "
                              f"per feature; worst mean {mean_err:.3g}, worst |std - 1| {std_err:.3g}.")
    return "Linear(bias=False) -> BatchNorm1d(64) -> Sigmoid; activation input mean 0, std 1 per feature"


def _student_net(lab: LabContext, mod: ModuleType, batch_norm: bool) -> nn.Module:
    net = lab.call(mod.sigmoid_net, DEPTH, WIDTH, IN, CLASSES, batch_norm,
                   what=f"sigmoid_net({DEPTH}, {WIDTH}, {IN}, {CLASSES}, batch_norm={batch_norm})")
    if not isinstance(net, nn.Module):
        raise CheckFailed(f"sigmoid_net must return an nn.Module, got {type(net).__name__}.")
    # remove_duplicate=False: one nn.Sigmoid() reused in every layer is a correct net (it holds
    # no state) and counts once per place it is used; modules() would count it once in all.
    every = [m for _, m in net.named_modules(remove_duplicate=False)]
    stateful = [m for m in every if isinstance(m, (nn.Linear, nn.BatchNorm1d))]
    if len({id(m) for m in stateful}) != len(stateful):
        raise CheckFailed("one nn.Linear or nn.BatchNorm1d object is used for several layers, so they share "
                          "weights (and BatchNorm's running statistics); create new ones for every layer.")
    n_bn = sum(isinstance(m, nn.BatchNorm1d) for m in every)
    n_sig = sum(isinstance(m, nn.Sigmoid) for m in every)
    if n_sig != DEPTH or n_bn != (DEPTH if batch_norm else 0):
        raise CheckFailed(f"sigmoid_net(..., batch_norm={batch_norm}) should have {DEPTH} Sigmoid and "
                          f"{DEPTH if batch_norm else 0} BatchNorm1d layers; it has {n_sig} and {n_bn}.")
    _check_bn_sizes(net)
    return _small_init_(net)


def _check_bn_sizes(net: nn.Module) -> None:
    """Each BatchNorm1d must normalise as many features as the Linear before it outputs."""
    last_out = None
    for m in net.modules():
        if isinstance(m, nn.Linear):
            last_out = m.out_features
        elif isinstance(m, nn.BatchNorm1d) and last_out is not None and m.num_features != last_out:
            raise CheckFailed(f"wrong feature size: a BatchNorm1d({m.num_features}) follows a Linear that outputs "
                              f"{last_out} features; BatchNorm1d(num_features) takes the Linear's out_features.")


def _train(lab: LabContext, mod: ModuleType, net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[Any]:
    opt = SGD(net.parameters(), lr=LR, momentum=0.9)
    losses = []
    for _ in range(STEPS):
        idx = torch.randint(0, len(x), (BATCH,))
        losses.append(lab.call(mod.train_step, net, opt, x[idx], y[idx], what="train_step(model, optimizer, x, y)"))
    return losses


def _loss(lab: LabContext, net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """The grader's own loss and accuracy, eval mode."""
    net.eval()
    with torch.no_grad():
        logits = lab.call(net, x, what="model(x)")
    return F.cross_entropy(logits, y).item(), (logits.argmax(dim=1) == y).float().mean().item()


@check(points=3)
def deep_sigmoid_trains_with_bn(lab: LabContext) -> str:
    """A 10-layer sigmoid net that does not train without BatchNorm trains with it"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    curves: dict[str, list[Any]] = {}
    for seed in lab.seeded():
        x, y = make_data(seed)
        if seed == lab.seeds[0]:  # the problem, once: the plain net stays at chance
            plain = _student_net(lab, mod, batch_norm=False)
            curves["without BatchNorm"] = _train(lab, mod, plain, x, y)
            plain_loss, _ = _loss(lab, plain, x, y)
        net = _student_net(lab, mod, batch_norm=True)
        losses = _train(lab, mod, net, x, y)
        curves.setdefault("with BatchNorm", losses)
        loss, acc = _loss(lab, net, x, y)
        if not math.isfinite(loss) or loss > LOSS_MAX:
            raise CheckFailed(f"seed {seed}: after {STEPS} steps the BatchNorm net's loss is {loss:.3f} "
                              f"(accuracy {acc:.2f}); it must reach {LOSS_MAX} (chance is ln 4 = 1.386). "
                              "Check bn_block and train_step (zero_grad, backward, step, in train mode).")
    lab.figure("loss-with-and-without-bn.png", lambda fig: _draw(fig, curves))
    return f"loss {loss:.3f}, accuracy {acc:.2f} with BatchNorm; {plain_loss:.3f} without (seed {lab.seeds[0]})"


def _draw(fig: Any, curves: dict[str, list[Any]]) -> None:
    ax = fig.add_subplot(1, 1, 1)
    for label, losses in curves.items():
        ax.plot([float(v) for v in losses], label=label)
    ax.axhline(math.log(CLASSES), color="k", ls=":", label="chance (ln 4)")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (train_step's return value)")
    ax.set_title("10 sigmoid layers of 64, weights N(0, 0.1)")
    ax.legend()


def _trained_bn_net(lab: LabContext, mod: ModuleType) -> tuple[nn.Module, torch.Tensor]:
    """A BN net with running statistics far from their initial 0 and 1 (input shifted and scaled)."""
    net = _student_net(lab, mod, batch_norm=True)
    net.train()
    with torch.no_grad():
        for _ in range(20):
            lab.call(net, 3 * torch.randn(BATCH, IN) + 2, what="model(x)")
    return net, 3 * torch.randn(5, IN) + 2


def _running(net: nn.Module) -> list[torch.Tensor]:
    return [t.clone() for m in net.modules() if isinstance(m, nn.BatchNorm1d)
            for t in (m.running_mean, m.running_var)]


@check(points=2)
def predict_uses_eval_mode(lab: LabContext) -> str:
    """predict uses eval mode: running statistics, unchanged, no gradient"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for seed in lab.seeded():
        net, x = _trained_bn_net(lab, mod)
        net.eval()
        with torch.no_grad():
            want = lab.call(net, x, what="model(x)")
        net.train()  # as it is after training
        before = _running(net)
        got = lab.call(mod.predict, net, x, what="predict(model, x)")
        changed = any(not torch.equal(a, b) for a, b in zip(before, _running(net)))
        if changed:
            raise CheckFailed(f"seed {seed}: predict(model, x) on 5 examples changed BatchNorm's running statistics: "
                              "the model ran in train mode, normalising with these 5 examples' own statistics. "
                              "Forgot eval() at test time: call model.eval() before predicting (and torch.no_grad()).")
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            raise CheckFailed(f"seed {seed}: predict(model, x) must return the logits, a tensor of shape "
                              f"{tuple(want.shape)}; got {type(got).__name__}"
                              + (f" of shape {tuple(got.shape)}" if isinstance(got, torch.Tensor) else "") + ".")
        if over((got.detach() - want).abs().max().item(), 1e-5):
            why = (" It matches softmax(logits): return the logits themselves, model(x)."
                   if not over((got.detach() - want.softmax(dim=1)).abs().max().item(), 1e-5) else "")
            raise CheckFailed(f"seed {seed}: predict(model, x) differs from the model's eval-mode output by "
                              f"{(got.detach() - want).abs().max().item():.3g}.{why}")
        if got.requires_grad:
            raise CheckFailed("predict returns a tensor that requires grad: wrap the forward pass in torch.no_grad().")
    return "predict matches the eval-mode logits and leaves the running statistics unchanged"


@check(points=1)
def train_step_uses_train_mode(lab: LabContext) -> str:
    """train_step trains in train mode, even right after predict"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for seed in lab.seeded():
        net, x = _trained_bn_net(lab, mod)
        lab.call(mod.predict, net, x, what="predict(model, x)")  # leaves the model in eval mode
        modes: list[bool] = []
        hooks = [m.register_forward_hook(lambda m, i, o: modes.append(m.training))
                 for m in net.modules() if isinstance(m, nn.BatchNorm1d)]
        opt = SGD(net.parameters(), lr=LR)
        xb, yb = make_data(seed, BATCH)
        try:
            lab.call(mod.train_step, net, opt, 3 * xb + 2, yb, what="train_step(model, optimizer, x, y)")
        finally:
            for h in hooks:
                h.remove()
        if not modes or not all(modes):
            raise CheckFailed(f"seed {seed}: after predict, train_step ran BatchNorm in eval mode: it trains with "
                              "the running statistics and never updates them. Call model.train() at the start "
                              "of train_step.")
    return "train_step switches the model back to train mode"
