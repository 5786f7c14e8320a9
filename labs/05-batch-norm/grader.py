"""Grader for lab 5: batch normalisation placed between Linear and activation, train vs eval.

Everything is measured here by running the student's modules and functions on fixed seeds;
the thresholds carry the margins measured with the reference solution and each typical
mistake (PyTorch 2.13.0 CPU, seeds 0-5) in a comment beside them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from coursekit.grading.api import CheckFailed, LabContext, check
from coursekit.grading.torchkit import SGD, as_float, over, setup_torch

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


def _bn_properties(bn: nn.BatchNorm1d, where: str) -> None:
    """What the README names about BatchNorm1d besides its size: running statistics with momentum
    0.1 (eval mode needs them) and the learned gamma and beta (affine)."""
    if not bn.track_running_stats or bn.running_mean is None or bn.running_var is None:
        raise CheckFailed(f"{where}: BatchNorm1d(..., track_running_stats=False) keeps no running statistics, so "
                          "in eval mode it normalises each batch with its own statistics, like train mode: a "
                          "prediction depends on the rest of its batch. Keep the default (running statistics on).")
    if bn.momentum != 0.1:
        raise CheckFailed(f"{where}: BatchNorm1d has momentum={bn.momentum}; the lesson's running averages use "
                          "PyTorch's default 0.1 (running = 0.9 * running + 0.1 * batch statistic).")
    if not bn.affine or bn.weight is None or bn.bias is None:
        raise CheckFailed(f"{where}: BatchNorm1d(..., affine=False) has no learned gamma and beta; batch "
                          "normalisation rescales and shifts with them (out = gamma * z_hat + beta), and beta "
                          "replaces the Linear's bias. Keep the default affine=True.")


# bn_block configurations: the README's (32, 64, Sigmoid), then other sizes and activations
_BLOCKS = ((32, 64, nn.Sigmoid), (20, 12, nn.Tanh), (7, 5, nn.ReLU))


@check(points=2)
def bn_between_linear_and_activation(lab: LabContext) -> str:
    """bn_block runs Linear(bias=False) -> BatchNorm1d(out_features) -> activation"""
    setup_torch()
    mod = lab.load(STUDENT_FILE)
    for seed in lab.seeded():
        for n_in, n_out, act_cls in _BLOCKS:
            _one_block(lab, mod, seed, n_in, n_out, act_cls())
    return "Linear(bias=False) -> BatchNorm1d(out) -> activation for 3 sizes and activations; mean 0, std 1 inputs"


def _one_block(lab: LabContext, mod: ModuleType, seed: int, n_in: int, n_out: int, act: nn.Module) -> None:
    shown = f"bn_block({n_in}, {n_out}, nn.{type(act).__name__}())"
    block = lab.call(mod.bn_block, n_in, n_out, act, what=shown)
    if not isinstance(block, nn.Module):
        raise CheckFailed(f"bn_block must return an nn.Module, got {type(block).__name__}.")
    bns = [m for m in block.modules() if isinstance(m, nn.BatchNorm1d)]
    linears = [m for m in block.modules() if isinstance(m, nn.Linear)]
    if len(bns) != 1 or len(linears) != 1:
        raise CheckFailed(f"{shown} must hold one nn.Linear and one nn.BatchNorm1d; "
                          f"found {len(linears)} and {len(bns)}.")
    if not any(m is act for m in block.modules()):
        raise CheckFailed(f"{shown} must use the activation module it is given (the `activation` argument) "
                          "as its last layer.")
    if bns[0].num_features != n_out:
        raise CheckFailed(f"wrong feature size: {shown} has BatchNorm1d({bns[0].num_features}) after a Linear that "
                          f"outputs {n_out} features; BatchNorm1d normalises the Linear's out_features, one mean "
                          "and variance per output unit.")
    if (linears[0].in_features, linears[0].out_features) != (n_in, n_out):
        raise CheckFailed(f"{shown}: the Linear is Linear({linears[0].in_features}, {linears[0].out_features}); "
                          f"it must map {n_in} inputs to {n_out} features.")
    _bn_properties(bns[0], shown)
    x = 5 * torch.randn(256, n_in) + 3  # far from zero mean / unit variance on purpose
    block.train()
    order = lab.call(_run_order, block, x, what=f"{shown}(x)")
    kinds = [type(m).__name__ for m in order if m in (linears[0], bns[0], act)]
    want = ["Linear", "BatchNorm1d", type(act).__name__]
    if kinds != want:
        where = (" You normalise after the activation; the lesson places BatchNorm1d after the "
                 "Linear and before the activation, so the nonlinearity sees zero-mean, unit-variance "
                 "inputs (Ioffe & Szegedy 2015, Sec. 3.2)." if kinds == [want[0], want[2], want[1]] else "")
        raise CheckFailed(f"{shown}: the forward pass runs {' -> '.join(kinds)}; expected "
                          f"{' -> '.join(want)}.{where}")
    if linears[0].bias is not None:
        raise CheckFailed("the Linear before BatchNorm1d should have bias=False: BN subtracts each feature's "
                          "batch mean, which cancels the bias; BN's beta is the shift.")
    seen: list[torch.Tensor] = []
    hook = act.register_forward_hook(lambda m, i, o: seen.append(i[0].detach()))
    before = bns[0].running_mean.clone()
    try:
        lab.call(block, x, what=f"{shown}(x)")
    finally:
        hook.remove()
    z = seen[0]
    mean_err = z.mean(dim=0).abs().max().item()
    std_err = (z.std(dim=0, unbiased=False) - 1).abs().max().item()
    # solution: mean <= 1e-6, std within 1e-4 (eps 1e-5); an unnormalised input: mean ~3, std ~5.
    if over(mean_err, 1e-3) or over(std_err, 1e-2):
        raise CheckFailed(f"seed {seed}: {shown}: in train mode the activation's input should have mean 0 and std "
                          f"1 per feature; worst mean {mean_err:.3g}, worst |std - 1| {std_err:.3g}.")
    with torch.no_grad():  # one train-mode pass moves the running mean 10 % towards the batch mean
        batch_mean = linears[0](x).mean(dim=0)
    if over((bns[0].running_mean - (0.9 * before + 0.1 * batch_mean)).abs().max().item(),
            1e-4 * (1 + batch_mean.abs().max().item())):
        raise CheckFailed(f"{shown}: one forward pass in train mode must update BatchNorm's running mean once, "
                          "by momentum 0.1 towards the batch mean.")


def _run_leaves(net: nn.Module, x: torch.Tensor) -> list[nn.Module]:
    """Every leaf module call of a forward pass, in order (a shared module once per call)."""
    order: list[nn.Module] = []
    leaves = {id(m): m for _, m in net.named_modules(remove_duplicate=False) if not list(m.children())}
    hooks = [m.register_forward_hook(lambda m, i, o: order.append(m)) for m in leaves.values()
             if not isinstance(m, (nn.Identity, nn.Flatten))]
    try:
        net(x)
    finally:
        for h in hooks:
            h.remove()
    return order


@contextlib.contextmanager
def _buffers_kept(net: nn.Module) -> Iterator[None]:
    """Put every buffer (running statistics, batch counts) back as it was: cheaper than a deepcopy."""
    saved = [(b, b.detach().clone()) for b in net.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for b, v in saved:
                b.copy_(v)


def _expected_layers(depth: int, width: int, n_in: int, n_classes: int, batch_norm: bool) -> list[str]:
    hidden = ["Linear", "BatchNorm1d", "Sigmoid"] if batch_norm else ["Linear", "Sigmoid"]
    return hidden * depth + ["Linear"]


def _check_structure(lab: LabContext, net: nn.Module, depth: int, width: int, n_in: int, n_classes: int,
                     batch_norm: bool) -> None:
    """Layer order across the whole net (forward hooks), sizes, biases, BatchNorm's properties and
    the output: logits, no activation after the last Linear."""
    what = f"sigmoid_net({depth}, {width}, {n_in}, {n_classes}, batch_norm={batch_norm})"
    every = [m for _, m in net.named_modules(remove_duplicate=False)]
    stateful = [m for m in every if isinstance(m, (nn.Linear, nn.BatchNorm1d))]
    if len({id(m) for m in stateful}) != len(stateful):
        raise CheckFailed("one nn.Linear or nn.BatchNorm1d object is used for several layers, so they share "
                          "weights (and BatchNorm's running statistics); create new ones for every layer.")
    for m in every:
        if isinstance(m, nn.BatchNorm1d):
            _bn_properties(m, what)
    last_out = None  # sizes first, in creation order: a wrong one makes the forward pass raise
    for m in every:
        if isinstance(m, nn.Linear):
            last_out = m.out_features
        elif isinstance(m, nn.BatchNorm1d) and last_out is not None and m.num_features != last_out:
            raise CheckFailed(f"wrong feature size: in {what} a BatchNorm1d({m.num_features}) follows a Linear that "
                              f"outputs {last_out} features; BatchNorm1d(num_features) takes the Linear's out_features.")
    x = torch.randn(32, n_in, generator=torch.Generator().manual_seed(0))  # not the global RNG
    with _buffers_kept(net):  # the forward pass below must not touch the running statistics
        net.train()
        order = lab.call(_run_leaves, net, x, what=f"{what}(x)")
    kinds = [type(m).__name__ for m in order]
    want = _expected_layers(depth, width, n_in, n_classes, batch_norm)
    if kinds != want:
        n_bn, n_sig = kinds.count("BatchNorm1d"), kinds.count("Sigmoid")
        if n_sig != depth or n_bn != (depth if batch_norm else 0):
            why = (f"it should have {depth} Sigmoid and {depth if batch_norm else 0} BatchNorm1d layers; it has "
                   f"{n_sig} and {n_bn}.")
        elif kinds and kinds[-1] != "Linear":
            why = (f"it ends with {kinds[-1]}: the last layer is Linear(width, n_classes) with no activation "
                   "after it, so the net outputs logits (cross_entropy applies the softmax).")
        elif batch_norm and "Sigmoid -> BatchNorm1d" in " -> ".join(kinds):
            why = ("BatchNorm1d runs after the Sigmoid somewhere; every hidden layer is Linear -> "
                   "BatchNorm1d -> Sigmoid (bn_block's order).")
        else:
            why = f"the forward pass runs {' -> '.join(kinds)}."
        raise CheckFailed(f"{what}: expected {depth} x ({' -> '.join(want[:3 if batch_norm else 2])}) then Linear; {why}")
    linears = [m for m in order if isinstance(m, nn.Linear)]
    sizes = [(m.in_features, m.out_features) for m in linears]
    want_sizes = [(n_in, width)] + [(width, width)] * (depth - 1) + [(width, n_classes)]
    if sizes != want_sizes:
        raise CheckFailed(f"{what}: the Linear layers map {sizes}; expected {want_sizes}.")
    for m in order:
        if isinstance(m, nn.BatchNorm1d) and m.num_features != width:
            raise CheckFailed(f"wrong feature size: a BatchNorm1d({m.num_features}) follows a Linear that outputs "
                              f"{width} features; BatchNorm1d(num_features) takes the Linear's out_features.")
    if batch_norm and any(m.bias is not None for m in linears[:-1]):
        raise CheckFailed(f"{what}: a Linear before BatchNorm1d has a bias; use bias=False (BN's beta is the shift).")


# Another configuration than the training one: other depth, width, inputs and classes
_OTHER_NET = (3, 24, 5, 7)


def _student_net(lab: LabContext, mod: ModuleType, batch_norm: bool,
                 config: tuple[int, int, int, int] = (DEPTH, WIDTH, IN, CLASSES)) -> nn.Module:
    depth, width, n_in, n_classes = config
    what = f"sigmoid_net({depth}, {width}, {n_in}, {n_classes}, batch_norm={batch_norm})"
    net = lab.call(mod.sigmoid_net, depth, width, n_in, n_classes, batch_norm, what=what)
    if not isinstance(net, nn.Module):
        raise CheckFailed(f"sigmoid_net must return an nn.Module, got {type(net).__name__}.")
    _check_structure(lab, net, depth, width, n_in, n_classes, batch_norm)
    return _small_init_(net)


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
    for batch_norm in (True, False):  # the structure on another depth, width, inputs and classes
        _student_net(lab, mod, batch_norm, _OTHER_NET)
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
        ax.plot([as_float(v) for v in losses], label=label)
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
            for t in (m.running_mean, m.running_var) if t is not None]


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
        _judge_updates(lab, mod, seed)
    return "train_step switches the model back to train mode and takes one cross-entropy step"


def _flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.reshape(-1).double() for t in tensors])


def _judge_updates(lab: LabContext, mod: ModuleType, seed: int) -> None:
    """Two calls of train_step (the second after the first's leftovers): each must make exactly one
    update, with the gradient of this batch's cross-entropy, and return that loss (a number)."""
    net, _ = _trained_bn_net(lab, mod)
    opt = SGD(net.parameters(), lr=LR)  # no momentum: the update is exactly -lr * gradient
    xb, yb = make_data(seed + 100, 2 * BATCH)
    for step in range(2):
        x, y = xb[step * BATCH:(step + 1) * BATCH], yb[step * BATCH:(step + 1) * BATCH]
        params = list(net.parameters())
        with _buffers_kept(net):  # the same train-mode forward the student's step will run
            net.train()
            loss = F.cross_entropy(net(x), y)
            fresh = _flat(list(torch.autograd.grad(loss, params)))
        leftover = _flat([torch.zeros_like(p) if p.grad is None else p.grad for p in net.parameters()])
        used: list[torch.Tensor] = []
        opt.before_update = lambda: used.append(
            _flat([torch.zeros_like(p) if p.grad is None else p.grad for p in net.parameters()]))
        try:
            got = lab.call(mod.train_step, net, opt, x, y, what="train_step(model, optimizer, x, y)")
        finally:
            opt.before_update = None
        if len(used) != 1:
            raise CheckFailed(f"seed {seed}: one train_step must call optimizer.step() once; it updated the "
                              f"parameters {len(used)} times.")
        if not (used[0] - fresh).norm() <= 1e-4 * fresh.norm() + 1e-9:
            if leftover.norm() > 0 and (used[0] - fresh - leftover).norm() <= 1e-4 * fresh.norm() + 1e-9:
                why = ("the update used this batch's gradient plus the previous step's: backward adds to .grad, "
                       "so call optimizer.zero_grad() before loss.backward().")
            else:
                cos = (used[0] @ fresh / (used[0].norm() * fresh.norm() + 1e-30)).item()
                why = (f"the update used a gradient that differs from this batch's cross-entropy gradient (cosine "
                       f"{cos:.4f}): loss = F.cross_entropy(model(x), y), loss.backward(), optimizer.step().")
            raise CheckFailed(f"seed {seed}, train_step call {step + 1}: {why}")
        value = as_float(got)
        if value is None or not abs(value - loss.item()) <= 1e-4 * abs(loss.item()) + 1e-6:
            raise CheckFailed(f"seed {seed}: train_step returned {got!r}; it must return this batch's cross-entropy "
                              f"before the step, {loss.item():.6g}, as a number (a float or a one-element tensor).")
